using System.Diagnostics;
using MoLA.Torch;
using MoLA.Torch.NN;

namespace MoLA.Model.MoeLora;

/// <summary>What one <c>mola bench moe-layer</c> run measures.</summary>
public sealed record MoeLayerBenchOptions
{
    public int InFeatures { get; init; } = 1024;
    public int OutFeatures { get; init; } = 1024;
    public int Tokens { get; init; } = 2048;
    public int Rank { get; init; } = 8;
    public int TopK { get; init; } = 2;
    public double Alpha { get; init; } = 16;
    /// <summary>Expert dropout in training mode (the default 0.05 of a real run).</summary>
    public double Dropout { get; init; } = 0.05;
    public IReadOnlyList<int> ExpertCounts { get; init; } = [2, 4, 8, 16, 32];
    /// <summary>Intra-op threads of libtorch for the run (2 on the project's machines).</summary>
    public int Threads { get; init; } = 2;
    public int WarmupRounds { get; init; } = 2;
    /// <summary>Timed rounds; every variant runs once per round, in an order rotated per round.</summary>
    public int Rounds { get; init; } = 9;
    public ulong Seed { get; init; }
    /// <summary>Whether x needs a gradient (true inside a model: earlier layers train).</summary>
    public bool InputRequiresGrad { get; init; } = true;
    /// <summary>The N of the two ratio targets.</summary>
    public int TargetExperts { get; init; } = 8;

    public void Validate()
    {
        if (InFeatures < 1 || OutFeatures < 1 || Tokens < 1) throw new ArgumentOutOfRangeException(nameof(Tokens), "in, out features and tokens must be positive");
        if (Rank < 1 || TopK < 1) throw new ArgumentOutOfRangeException(nameof(Rank), "rank and top-k must be at least 1");
        if (ExpertCounts.Count == 0 || ExpertCounts.Any(n => n < 1)) throw new ArgumentOutOfRangeException(nameof(ExpertCounts), "expert counts must be a non-empty list of positive numbers");
        if (Threads < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "threads must be at least 1");
        if (WarmupRounds < 0 || Rounds < 1) throw new ArgumentOutOfRangeException(nameof(Rounds), "need at least one timed round and no negative warm-up");
    }
}

/// <summary>One timed variant: "base" (frozen linear alone), "lora" (plain LoRA), or an MoE form at N experts.</summary>
public sealed record MoeLayerBenchRow(string Variant, int? Experts, string? ResolvedExecution, double MedianMs, double MinMs, IReadOnlyList<double> SamplesMs);

public sealed record MoeLayerBenchTargets(
    double AutoOverPlainLoraMax,
    double LoopOverAutoMin,
    bool AutoOverPlainLoraMet,
    bool LoopOverAutoMet,
    bool AutoFasterThanLoopAtEveryN)
{
    public bool AllMet => AutoOverPlainLoraMet && LoopOverAutoMet && AutoFasterThanLoopAtEveryN;
}

/// <summary>
/// The measurement. <see cref="AutoOverPlainLora"/> and <see cref="LoopOverAuto"/> are ratios of
/// medians (what the targets judge); the Paired ones are medians over rounds of the same round's
/// ratio, less sensitive to slow drift on a shared machine.
/// </summary>
public sealed record MoeLayerBenchResult(
    int InFeatures,
    int OutFeatures,
    int Tokens,
    int Rank,
    int TopK,
    double Dropout,
    int Threads,
    int Rounds,
    string TorchVersion,
    string? OmpWaitPolicy,
    int AutoDenseMaxWidth,
    string Method,
    IReadOnlyList<MoeLayerBenchRow> Rows,
    int TargetExperts,
    double? AutoOverPlainLora,
    double? LoopOverAuto,
    double? PairedAutoOverPlainLora,
    double? PairedLoopOverAuto,
    IReadOnlyList<int> ExpertsWhereLoopNotSlower,
    MoeLayerBenchTargets Targets);

/// <summary>
/// Forward + backward of one wrapped linear layer for every MoE execution form, against plain LoRA of
/// the same rank and the frozen base alone, all in one process and interleaved: each round runs every
/// variant once (order rotated per round) so drift on a shared machine hits all alike; figures are
/// medians over rounds. Backward takes a fixed random upstream gradient; gradients are cleared between
/// runs outside the clock.
/// </summary>
public static class MoeLayerBenchmark
{
    public const double AutoOverPlainLoraTarget = 1.3;
    public const double LoopOverAutoTarget = 1.5;

    private sealed record Variant(string Name, int? Experts, Module<Tensor, Tensor> Module, string? Resolved);

