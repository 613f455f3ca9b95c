namespace MoLA.Reporting.Statistics;

/// <summary>
/// Inverts the CDF of a distribution symmetric about 0 from its upper tail T(s) = P(X > s), s ≥ 0, and density:
/// solving T(s) = min(p, 1-p) keeps full relative precision in both tails, where 1 - CDF would cancel.
/// </summary>
internal static class SymmetricQuantile
{
    private const int MaxIterations = 200;

    public static double Invert(double p, Func<double, double> upperTail, Func<double, double> density)
    {
        if (!(p > 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "p must be in (0, 1)");
        if (p == 0.5) return 0;
        var q = Math.Min(p, 1 - p);
        var s = SolveUpperTail(q, upperTail, density);
        return p < 0.5 ? -s : s;
    }

    // Newton on ln T(s) = ln q (tails are close to straight in log scale, so a few steps suffice), kept inside a
    // bracket [lo, hi] with T(lo) > q ≥ T(hi) and falling back to bisection whenever a step leaves it.
    private static double SolveUpperTail(double q, Func<double, double> upperTail, Func<double, double> density)
    {
        double lo = 0, hi = 1;
        while (upperTail(hi) > q)
        {
            lo = hi;
            hi *= 2;
            if (double.IsPositiveInfinity(hi)) return double.PositiveInfinity;
        }
        var s = hi;
        var logQ = Math.Log(q);
        for (var i = 0; i < MaxIterations; i++)
        {
            var tail = upperTail(s);
            if (tail == q) return s;
            if (tail > q) lo = s; else hi = s;
            var next = double.NaN;
            var f = density(s);
            if (tail > 0 && f > 0) next = s + (Math.Log(tail) - logQ) * tail / f;
            if (!(next > lo && next < hi)) next = lo > 0 ? Math.Sqrt(lo * hi) : 0.5 * (lo + hi);
            if (Math.Abs(next - s) <= 1e-15 * next || hi - lo <= 4e-16 * hi) return next;
            s = next;
        }
        return s;
    }
}
