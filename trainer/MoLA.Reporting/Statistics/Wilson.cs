using MoLA.Training.Evaluation;

namespace MoLA.Reporting.Statistics;

/// <summary>A proportion (accuracy over items) with its Wilson score interval at any confidence.</summary>
public static class Wilson
{
    public static Interval Proportion(int successes, int trials, double confidence = 0.95)
    {
        if (trials <= 0) throw new ArgumentOutOfRangeException(nameof(trials), trials, "trials must be > 0");
        if (successes < 0 || successes > trials) throw new ArgumentOutOfRangeException(nameof(successes), successes, $"successes must be in [0, {trials}]");
        Confidence.Validate(confidence);
        // The training evaluator's interval, so a sweep and `mola eval` agree on the same items.
        var z = confidence == 0.95 ? WilsonInterval.Z95 : Normal.Quantile((1 + confidence) / 2);
        var (low, high) = WilsonInterval.Compute(successes, trials, z);
        return new Interval((double)successes / trials, low, high);
    }
}
