using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace MoLA.Training.Trainer;

/// <summary>An invalid <see cref="TrainerOptions"/> field; <see cref="ArgumentException.ParamName"/> names it.</summary>
public sealed class TrainerOptionsException(string field, string message)
    : ArgumentException($"trainer option '{field}': {message}", field);

/// <summary>A trainer failure at run time (non-finite gradients, a checkpoint that does not fit the run).</summary>
public sealed class TrainerException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Hyper-parameters of an SFT run. A step is one optimizer update over
/// <see cref="MicroBatchesPerStep"/> batches (gradient accumulation).
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Peak learning rate of the linear warm-up / linear decay schedule.</summary>
    public double LearningRate { get; init; } = 3e-4;
    /// <summary>Steps of linear warm-up from 0 to <see cref="LearningRate"/>.</summary>
    public int WarmupSteps { get; init; }
    /// <summary>Optimizer steps of the whole run (the schedule decays to 0 at this step).</summary>
    public int TotalSteps { get; init; } = 100;
    /// <summary>AdamW decoupled weight decay.</summary>
    public double WeightDecay { get; init; }
    /// <summary>Maximum global L2 norm of the gradients (clip_grad_norm_).</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Batches accumulated into one optimizer step.</summary>
    public int MicroBatchesPerStep { get; init; } = 1;
    /// <summary>Seed of the run; step i seeds libtorch with Seed + i.</summary>
    public ulong Seed { get; init; } = 42;
    /// <summary>Weight of MoLA's load-balancing aux loss (0 = off; MoLA uses 0.001).</summary>
    public double AuxLossCoefficient { get; init; }
    /// <summary>Weight of the MoELoRA contrastive loss between experts (0 = off; methods.md section 5).</summary>
    public double ContrastiveLossCoefficient { get; init; }
    /// <summary>Weight of the router z-loss (0 = off).</summary>
    public double RouterZLossCoefficient { get; init; }
    /// <summary>
    /// Keep only each decoder layer's input during the forward and recompute the layer in the backward
    /// (activation checkpointing): activation memory drops from O(layers x per-layer activations) to
    /// O(layers x hidden) at the cost of a second forward. Not combinable with the contrastive loss.
    /// </summary>
    public bool ActivationCheckpointing { get; init; }
    /// <summary>
    /// Run forward and loss under CUDA autocast in this dtype (bfloat16 or float16); null = full precision. Only
    /// CUDA ops are affected (CPU runs stay float32); the adapters' weights and AdamW state stay float32.
    /// </summary>
    public MoLA.Torch.DType? AutocastDType { get; init; }
    /// <summary>Write a checkpoint every N steps (0 = never; the caller may still call SaveCheckpoint).</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>Checkpoints kept in <see cref="OutputDir"/> (the newest K; 0 = keep all).</summary>
    public int KeepLastCheckpoints { get; init; } = 3;
    /// <summary>Where checkpoint-{step}/ directories go; required when <see cref="CheckpointEvery"/> &gt; 0.</summary>
    public string? OutputDir { get; init; }

    /// <summary>Throws <see cref="TrainerOptionsException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw new TrainerOptionsException(nameof(LearningRate), $"must be a finite value > 0, got {Fmt(LearningRate)}");
        if (TotalSteps < 1) throw new TrainerOptionsException(nameof(TotalSteps), $"must be at least 1, got {TotalSteps}");
        if (WarmupSteps < 0 || WarmupSteps > TotalSteps)
            throw new TrainerOptionsException(nameof(WarmupSteps), $"must be in [0, TotalSteps={TotalSteps}], got {WarmupSteps}");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay))
            throw new TrainerOptionsException(nameof(WeightDecay), $"must be a finite value >= 0, got {Fmt(WeightDecay)}");
        if (!(MaxGradNorm > 0) || !double.IsFinite(MaxGradNorm))
            throw new TrainerOptionsException(nameof(MaxGradNorm), $"must be a finite value > 0, got {Fmt(MaxGradNorm)}");
        if (MicroBatchesPerStep < 1)
            throw new TrainerOptionsException(nameof(MicroBatchesPerStep), $"must be at least 1, got {MicroBatchesPerStep}");
        if (!(AuxLossCoefficient >= 0) || !double.IsFinite(AuxLossCoefficient))
            throw new TrainerOptionsException(nameof(AuxLossCoefficient), $"must be a finite value >= 0, got {Fmt(AuxLossCoefficient)}");
        if (!(ContrastiveLossCoefficient >= 0) || !double.IsFinite(ContrastiveLossCoefficient))
            throw new TrainerOptionsException(nameof(ContrastiveLossCoefficient), $"must be a finite value >= 0, got {Fmt(ContrastiveLossCoefficient)}");
        if (!(RouterZLossCoefficient >= 0) || !double.IsFinite(RouterZLossCoefficient))
            throw new TrainerOptionsException(nameof(RouterZLossCoefficient), $"must be a finite value >= 0, got {Fmt(RouterZLossCoefficient)}");
        if (ActivationCheckpointing && ContrastiveLossCoefficient != 0)
            throw new TrainerOptionsException(nameof(ActivationCheckpointing),
                "cannot be combined with the contrastive loss (its per-module average needs every layer's expert inputs at once)");
        if (AutocastDType is { } ac && ac is not (MoLA.Torch.DType.BFloat16 or MoLA.Torch.DType.Float16))
            throw new TrainerOptionsException(nameof(AutocastDType), $"must be BFloat16 or Float16 (or null), got {ac}");
        if (AutocastDType is not null && ActivationCheckpointing)
            throw new TrainerOptionsException(nameof(AutocastDType), "cannot be combined with activation checkpointing yet");
        if (CheckpointEvery < 0) throw new TrainerOptionsException(nameof(CheckpointEvery), $"must be >= 0 (0 = off), got {CheckpointEvery}");
        if (KeepLastCheckpoints < 0)
            throw new TrainerOptionsException(nameof(KeepLastCheckpoints), $"must be >= 0 (0 = keep all), got {KeepLastCheckpoints}");
        if (CheckpointEvery > 0 && string.IsNullOrWhiteSpace(OutputDir))
            throw new TrainerOptionsException(nameof(OutputDir), $"is required when CheckpointEvery is {CheckpointEvery}");
    }

    /// <summary>
    /// SHA-256 (hex) of the fields that decide the trajectory (not the checkpointing fields): a resume
    /// refuses a checkpoint written under a different hash.
    /// </summary>
    public string TrajectoryHash()
    {
        var text = string.Join(';',
            "lr=" + Fmt(LearningRate), "warmup=" + WarmupSteps, "total=" + TotalSteps, "wd=" + Fmt(WeightDecay),
            "clip=" + Fmt(MaxGradNorm), "micro=" + MicroBatchesPerStep, "seed=" + Seed, "aux=" + Fmt(AuxLossCoefficient),
            "contrastive=" + Fmt(ContrastiveLossCoefficient), "z=" + Fmt(RouterZLossCoefficient), "autocast=" + (AutocastDType?.ToString() ?? "off"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
