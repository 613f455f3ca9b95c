namespace MoLA.Reporting.Statistics;

/// <summary>
/// The regularized incomplete beta function I_x(a, b): the Student t and binomial tails. Evaluated by its continued
/// fraction (modified Lentz), on the side of x where the fraction converges fast, to about 1e-14 relative.
/// </summary>
internal static class IncompleteBeta
{
    private const double Epsilon = 1e-15;
    private const double Tiny = 1e-300; // Lentz's guard against a zero denominator
    private const int MaxIterations = 100_000;

    /// <summary>I_x(a, b); <paramref name="oneMinusX"/> is 1 - x computed by the caller without cancellation.</summary>
    public static double Regularized(double a, double b, double x, double oneMinusX)
    {
        if (!(a > 0) || !(b > 0)) throw new ArgumentOutOfRangeException(a > 0 ? nameof(b) : nameof(a), "the incomplete beta needs a > 0 and b > 0");
        if (!(x >= 0 && x <= 1)) throw new ArgumentOutOfRangeException(nameof(x), x, "x must be in [0, 1]");
        if (x == 0) return 0;
        if (oneMinusX == 0) return 1;
        var logFront = a * Math.Log(x) + b * Math.Log(oneMinusX) - LogBeta(a, b);
        // The fraction for I_x(a, b) converges fast for x < (a+1)/(a+b+2); beyond, use I_x(a, b) = 1 - I_{1-x}(b, a).
        if (x < (a + 1) / (a + b + 2))
            return Math.Exp(logFront) * ContinuedFraction(a, b, x) / a;
        return 1 - Math.Exp(logFront) * ContinuedFraction(b, a, oneMinusX) / b;
    }

    private static double LogBeta(double a, double b) => LogGamma.Of(a) + LogGamma.Of(b) - LogGamma.Of(a + b);

    private static double ContinuedFraction(double a, double b, double x)
    {
        double c = 1, d = Guard(1 - (a + b) * x / (a + 1));
        d = 1 / d;
        var h = d;
        for (var m = 1; m <= MaxIterations; m++)
        {
            var m2 = 2.0 * m;
            // Even step: d_{2m} = m(b-m)x / ((a+2m-1)(a+2m)).
            var even = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 / Guard(1 + even * d);
            c = Guard(1 + even / c);
            h *= d * c;
            // Odd step: d_{2m+1} = -(a+m)(a+b+m)x / ((a+2m)(a+2m+1)).
            var odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 / Guard(1 + odd * d);
            c = Guard(1 + odd / c);
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < Epsilon) return h;
        }
        throw new InvalidOperationException($"the incomplete beta's continued fraction did not converge (a = {a}, b = {b}, x = {x})");
    }

    private static double Guard(double v) => Math.Abs(v) < Tiny ? Tiny : v;
}