    public static MoeLayerBenchResult Run(MoeLayerBenchOptions options, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var previousThreads = torch.get_num_threads();
        torch.set_num_threads(options.Threads);
        var owned = new List<Module>();
        try
        {
            torch.manual_seed(options.Seed);
            var variants = new List<Variant>();
            var baseLinear = new Linear(options.InFeatures, options.OutFeatures, hasBias: false);
            foreach (var p in baseLinear.parameters()) p.RequiresGrad = false;
            owned.Add(baseLinear);
            variants.Add(new("base", null, baseLinear, null));

            var plain = new PlainLoraLinear(new Linear(options.InFeatures, options.OutFeatures, hasBias: false), options.Rank, options.Alpha, options.Dropout, "bench.lora");
            owned.Add(plain);
            RandomiseB(plain.LoraB);
            variants.Add(new("lora", null, plain, null));

            foreach (var n in options.ExpertCounts)
            {
                foreach (var execution in new[] { MoeExecution.Loop, MoeExecution.DenseGated, MoeExecution.Grouped, MoeExecution.Auto })
                {
                    var moe = new MoeLoraLinear(new Linear(options.InFeatures, options.OutFeatures, hasBias: false),
                        new MoeLoraOptions
                        {
                            NumExperts = n,
                            TopK = options.TopK,
                            Rank = options.Rank,
                            Alpha = options.Alpha,
                            Dropout = options.Dropout,
                            Execution = execution,
                        }, $"bench.moe{n}.{execution}");
                    owned.Add(moe);
                    RandomiseB(moe.LoraB);
                    variants.Add(new(Label(execution), n, moe, moe.ResolvedExecution.ToString()));
                }
            }

            using var x = torch.randn([options.Tokens, options.InFeatures]).DetachFromScope();
            if (options.InputRequiresGrad) x.requires_grad_();
            using var upstream = torch.randn([options.Tokens, options.OutFeatures]).DetachFromScope();

            var samples = variants.Select(_ => new List<double>(options.Rounds)).ToArray();
            for (var round = 0; round < options.WarmupRounds + options.Rounds; round++)
            {
                var timed = round >= options.WarmupRounds;
                for (var j = 0; j < variants.Count; j++)
                {
                    var i = (j + round) % variants.Count;
                    var ms = TimeOnce(variants[i].Module, x, upstream);
                    if (timed) samples[i].Add(ms);
                }
                progress?.Invoke(timed ? $"round {round - options.WarmupRounds + 1}/{options.Rounds}" : $"warm-up {round + 1}/{options.WarmupRounds}");
            }

            var rows = variants.Select((v, i) => new MoeLayerBenchRow(v.Name, v.Experts, v.Resolved, Median(samples[i]), samples[i].Min(), samples[i])).ToList();
            return Summarise(options, rows);
        }
        finally
        {
            foreach (var m in owned) m.Dispose();
            torch.set_num_threads(previousThreads);
        }
    }

