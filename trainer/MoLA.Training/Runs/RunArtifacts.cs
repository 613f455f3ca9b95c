namespace MoLA.Training.Runs;

/// <summary>
/// What a run directory holds, as written by `mola train` and read by `mola report`. JSON files use
/// snake_case names (<see cref="RunJson.Options"/>).
/// <code>
/// RUN_DIR/
///   run.json            RunManifest: method, base model, allocation, trainable parameters, resolved config
///   metrics.jsonl       one StepRecord per optimizer step (appended as the run goes; the newest line may be cut by a crash)
///   expert_load.json    ExpertLoadReport: tokens routed to each expert, per layer and module, over the whole run
///   eval.json           EvaluationSummary: accuracy with 95% CI per dataset/format/task, optional continual OP/PD
///   predictions.jsonl   every evaluated item: mode, gold, predicted, correct, the generated text or the choice scores
///   adapter/            the final adapter (adapter_model.safetensors + adapter_config.json)
///   checkpoint-N/       resumable checkpoints (last K)
///   report.html         written by `mola report`
/// </code>
/// </summary>
public static class RunFiles
{
    public const string Manifest = "run.json";
    public const string Steps = "metrics.jsonl";
    public const string ExpertLoad = "expert_load.json";
    public const string Evaluation = "eval.json";
    public const string Predictions = "predictions.jsonl";
    public const string AdapterDir = "adapter";
    public const string Report = "report.html";
}

/// <summary>How the adapter's experts were allocated over layers (one entry per decoder layer).</summary>
/// <param name="Strategy">uniform | mola | alphalora | explicit | lora (plain LoRA, one expert per layer, no router).</param>
/// <param name="Shape">The MoLA block string (e.g. "2468") when the strategy used one.</param>
public sealed record AllocationSummary(string Strategy, string? Shape, int[] Experts, int[] TopK, int[] Ranks);

/// <summary>The identity of a run: written once at its start (and rewritten on resume).</summary>
/// <param name="Name">Display name (defaults to the directory name).</param>
/// <param name="Method">moe-lora or lora.</param>
/// <param name="BaseModel">The base checkpoint directory.</param>
/// <param name="TrainableParameters">Adapter parameters that train (routers, A, B).</param>
/// <param name="TotalSteps">Optimizer steps the run is configured for.</param>
/// <param name="Config">The resolved configuration (YAML + flags) as key/value pairs, for the record.</param>
public sealed record RunManifest(
    string Name,
    string Method,
    string CreatedUtc,
    string BaseModel,
    AllocationSummary Allocation,
    long TrainableParameters,
    int TotalSteps,
    IReadOnlyDictionary<string, string> Config);

/// <summary>One optimizer step, as appended to metrics.jsonl.</summary>
/// <param name="Mfu">Model FLOPs utilisation in [0, 1] against the measured GEMM peak; null when no peak is known.</param>
public sealed record StepRecord(
    int Step,
    double Loss,
    double AuxLoss,
    double LearningRate,
    long Tokens,
    double TokensPerSecond,
    double GradNorm,
    double Seconds,
    double? Mfu);

/// <summary>Tokens routed to each expert of one MoE-LoRA module (index = expert id).</summary>
public sealed record ModuleExpertLoad(int Layer, string Module, long[] Tokens);

/// <summary>The run's cumulative expert load.</summary>
public sealed record ExpertLoadReport(int Steps, IReadOnlyList<ModuleExpertLoad> Modules);

/// <summary>Accuracy of one (dataset, format, task) slice; task "all" is the overall row.</summary>
/// <param name="Format">generation (greedy + answer regex) or multiple_choice (log-likelihood).</param>
public sealed record AccuracyRow(
    string Dataset,
    string Format,
    string Task,
    int Correct,
    int Total,
    double Accuracy,
    double CiLow,
    double CiHigh);

/// <summary>Continual-learning result (methods.md section 3): acc[t][d], OP and PD.</summary>
public sealed record ContinualSummary(IReadOnlyList<string> Domains, double[][] Accuracy, double Op, double Pd);

/// <summary>What eval.json holds.</summary>
public sealed record EvaluationSummary(IReadOnlyList<AccuracyRow> Rows, ContinualSummary? Continual);
