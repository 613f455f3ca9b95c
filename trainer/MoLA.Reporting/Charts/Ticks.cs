namespace MoLA.Reporting.Charts;

/// <summary>Axis ranges and "nice" tick values (steps of 1, 2 or 5 times a power of ten).</summary>
internal static class Ticks
{
    /// <summary>About <paramref name="target"/> ticks covering [min, max], and the range widened to the outer ticks.</summary>
    public static (double Min, double Max, IReadOnlyList<double> Values) Nice(double min, double max, int target = 5)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max)) (min, max) = (0, 1);
        if (max < min) (min, max) = (max, min);
        if (max - min < 1e-300 * Math.Max(1, Math.Abs(max)) || max == min)
        {
            var pad = min == 0 ? 1 : Math.Abs(min) * 0.1;
            (min, max) = (min - pad, max + pad);
        }
        var step = NiceStep((max - min) / Math.Max(1, target));
        var lo = Math.Floor(min / step) * step;
        var hi = Math.Ceiling(max / step) * step;
        var values = new List<double>();
        for (var i = 0; lo + i * step <= hi + step * 1e-9; i++)
        {
            var v = lo + i * step;
            values.Add(Math.Abs(v) < step * 1e-9 ? 0 : v); // no "-0" or "1E-17" label at zero
        }
        return (lo, hi, values);
    }

    private static double NiceStep(double raw)
    {
        var exp = Math.Floor(Math.Log10(raw));
        var pow = Math.Pow(10, exp);
        var f = raw / pow;
        var nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return nice * pow;
    }
}
