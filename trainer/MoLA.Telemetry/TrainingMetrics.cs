using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace MoLA.Telemetry;

/// <summary>
/// The trainer's instruments on a <see cref="Meter"/> named <see cref="MeterName"/>. Names follow Prometheus
/// conventions (base units, <c>_total</c> on counters, <c>_seconds</c>/<c>_bytes</c>); labels are bounded: run and
/// rank on every series when given, plus kind, layer, module, expert or op where the family needs them.
/// Thread-safe: the underlying instruments are.
/// </summary>
public sealed class TrainingMetrics : IDisposable
{
    /// <summary>The meter name the trainer publishes on; pass it to <see cref="MetricsServer.Start"/>.</summary>
    public const string MeterName = "MoLA.Training";

    /// <summary>Bucket bounds (seconds) for step and collective durations: 1 ms to 5 min.</summary>
    public static readonly IReadOnlyList<double> DurationBuckets =
        [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private static readonly string[] AuxKinds = ["aux", "contrastive", "z"];

    private readonly KeyValuePair<string, object?>[] labels;
    private readonly Counter<long> tokens;
    private readonly Gauge<double> tokensPerSecond;
    private readonly Histogram<double> stepDuration;
    private readonly Gauge<long> stepsCompleted;
    private readonly Gauge<long> stepsPlanned;
    private readonly Gauge<double> loss;
    private readonly Gauge<double> auxLoss;
    private readonly Gauge<double> learningRate;
    private readonly Gauge<double> mfu;
    private readonly Counter<long> expertTokens;
    private readonly Gauge<double> loadImbalance;
    private readonly Gauge<double> loadVariation;
    private readonly Gauge<double> routerEntropy;
    private readonly Counter<double> collectiveSeconds;
    private readonly Counter<long> collectiveBytes;

    /// <summary>
    /// Creates the instruments on a new meter (a different <paramref name="meterName"/> isolates tests).
    /// <paramref name="run"/> and <paramref name="rank"/>, when given, label every series (a dashboard selects a run
    /// and shows ranks side by side).
    /// </summary>
    public TrainingMetrics(string meterName = MeterName, string? run = null, int? rank = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(meterName);
        if (rank is < 0) throw new ArgumentOutOfRangeException(nameof(rank), rank, "rank must be >= 0");
        var constant = new List<KeyValuePair<string, object?>>();
        if (!string.IsNullOrWhiteSpace(run)) constant.Add(new("run", run));
        if (rank is { } r) constant.Add(new("rank", r.ToString(CultureInfo.InvariantCulture)));
        labels = [.. constant];

        Meter = new Meter(meterName, "1.0");
        tokens = Meter.CreateCounter<long>("mola_tokens_total", "{token}", "Tokens processed by training steps.");
        tokensPerSecond = Meter.CreateGauge<double>("mola_tokens_per_second", null, "Training throughput of the latest step (tokens per second).");
        stepDuration = Meter.CreateHistogram<double>(
            "mola_step_duration_seconds", "s", "Wall-clock duration of one optimizer step.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        stepsCompleted = Meter.CreateGauge<long>("mola_steps_completed", null, "Optimizer steps the run has completed (resumed runs start at their checkpoint).");
        stepsPlanned = Meter.CreateGauge<long>("mola_steps_planned", null, "Optimizer steps the run will take in all.");
        loss = Meter.CreateGauge<double>("mola_loss", null, "Training loss of the latest step.");
        auxLoss = Meter.CreateGauge<double>("mola_aux_loss", null, "Latest auxiliary loss by kind (aux, contrastive, z).");
        learningRate = Meter.CreateGauge<double>("mola_learning_rate", null, "Learning rate of the latest step.");
        mfu = Meter.CreateGauge<double>("mola_model_flops_utilization_ratio", "1", "Model FLOPs utilisation (0..1) of the latest step.");
        expertTokens = Meter.CreateCounter<long>("mola_expert_tokens_total", "{token}", "Tokens routed to each expert, by layer and module.");
        loadImbalance = Meter.CreateGauge<double>("mola_expert_load_imbalance_ratio", "1", "Max over mean expert load in the latest step, by layer and module (1 = balanced).");
        loadVariation = Meter.CreateGauge<double>("mola_expert_load_cv_ratio", "1", "Coefficient of variation (std/mean) of the expert load in the latest step, by layer and module (0 = balanced).");
        routerEntropy = Meter.CreateGauge<double>("mola_router_entropy", null, "Entropy (nats) of the latest step's distribution of routed tokens over experts, by layer and module (ln E = uniform, 0 = one expert).");
        collectiveSeconds = Meter.CreateCounter<double>("mola_collective_seconds_total", "s", "Time spent in collective operations, by op.");
        collectiveBytes = Meter.CreateCounter<long>("mola_collective_bytes_total", "By", "Bytes moved by collective operations, by op.");
    }

    /// <summary>The meter holding the instruments.</summary>
    public Meter Meter { get; }

    /// <summary>The run and rank labels every series carries (empty when neither was given).</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Labels => labels;

    /// <summary>Records one optimizer step.</summary>
    public void RecordStep(long tokens, double seconds, double loss, double learningRate, double mfu)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        if (!(seconds >= 0)) throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "step duration must be a non-negative number of seconds");
        var tags = Tags();
        this.tokens.Add(tokens, tags);
        if (seconds > 0) tokensPerSecond.Record(tokens / seconds, tags);
        stepDuration.Record(seconds, tags);
        this.loss.Record(loss, tags);
        this.learningRate.Record(learningRate, tags);
        this.mfu.Record(mfu, tags);
    }

