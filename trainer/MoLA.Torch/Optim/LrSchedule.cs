namespace MoLA.Torch.Optim;

/// <summary>Learning rate as a function of the optimizer step (0-based: the rate used by step index i).</summary>
public interface ILrSchedule
{
    double At(long step);
}

/// <summary>Linear warm-up from 0 to the peak over WarmupSteps, then a decay to FinalLr at TotalSteps.</summary>
public abstract class WarmupDecaySchedule : ILrSchedule
{
    public double PeakLr { get; }
    public long WarmupSteps { get; }
    public long TotalSteps { get; }
    public double FinalLr { get; }

    protected WarmupDecaySchedule(double peakLr, long warmupSteps, long totalSteps, double finalLr)
    {
        if (!(peakLr > 0) || double.IsInfinity(peakLr)) throw new ArgumentOutOfRangeException("lr", peakLr, "learning rate must be a finite value > 0");
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException("total_steps", totalSteps, "total steps must be > 0");
        if (warmupSteps < 0 || warmupSteps > totalSteps) throw new ArgumentOutOfRangeException("warmup_steps", warmupSteps, $"warm-up steps must be in [0, total_steps={totalSteps}]");
        if (!(finalLr >= 0 && finalLr <= peakLr)) throw new ArgumentOutOfRangeException("final_lr", finalLr, $"final learning rate must be in [0, lr={peakLr}]");
        (PeakLr, WarmupSteps, TotalSteps, FinalLr) = (peakLr, warmupSteps, totalSteps, finalLr);
    }

    public double At(long step)
    {
        if (step < WarmupSteps) return PeakLr * (step + 1) / WarmupSteps;
        if (step >= TotalSteps) return FinalLr;
        var progress = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);
        return FinalLr + (PeakLr - FinalLr) * Remaining(progress);
    }

    /// <summary>The fraction of (peak - final) left at decay progress p in [0, 1): 1 at p = 0.</summary>
    protected abstract double Remaining(double progress);
}

/// <summary>Warm-up, then linear decay (MoLA's recipe; HF's get_linear_schedule_with_warmup).</summary>
public sealed class LinearWarmupDecay(double peakLr, long warmupSteps, long totalSteps, double finalLr = 0)
    : WarmupDecaySchedule(peakLr, warmupSteps, totalSteps, finalLr)
{
    protected override double Remaining(double progress) => 1 - progress;
}

/// <summary>Warm-up, then half-cosine decay to minLr.</summary>
public sealed class CosineWarmupDecay(double peakLr, long warmupSteps, long totalSteps, double minLr = 0)
    : WarmupDecaySchedule(peakLr, warmupSteps, totalSteps, minLr)
{
    protected override double Remaining(double progress) => 0.5 * (1 + Math.Cos(Math.PI * progress));
}
