using System.Globalization;

namespace MoLA.Training.Pretraining;

/// <summary>An invalid <see cref="PretrainOptions"/> field; <see cref="Field"/> names it (as the CLI flag's stem).</summary>
public sealed class PretrainOptionsException(string field, string detail)
    : ArgumentException($"pretrain option '{field}': {detail}", field)
{
    public string Field => ParamName ?? string.Empty;
    /// <summary>What is wrong, without the field name (e.g. "must be at least 1, got 0").</summary>
    public string Detail { get; } = detail;
}

/// <summary>
/// Hyper-parameters of a full-parameter causal-LM pre-training run on packed byte-level text.
/// Defaults are those that produced models/tiny-base (see its README.md).
/// </summary>
public sealed record PretrainOptions
{
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 2800;
    /// <summary>Packed windows per step.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Tokens per window (the loss predicts tokens 1..SeqLen-1 of each window).</summary>
    public int SeqLen { get; init; } = 256;
    /// <summary>Peak learning rate (after warm-up).</summary>
    public double LearningRate { get; init; } = 3e-3;
    /// <summary>Learning rate at the end of the cosine decay, as a fraction of the peak.</summary>
    public double FinalLearningRateFraction { get; init; } = 0.1;
    /// <summary>Linear warm-up steps; null = 5% of <see cref="Steps"/> (at least 1).</summary>
    public int? WarmupSteps { get; init; }
    /// <summary>AdamW decoupled weight decay of the matrices (norm weights are never decayed).</summary>
    public double WeightDecay { get; init; } = 0.1;
    /// <summary>Global gradient-norm clip.</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Seed of the initial weights, the corpus and the window order.</summary>
    public ulong Seed { get; init; }
    /// <summary>Plain-text documents from <see cref="Data.EmbeddedCorpus"/>.</summary>
    public int Documents { get; init; } = 40000;
    /// <summary>Worked examples from the benchmark's TRAIN split mixed in (0 = none); see <see cref="PretrainCorpus"/>.</summary>
    public int WorkedExamples { get; init; } = 160000;

    public int EffectiveWarmupSteps => WarmupSteps ?? Math.Max(1, Steps / 20);

    /// <summary>Throws <see cref="PretrainOptionsException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (Steps < 1) throw new PretrainOptionsException("steps", $"must be at least 1, got {Steps}");
        if (BatchSize < 1) throw new PretrainOptionsException("batch-size", $"must be at least 1, got {BatchSize}");
        if (SeqLen < 2) throw new PretrainOptionsException("seq-len", $"must be at least 2 (one input and one target), got {SeqLen}");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw new PretrainOptionsException("lr", $"must be a finite value > 0, got {Fmt(LearningRate)}");
        if (!(FinalLearningRateFraction >= 0 && FinalLearningRateFraction <= 1))
            throw new PretrainOptionsException("final-lr-fraction", $"must be in [0, 1], got {Fmt(FinalLearningRateFraction)}");
        if (WarmupSteps is int w && (w < 0 || w > Steps))
            throw new PretrainOptionsException("warmup-steps", $"must be in [0, steps={Steps}], got {w}");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay))
            throw new PretrainOptionsException("weight-decay", $"must be a finite value >= 0, got {Fmt(WeightDecay)}");
        if (!(MaxGradNorm > 0) || !double.IsFinite(MaxGradNorm))
            throw new PretrainOptionsException("max-grad-norm", $"must be a finite value > 0, got {Fmt(MaxGradNorm)}");
        if (Documents < 0) throw new PretrainOptionsException("documents", $"must be >= 0, got {Documents}");
        if (WorkedExamples < 0) throw new PretrainOptionsException("worked-examples", $"must be >= 0, got {WorkedExamples}");
        if (Documents + WorkedExamples < 1) throw new PretrainOptionsException("documents", "the corpus is empty (documents and worked-examples are both 0)");
    }

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
