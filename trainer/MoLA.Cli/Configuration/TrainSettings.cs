using System.Globalization;
using MoLA.Model.ParameterCounting;
using MoLA.Training.Data;

namespace MoLA.Cli.Configuration;

/// <summary>
/// Everything `mola train` accepts, as YAML keys or flags (see <see cref="Specs"/>), validated in one place before
/// anything is read or written.
/// </summary>
public sealed record TrainSettings
{
    public const string Embedded = "embedded";

    public static IReadOnlyList<SettingSpec> Specs { get; } =
    [
        new("out", "Run directory to write (metrics, checkpoints, adapter, eval)", "DIR"),
        new("name", "Display name of the run (default: the directory name)", "NAME"),
        new("base-model", "Hugging Face checkpoint directory, or 'embedded' for the shipped tiny base", "DIR", Embedded),
        new("data", "Training data: JSONL (alpaca or multiple-choice) or 'embedded' for the built-in benchmark", "FILE", Embedded),
        new("data-format", "auto | alpaca | multiple-choice", "FORMAT", "auto"),
        new("eval-data", "Evaluation data (JSONL), 'embedded' (built-in test split) or 'none' (default: embedded when --data is embedded, else none)", "FILE"),
        new("method", "moe-lora | lora (plain LoRA: one expert per layer, no routing)", "METHOD", "moe-lora"),
        new("strategy", "Allocation: mola | uniform | explicit", "STRATEGY", "mola"),
        new("shape", "MoLA block shape for --strategy mola (e.g. 2468, 8228)", "SHAPE", "2468"),
        new("experts", "Experts per layer: one count (uniform) or a per-layer list (explicit)", "N|LIST", "5"),
        new("top-k", "Experts per token (one value or a per-layer list)", "K", "2"),
        new("rank", "LoRA rank r (one value or a per-layer list)", "R", "8"),
        new("lora-alpha", "LoRA alpha (scaling alpha/r)", "X", "16"),
        new("dropout", "Dropout on the expert input", "P", "0.05"),
        new("target-modules", "Projections to wrap: comma list of q,k,v,o,gate,up,down (or *_proj)", "LIST", "q,k,v,o,gate,up,down"),
        new("lr", "Peak learning rate (AdamW)", "X", "3e-4"),
        new("warmup-steps", "Linear warm-up steps (default: 10% of the steps, at most 100)", "N"),
        new("steps", "Optimizer steps (default: from --epochs)", "N"),
        new("epochs", "Passes over the training data when --steps is not given", "X", "1"),
        new("batch-size", "Examples per optimizer step", "N", "16"),
        new("micro-batch-size", "Examples per forward/backward (gradient accumulation when smaller than --batch-size)", "N"),
        new("prompt-template", "alpaca (MoLA's format) | alpaca-short (without the preamble sentence)", "NAME", "alpaca"),
        new("cutoff-len", "Maximum tokens per example (BOS and EOS included)", "N", "256"),
        new("loss-on", "prompt-and-answer (MoLA) | answer", "MODE", "prompt-and-answer"),
        new("seed", "Seed of data order, initialisation and dropout", "N", "42"),
        new("weight-decay", "AdamW decoupled weight decay", "X", "0"),
        new("max-grad-norm", "Gradient clipping norm", "X", "1.0"),
        new("aux-loss-coef", "Load-balancing aux loss weight (MoLA uses 0.001; 0 = off)", "X", "0"),
        new("contrastive-loss-coef", "MoELoRA contrastive loss weight (0 = off)", "X", "0"),
        new("z-loss-coef", "Router z-loss weight (0 = off)", "X", "0"),
        new("activation-checkpointing", "Recompute each layer in the backward instead of keeping its activations", "BOOL", "false"),
        new("checkpoint-every", "Write a resumable checkpoint every N steps (0 = only at the end or on Ctrl-C)", "N", "0"),
        new("keep-last", "Checkpoints to keep (0 = all)", "N", "3"),
        new("resume", "Continue the run in --out from its newest checkpoint: true | false | auto (resume when --out holds a complete checkpoint, else start; what cluster ranks use)", "MODE", "false"),
        new("eval-every", "Evaluate every N steps (0 = only at the end)", "N", "0"),
        new("eval-at", "Also evaluate at these steps (comma list, e.g. a sweep's ASHA rungs 40,120)", "LIST"),
        new("eval-format", "generation | multiple-choice | both", "FORMAT", "generation"),
        new("eval-limit", "Evaluate at most N examples (0 = all)", "N", "0"),
        new("eval-batch-size", "Examples decoded or scored together in evaluation (larger is faster on small models, needs more memory)", "N", "16"),
        new("max-new-tokens", "Greedy generation budget per answer (the built-in benchmark's longest answer is 65 tokens with EOS)", "N", "128"),
        new("embedded-train-per-task", "Built-in benchmark: training items per task family", "N", "200"),
        new("embedded-train-format", "Built-in benchmark: the training answers: generation (worked answer, then 'The answer is X.') | multiple-choice ('The answer is X.' alone, what multiple-choice scoring reads) | both (every item in both forms)", "FORMAT", "generation"),
        new("embedded-test-per-task", "Built-in benchmark: test items per task family (the tiny base held out the first 50)", "N", "50"),
        new("metrics-port", "Serve Prometheus metrics at http://127.0.0.1:PORT/metrics; local rank i of a launch serves PORT + i (0 = any free port)", "PORT"),
        new("peak-gflops", "GEMM peak for MFU (default: measured at start, as `mola doctor` does)", "X"),
        new("log-every", "Plain log line every N steps when output is not a terminal", "N", "10"),
        new("device", "cpu | cuda", "DEVICE", "cpu"),
        new("bf16", "bf16 autocast (CUDA only)", "BOOL", "false"),
        new("dtype", "Weights and arithmetic: float32 | float64 (to check an equivalence to ~1e-15 whatever the CPU; several times slower)", "DTYPE", "float32"),
        new("threads", "libtorch intra-op threads (default: logical CPUs)", "N"),
    ];

