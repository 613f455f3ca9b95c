using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace MoLA.Telemetry;

/// <summary>
/// The trainer's instruments on a <see cref="Meter"/> named <see cref="MeterName"/>. Names follow Prometheus
/// conventions (base units, <c>_total</c> on counters, <c>_seconds</c>/<c>_bytes</c>); labels are low-cardinality
/// (kind, layer, module, expert, op). Thread-safe: the underlying instruments are.
/// </summary>
public sealed class TrainingMetrics : IDisposable
{
    /// <summary>The meter name the trainer publishes on; pass it to <see cref="MetricsEndpoint.Start"/>.</summary>
    public const string MeterName = "MoLA.Training";

    /// <summary>Bucket bounds (seconds) for step and collective durations: 1 ms to 5 min.</summary>
    public static readonly IReadOnlyList<double> DurationBuckets =
        [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private static readonly string[] AuxKinds = ["aux", "contrastive", "z"];

    private readonly Counter<long> tokens;
    private readonly Histogram<double> stepDuration;
    private readonly Gauge<double> loss;
    private readonly Gauge<double> auxLoss;
    private readonly Gauge<double> learningRate;
    private readonly Gauge<double> mfu;
    private readonly Counter<long> expertTokens;
    private readonly Gauge<double> loadImbalance;
    private readonly Counter<double> collectiveSeconds;
    private readonly Counter<long> collectiveBytes;

    /// <summary>Creates the instruments on a new meter (a different <paramref name="meterName"/> isolates tests).</summary>
    public TrainingMetrics(string meterName = MeterName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(meterName);
        Meter = new Meter(meterName, "1.0");
        tokens = Meter.CreateCounter<long>("mola_tokens_total", "{token}", "Tokens processed by training steps.");
        stepDuration = Meter.CreateHistogram<double>(
            "mola_step_duration_seconds", "s", "Wall-clock duration of one optimizer step.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        loss = Meter.CreateGauge<double>("mola_loss", null, "Training loss of the latest step.");
        auxLoss = Meter.CreateGauge<double>("mola_aux_loss", null, "Latest auxiliary loss by kind (aux, contrastive, z).");
        learningRate = Meter.CreateGauge<double>("mola_learning_rate", null, "Learning rate of the latest step.");
        mfu = Meter.CreateGauge<double>("mola_model_flops_utilization_ratio", "1", "Model FLOPs utilisation (0..1) of the latest step.");
        expertTokens = Meter.CreateCounter<long>("mola_expert_tokens_total", "{token}", "Tokens routed to each expert, by layer and module.");
        loadImbalance = Meter.CreateGauge<double>("mola_expert_load_imbalance_ratio", "1", "Max over mean expert load in the latest step, by layer and module (1 = balanced).");
        collectiveSeconds = Meter.CreateCounter<double>("mola_collective_seconds_total", "s", "Time spent in collective operations, by op.");
        collectiveBytes = Meter.CreateCounter<long>("mola_collective_bytes_total", "By", "Bytes moved by collective operations, by op.");
    }

    /// <summary>The meter holding the instruments.</summary>
    public Meter Meter { get; }

    /// <summary>Records one optimizer step.</summary>
    public void RecordStep(long tokens, double seconds, double loss, double learningRate, double mfu)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        if (!(seconds >= 0)) throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "step duration must be a non-negative number of seconds");
        this.tokens.Add(tokens);
        stepDuration.Record(seconds);
        this.loss.Record(loss);
        this.learningRate.Record(learningRate);
        this.mfu.Record(mfu);
    }

    /// <summary>
    /// Adds this step's per-expert token counts of one MoE module and updates its load imbalance. Under expert
    /// parallelism a rank reports its own experts: counts[i] is expert <paramref name="firstExpert"/> + i.
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
            var tags = new TagList
            {
                { "layer", layerLabel },
                { "module", module },
                { "expert", (firstExpert + e).ToString(CultureInfo.InvariantCulture) },
            };
            expertTokens.Add(counts[e], tags);
        }
        double mean = (double)total / counts.Length;
        double imbalance = total == 0 ? 1.0 : max / mean;
        loadImbalance.Record(imbalance, new TagList { { "layer", layerLabel }, { "module", module } });
    }

    /// <summary>Records the latest auxiliary loss; <paramref name="kind"/> is aux, contrastive or z.</summary>
    public void RecordAux(string kind, double value)
    {
        if (Array.IndexOf(AuxKinds, kind) < 0)
            throw new ArgumentException($"aux loss kind '{kind}' is not one of {string.Join(", ", AuxKinds)}", nameof(kind));
        auxLoss.Record(value, new KeyValuePair<string, object?>("kind", kind));
    }

    /// <summary>Adds the time and bytes of one collective operation (e.g. all_reduce, all_to_all).</summary>
    public void RecordCollective(string op, double seconds, long bytes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(op);
        if (!(seconds >= 0)) throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "collective time must be a non-negative number of seconds");
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var tag = new KeyValuePair<string, object?>("op", op);
        collectiveSeconds.Add(seconds, tag);
        collectiveBytes.Add(bytes, tag);
    }

    /// <inheritdoc />
    public void Dispose() => Meter.Dispose();
}
