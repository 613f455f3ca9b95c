namespace MoLA.Torch.Optim;

/// <summary>Learning rate as a function of the optimizer step (0-based: the rate used by step index i).</summary>
public interface ILrSchedule
{
    double At(long step);
}

/// <summary>Linear warm-up from 0 to the peak over warmupSteps, then linear decay to finalLr at totalSteps (MoLA's recipe; HF's get_linear_schedule_with_warmup).</summary>
public sealed class LinearWarmupDecay : ILrSchedule
{
    public double PeakLr { get; }
    public long WarmupSteps { get; }
    public long TotalSteps { get; }
    public double FinalLr { get; }

    public LinearWarmupDecay(double peakLr, long warmupSteps, long totalSteps, double finalLr = 0)
    {
        LrScheduleChecks.Validate(peakLr, warmupSteps, totalSteps, finalLr);
        (PeakLr, WarmupSteps, TotalSteps, FinalLr) = (peakLr, warmupSteps, totalSteps, finalLr);
    }

    public double At(long step)
    {
        if (step < WarmupSteps) return PeakLr * (step + 1) / WarmupSteps;
        if (step >= TotalSteps) return FinalLr;
        var decaySteps = TotalSteps - WarmupSteps;
        var progress = (double)(step - WarmupSteps) / decaySteps;
        return FinalLr + (PeakLr - FinalLr) * (1 - progress);
    }
}

/// <summary>Linear warm-up, then half-cosine decay from the peak to minLr at totalSteps.</summary>
public sealed class CosineWarmupDecay : ILrSchedule
{
    public double PeakLr { get; }
    public long WarmupSteps { get; }
    public long TotalSteps { get; }
    public double MinLr { get; }

    public CosineWarmupDecay(double peakLr, long warmupSteps, long totalSteps, double minLr = 0)
    {
        LrScheduleChecks.Validate(peakLr, warmupSteps, totalSteps, minLr);
        (PeakLr, WarmupSteps, TotalSteps, MinLr) = (peakLr, warmupSteps, totalSteps, minLr);
    }

    public double At(long step)
    {
        if (step < WarmupSteps) return PeakLr * (step + 1) / WarmupSteps;
        if (step >= TotalSteps) return MinLr;
        var progress = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);
        return MinLr + (PeakLr - MinLr) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}

internal static class LrScheduleChecks
{
    internal static void Validate(double peak, long warmup, long total, double final)
    {
        if (!(peak > 0) || double.IsInfinity(peak)) throw new ArgumentOutOfRangeException("lr", peak, "learning rate must be a finite value > 0");
        if (total <= 0) throw new ArgumentOutOfRangeException("total_steps", total, "total steps must be > 0");
        if (warmup < 0 || warmup > total) throw new ArgumentOutOfRangeException("warmup_steps", warmup, $"warm-up steps must be in [0, total_steps={total}]");
        if (!(final >= 0 && final <= peak)) throw new ArgumentOutOfRangeException("final_lr", final, $"final learning rate must be in [0, lr={peak}]");
    }
}