    public required string Out { get; init; }
    public string? Name { get; init; }
    public required string BaseModel { get; init; }
    public required string Data { get; init; }
    public required string DataFormat { get; init; }
    public required string EvalData { get; init; }
    public required string Method { get; init; }
    public required string Strategy { get; init; }
    public required string Shape { get; init; }
    public required string Experts { get; init; }
    public required string TopK { get; init; }
    public required string Rank { get; init; }
    public double LoraAlpha { get; init; }
    public double Dropout { get; init; }
    public required IReadOnlyList<LlamaProjection> TargetModules { get; init; }
    public double LearningRate { get; init; }
    public int? WarmupSteps { get; init; }
    public int? Steps { get; init; }
    public double Epochs { get; init; }
    public int BatchSize { get; init; }
    public int MicroBatchSize { get; init; }
    public int CutoffLength { get; init; }
    public required string PromptTemplate { get; init; }
    public LossMode LossOn { get; init; }
    public ulong Seed { get; init; }
    public double WeightDecay { get; init; }
    public double MaxGradNorm { get; init; }
    public double AuxLossCoefficient { get; init; }
    public double ContrastiveLossCoefficient { get; init; }
    public double ZLossCoefficient { get; init; }
    public bool ActivationCheckpointing { get; init; }
    public int CheckpointEvery { get; init; }
    public int KeepLast { get; init; }
    public bool Resume { get; init; }
    /// <summary>resume auto: continue when --out holds a complete checkpoint, else start (a relaunched cluster rank).</summary>
    public bool ResumeAuto { get; init; }
    public int EvalEvery { get; init; }
    /// <summary>Steps to evaluate at besides every EvalEvery (ascending, distinct).</summary>
    public IReadOnlyList<int> EvalAt { get; init; } = [];
    public required string EvalFormat { get; init; }
    public int EvalLimit { get; init; }
    public int EvalBatchSize { get; init; } = 16;
    public int MaxNewTokens { get; init; }
    public int EmbeddedTrainPerTask { get; init; }
    public int EmbeddedTestPerTask { get; init; }
    public required string EmbeddedTrainFormat { get; init; }
    public int? MetricsPort { get; init; }
    public double? PeakGflops { get; init; }
    public int LogEvery { get; init; }
    public required string Device { get; init; }
    public bool Bf16 { get; init; }
    /// <summary>"float32" (training) or "float64" (equivalence checks: DP/EP = one process, resume = uninterrupted).</summary>
    public required string DType { get; init; }
    public int Threads { get; init; }
    /// <summary>The resolved key/value pairs (recorded in run.json).</summary>
    public required IReadOnlyDictionary<string, string> Raw { get; init; }