    /// <summary>The result as a text table: one row per N with each form's median (and min) ms, then the targets.</summary>
    public static string FormatTable(MoeLayerBenchResult result)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        string Cell(MoeLayerBenchRow? r) => r is null ? "-" : string.Format(inv, "{0:F1} ({1:F1})", r.MedianMs, r.MinMs);
        MoeLayerBenchRow? Row(string v, int? n) => result.Rows.FirstOrDefault(r => r.Variant == v && r.Experts == n);
        sb.AppendLine(string.Format(inv, "d_in {0}, d_out {1}, {2} tokens, r {3}, top-{4}, dropout {5}, {6} threads, {7} rounds, libtorch {8}, OMP_WAIT_POLICY {9}",
            result.InFeatures, result.OutFeatures, result.Tokens, result.Rank, result.TopK, result.Dropout, result.Threads, result.Rounds, result.TorchVersion,
            result.OmpWaitPolicy ?? "unset"));
        sb.AppendLine("forward + backward, median (min) ms");
        sb.AppendLine(string.Format(inv, "base (frozen linear)  {0}", Cell(Row("base", null))));
        sb.AppendLine(string.Format(inv, "plain LoRA r {0}       {1}", result.Rank, Cell(Row("lora", null))));
        sb.AppendLine(string.Format(inv, "{0,4}  {1,17}  {2,17}  {3,17}  {4,17}  {5,-10}  {6,9}  {7,9}", "N", "loop", "dense", "grouped", "auto", "auto is", "auto/lora", "loop/auto"));
        var plain = Row("lora", null)?.MedianMs;
        foreach (var n in result.Rows.Where(r => r.Experts is not null).Select(r => r.Experts!.Value).Distinct())
        {
            var auto = Row("auto", n);
            var loop = Row("loop", n);
            sb.AppendLine(string.Format(inv, "{0,4}  {1,17}  {2,17}  {3,17}  {4,17}  {5,-10}  {6,9:F3}  {7,9:F2}",
                n, Cell(loop), Cell(Row("dense", n)), Cell(Row("grouped", n)), Cell(auto), auto?.ResolvedExecution ?? "-",
                auto is null || plain is null ? double.NaN : auto.MedianMs / plain.Value,
                auto is null || loop is null ? double.NaN : loop.MedianMs / auto.MedianMs));
        }
        var t = result.Targets;
        sb.AppendLine(string.Format(inv, "auto / plain LoRA at N = {0}: {1:F3} (target <= {2}) {3}; paired per round {4:F3}",
            result.TargetExperts, result.AutoOverPlainLora, t.AutoOverPlainLoraMax, t.AutoOverPlainLoraMet ? "met" : "MISSED", result.PairedAutoOverPlainLora));
        sb.AppendLine(string.Format(inv, "loop / auto at N = {0}: {1:F2} (target >= {2}) {3}; paired per round {4:F2}",
            result.TargetExperts, result.LoopOverAuto, t.LoopOverAutoMin, t.LoopOverAutoMet ? "met" : "MISSED", result.PairedLoopOverAuto));
        sb.Append(t.AutoFasterThanLoopAtEveryN ? "auto faster than loop at every N: met" : $"auto not faster than loop at N = {string.Join(", ", result.ExpertsWhereLoopNotSlower)}: MISSED");
        return sb.ToString();
    }

    private static string Label(MoeExecution e) => e switch
    {
        MoeExecution.Loop => "loop",
        MoeExecution.DenseGated => "dense",
        MoeExecution.Grouped => "grouped",
        _ => "auto",
    };

    private static MoeLayerBenchResult Summarise(MoeLayerBenchOptions o, List<MoeLayerBenchRow> rows)
    {
        double? Ms(string variant, int? n) => rows.FirstOrDefault(r => r.Variant == variant && r.Experts == n)?.MedianMs;
        var plain = Ms("lora", null);
        var autoAtTarget = Ms("auto", o.TargetExperts);
        var loopAtTarget = Ms("loop", o.TargetExperts);
        double? autoOverPlain = autoAtTarget / plain;
        double? loopOverAuto = loopAtTarget / autoAtTarget;
        IReadOnlyList<double>? Samples(string variant, int? n) => rows.FirstOrDefault(r => r.Variant == variant && r.Experts == n)?.SamplesMs;
        double? Paired(IReadOnlyList<double>? num, IReadOnlyList<double>? den) =>
            num is null || den is null ? null : Median(num.Zip(den, (a, b) => a / b).ToList());
        var pairedAutoOverPlain = Paired(Samples("auto", o.TargetExperts), Samples("lora", null));
        var pairedLoopOverAuto = Paired(Samples("loop", o.TargetExperts), Samples("auto", o.TargetExperts));
        var loopNotSlower = o.ExpertCounts.Where(n => !(Ms("auto", n) < Ms("loop", n))).Distinct().ToList();
        var targets = new MoeLayerBenchTargets(
            AutoOverPlainLoraTarget,
            LoopOverAutoTarget,
            autoOverPlain is { } a && a <= AutoOverPlainLoraTarget,
            loopOverAuto is { } l && l >= LoopOverAutoTarget,
            loopNotSlower.Count == 0);
        return new MoeLayerBenchResult(
            o.InFeatures, o.OutFeatures, o.Tokens, o.Rank, o.TopK, o.Dropout, torch.get_num_threads(), o.Rounds, torch.version,
            Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"),
            MoeLoraOptions.DefaultAutoDenseMaxWidth,
            "forward + backward (fixed upstream gradient) of one layer, training mode; variants interleaved per round, order rotated; median over rounds",
            rows, o.TargetExperts, autoOverPlain, loopOverAuto, pairedAutoOverPlain, pairedLoopOverAuto, loopNotSlower, targets);
    }

    private static double TimeOnce(Module<Tensor, Tensor> module, Tensor x, Tensor upstream)
    {
        x.grad = null;
        module.zero_grad();
        double ms;
        using (var scope = torch.NewDisposeScope())
        {
            var start = Stopwatch.GetTimestamp();
            var y = module.forward(x);
            if (y.RequiresGrad) y.backward(upstream);
            ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return ms;
    }

    private static void RandomiseB(Tensor b)
    {
        // Non-zero B so the timed work matches a trained adapter (the cost is the same either way).
        using var _ = torch.no_grad();
        b.normal_(0, 0.01);
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
