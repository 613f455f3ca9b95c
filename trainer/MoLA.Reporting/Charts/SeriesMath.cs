namespace MoLA.Reporting.Charts;

/// <summary>What is done to a metric before it is drawn: smoothing and decimation. Non-finite values are gaps.</summary>
internal static class SeriesMath
{
    /// <summary>Default weight of the smoothing EMA (as in TensorBoard's slider).</summary>
    public const double SmoothingWeight = 0.9;

    /// <summary>
    /// Exponential moving average, debiased (divided by 1 - w^n) so the first points are not pulled towards zero.
    /// A non-finite input gives NaN at its position and leaves the average as it was.
    /// </summary>
    public static double[] Ema(IReadOnlyList<double> y, double weight = SmoothingWeight)
    {
        if (weight is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(weight), weight, "must be in [0, 1)");
        var result = new double[y.Count];
        double acc = 0, norm = 0;
        for (var i = 0; i < y.Count; i++)
        {
            if (!double.IsFinite(y[i])) { result[i] = double.NaN; continue; }
            acc = acc * weight + (1 - weight) * y[i];
            norm = norm * weight + (1 - weight);
            result[i] = acc / norm;
        }
        return result;
    }

    /// <summary>
    /// At most about 2 * <paramref name="buckets"/> points: each bucket of consecutive points keeps its minimum and
    /// maximum (in their order), so spikes survive where averaging would hide them. Gaps (NaN) are kept as gaps.
    /// </summary>
    public static (double[] X, double[] Y) Decimate(IReadOnlyList<double> x, IReadOnlyList<double> y, int buckets = 600)
    {
        if (x.Count != y.Count) throw new ArgumentException($"x has {x.Count} points, y {y.Count}");
        if (x.Count <= 2 * buckets) return (x.ToArray(), y.ToArray());
        var xs = new List<double>(2 * buckets + 2);
        var ys = new List<double>(2 * buckets + 2);
        var size = (double)x.Count / buckets;
        for (var b = 0; b < buckets; b++)
        {
            int start = (int)(b * size), end = (int)Math.Min(x.Count, (b + 1) * size);
            int lo = -1, hi = -1;
            var gap = false;
            for (var i = start; i < end; i++)
            {
                if (!double.IsFinite(y[i])) { gap = true; continue; }
                if (lo < 0 || y[i] < y[lo]) lo = i;
                if (hi < 0 || y[i] > y[hi]) hi = i;
            }
            if (lo < 0) { xs.Add(x[start]); ys.Add(double.NaN); continue; }
            foreach (var i in lo == hi ? [lo] : lo < hi ? new[] { lo, hi } : [hi, lo])
            {
                xs.Add(x[i]);
                ys.Add(y[i]);
            }
            if (gap) { xs.Add(x[end - 1]); ys.Add(double.NaN); }
        }
        return (xs.ToArray(), ys.ToArray());
    }
}