    /// <summary>Where each value came from, for errors found after parsing (e.g. against the base model's layer count).</summary>
    internal Settings? Origins { get; init; }

    /// <summary>An error about a setting, prefixed with its origin (--flag or file:line) as at parse time.</summary>
    public SettingException Invalid(string name, string message) => Origins?.Invalid(name, message) ?? new SettingException($"{name}: {message}");

    /// <summary>Validates every field; the first error names the setting and where it came from.</summary>
    public static TrainSettings From(Settings s)
    {
        var batch = s.Int("batch-size", 1, 1 << 20);
        var micro = s.IntOrNull("micro-batch-size", 1, 1 << 20) ?? batch;
        if (batch % micro != 0)
            throw s.Invalid("micro-batch-size", $"must divide batch-size {batch}, got {micro}");
        var data = s.RequiredString("data");
        var evalData = s.String("eval-data") ?? (data == Embedded ? Embedded : "none");
        var device = s.Choice("device", "cpu", "cuda");
        var bf16 = s.Bool("bf16");
        if (bf16 && device != "cuda") throw s.Invalid("bf16", "bf16 autocast needs --device cuda (on CPU the run stays float32)");
        var dtype = s.Choice("dtype", "float32", "float64");
        if (bf16 && dtype == "float64") throw s.Invalid("bf16", "bf16 autocast runs on float32 weights; leave dtype float32");
        var settings = new TrainSettings
        {
            Out = s.RequiredString("out"),
            Name = s.String("name"),
            BaseModel = s.RequiredString("base-model"),
            Data = data,
            DataFormat = s.Choice("data-format", "auto", "alpaca", "multiple-choice"),
            EvalData = evalData,
            Method = s.Choice("method", "moe-lora", "lora"),
            Strategy = s.Choice("strategy", "mola", "uniform", "explicit"),
            Shape = s.RequiredString("shape"),
            Experts = s.RequiredString("experts"),
            TopK = s.RequiredString("top-k"),
            Rank = s.RequiredString("rank"),
            LoraAlpha = s.Double("lora-alpha", 0, minExclusive: true),
            Dropout = s.Double("dropout", 0, 0.999),
            TargetModules = ParseModules(s),
            LearningRate = s.Double("lr", 0, 10, minExclusive: true),
            WarmupSteps = s.IntOrNull("warmup-steps", 0),
            Steps = s.IntOrNull("steps", 1, 100_000_000),
            Epochs = s.Double("epochs", 0, 100_000, minExclusive: true),
            BatchSize = batch,
            MicroBatchSize = micro,
            CutoffLength = s.Int("cutoff-len", 4, 1 << 20),
            PromptTemplate = s.Choice("prompt-template", "alpaca", "alpaca-short"),
            LossOn = s.Choice("loss-on", "prompt-and-answer", "answer") == "answer" ? LossMode.AnswerOnly : LossMode.PromptAndAnswer,
            Seed = (ulong)s.Int("seed", 0),
            WeightDecay = s.Double("weight-decay", 0),
            MaxGradNorm = s.Double("max-grad-norm", 0, minExclusive: true),
            AuxLossCoefficient = s.Double("aux-loss-coef", 0),
            ContrastiveLossCoefficient = s.Double("contrastive-loss-coef", 0),
            ZLossCoefficient = s.Double("z-loss-coef", 0),
            ActivationCheckpointing = s.Bool("activation-checkpointing"),
            CheckpointEvery = s.Int("checkpoint-every", 0),
            KeepLast = s.Int("keep-last", 0),
            Resume = s.String("resume") is not "auto" && s.Bool("resume"),
            ResumeAuto = s.String("resume") is "auto",
            EvalEvery = s.Int("eval-every", 0),
            EvalAt = StepList(s, "eval-at"),
            EvalFormat = s.Choice("eval-format", "generation", "multiple-choice", "both"),
            EvalLimit = s.Int("eval-limit", 0),
            EvalBatchSize = s.Int("eval-batch-size", 1, 4096),
            MaxNewTokens = s.Int("max-new-tokens", 1, 4096),
            EmbeddedTrainPerTask = s.Int("embedded-train-per-task", 1, 100_000),
            EmbeddedTestPerTask = s.Int("embedded-test-per-task", 1, 100_000),
            EmbeddedTrainFormat = s.Choice("embedded-train-format", "generation", "multiple-choice", "both"),
            MetricsPort = s.IntOrNull("metrics-port", 0, 65535),
            PeakGflops = s.Has("peak-gflops") ? s.Double("peak-gflops", 0, minExclusive: true) : null,
            LogEvery = s.Int("log-every", 1),
            Device = device,
            Bf16 = bf16,
            DType = dtype,
            Threads = s.IntOrNull("threads", 1, 1024) ?? Environment.ProcessorCount,
            Raw = s.Values(),
            Origins = s,
        };
        if (settings.ActivationCheckpointing && settings.ContrastiveLossCoefficient != 0)
            throw s.Invalid("activation-checkpointing", "cannot be combined with contrastive-loss-coef > 0");
        if (settings.Method == "lora" && (settings.AuxLossCoefficient != 0 || settings.ContrastiveLossCoefficient != 0 || settings.ZLossCoefficient != 0))
            throw s.Invalid("method", "plain LoRA has no router: aux-loss-coef, contrastive-loss-coef and z-loss-coef must be 0");
        return settings;
    }

