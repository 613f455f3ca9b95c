namespace MoLA.Reporting.Statistics;

/// <summary>The mean of replicates (e.g. one accuracy per seed) with its two-sided Student t interval.</summary>
public static class MeanInterval
{
    /// <summary>mean ± t_{(1+c)/2, n-1} · s / √n. Needs n ≥ 2: one replicate has no spread (use Wilson over items).</summary>
    public static Interval T(IReadOnlyList<double> values, double confidence = 0.95)
    {
        ArgumentNullException.ThrowIfNull(values);
        Confidence.Validate(confidence);
        if (values.Count < 2)
            throw new ArgumentException(
                $"a t-interval needs at least 2 replicates, got {values.Count}; with one seed use the Wilson interval over items", nameof(values));
        for (var i = 0; i < values.Count; i++)
            if (!double.IsFinite(values[i])) throw new ArgumentException($"values[{i}] is {values[i]}, not a finite number", nameof(values));
        var n = values.Count;
        var mean = values.Sum() / n;
        var squares = 0.0;
        foreach (var v in values) squares += (v - mean) * (v - mean);
        var standardError = Math.Sqrt(squares / (n - 1) / n);
        var half = StudentT.Quantile((1 + confidence) / 2, n - 1) * standardError;
        return new Interval(mean, mean - half, mean + half);
    }
}