    /// <summary>Records how far the run is: <paramref name="completed"/> of <paramref name="planned"/> optimizer steps.</summary>
    public void RecordProgress(long completed, long planned)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(completed);
        if (planned < completed) throw new ArgumentOutOfRangeException(nameof(planned), planned, $"planned steps must be >= the {completed} completed");
        var tags = Tags();
        stepsCompleted.Record(completed, tags);
        stepsPlanned.Record(planned, tags);
    }

    /// <summary>
    /// Adds this step's per-expert token counts of one MoE module and updates its load imbalance, variation and
    /// routing entropy. Under expert parallelism a rank may report a slice: counts[i] is expert <paramref name="firstExpert"/> + i.
    /// </summary>
    public void RecordExpertTokens(int layer, string module, long[] counts, int firstExpert = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstExpert);
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentException.ThrowIfNullOrWhiteSpace(module);
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Length == 0) throw new ArgumentException("at least one expert count is required", nameof(counts));
        string layerLabel = layer.ToString(CultureInfo.InvariantCulture);
        long total = 0, max = 0;
        for (int e = 0; e < counts.Length; e++)
        {
            if (counts[e] < 0) throw new ArgumentOutOfRangeException(nameof(counts), counts[e], $"expert {e} has a negative token count");
            total += counts[e];
            max = Math.Max(max, counts[e]);
            expertTokens.Add(counts[e], Tags(("layer", layerLabel), ("module", module), ("expert", (firstExpert + e).ToString(CultureInfo.InvariantCulture))));
        }
        var (imbalance, variation, entropy) = LoadStatistics(counts, total, max);
        var tags = Tags(("layer", layerLabel), ("module", module));
        loadImbalance.Record(imbalance, tags);
        loadVariation.Record(variation, tags);
        routerEntropy.Record(entropy, tags);
    }

    /// <summary>Max/mean, std/mean (population) and entropy in nats of one module's counts; a step that routed nothing counts as balanced.</summary>
    internal static (double Imbalance, double Variation, double Entropy) LoadStatistics(long[] counts, long total, long max)
    {
        if (total == 0) return (1.0, 0.0, Math.Log(counts.Length));
        double mean = (double)total / counts.Length, squares = 0, entropy = 0;
        foreach (var c in counts)
        {
            squares += (c - mean) * (c - mean);
            if (c > 0)
            {
                var p = (double)c / total;
                entropy -= p * Math.Log(p);
            }
        }
        return (max / mean, Math.Sqrt(squares / counts.Length) / mean, entropy);
    }

    /// <summary>Records the latest auxiliary loss; <paramref name="kind"/> is aux, contrastive or z.</summary>
    public void RecordAux(string kind, double value)
    {
        if (Array.IndexOf(AuxKinds, kind) < 0)
            throw new ArgumentException($"aux loss kind '{kind}' is not one of {string.Join(", ", AuxKinds)}", nameof(kind));
        auxLoss.Record(value, Tags(("kind", kind)));
    }

    /// <summary>Adds the time and bytes of one collective operation (e.g. all_reduce, all_to_all).</summary>
    public void RecordCollective(string op, double seconds, long bytes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(op);
        if (!(seconds >= 0)) throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "collective time must be a non-negative number of seconds");
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var tags = Tags(("op", op));
        collectiveSeconds.Add(seconds, tags);
        collectiveBytes.Add(bytes, tags);
    }

    private TagList Tags(params (string Key, string Value)[] more)
    {
        var tags = new TagList(labels);
        foreach (var (key, value) in more) tags.Add(key, value);
        return tags;
    }

    /// <inheritdoc />
    public void Dispose() => Meter.Dispose();
}