    /// <summary>A comma list of steps >= 1, strictly ascending (empty when unset).</summary>
    private static IReadOnlyList<int> StepList(Settings s, string name)
    {
        if (s.String(name) is not { Length: > 0 } text) return [];
        var steps = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var step) || step < 1)
                throw s.Invalid(name, $"'{part}' is not a step >= 1 (expected a comma list such as 40,120)");
            if (steps.Count > 0 && step <= steps[^1]) throw s.Invalid(name, $"steps must be ascending, got {steps[^1]} then {step}");
            steps.Add(step);
        }
        return steps;
    }

    private static IReadOnlyList<LlamaProjection> ParseModules(Settings s)
    {
        var text = s.RequiredString("target-modules");
        var list = new List<LlamaProjection>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var name = part.EndsWith("_proj", StringComparison.Ordinal) ? part[..^5] : part;
            LlamaProjection p = name switch
            {
                "q" => LlamaProjection.Q, "k" => LlamaProjection.K, "v" => LlamaProjection.V, "o" => LlamaProjection.O,
                "gate" => LlamaProjection.Gate, "up" => LlamaProjection.Up, "down" => LlamaProjection.Down,
                _ => throw s.Invalid("target-modules", $"'{part}' is not a projection (q, k, v, o, gate, up, down)"),
            };
            if (list.Contains(p)) throw s.Invalid("target-modules", $"'{part}' is listed twice");
            list.Add(p);
        }
        if (list.Count == 0) throw s.Invalid("target-modules", "lists no projection");
        return list;
    }
}
