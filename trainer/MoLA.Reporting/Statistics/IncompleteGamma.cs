namespace MoLA.Reporting.Statistics;

/// <summary>
/// The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a): the normal tail is Q(1/2, z²/2) / 2.
/// Series for x &lt; a + 1 (where 1 - P loses nothing, Q ≥ about 0.04 for a = 1/2), continued fraction beyond.
/// </summary>
internal static class IncompleteGamma
{
    private const double Epsilon = 1e-15;
    private const double Tiny = 1e-300;
    private const int MaxIterations = 100_000;

    public static double UpperRegularized(double a, double x)
    {
        if (!(a > 0)) throw new ArgumentOutOfRangeException(nameof(a), a, "the incomplete gamma needs a > 0");
        if (!(x >= 0)) throw new ArgumentOutOfRangeException(nameof(x), x, "x must be >= 0");
        if (x == 0) return 1;
        if (double.IsPositiveInfinity(x)) return 0;
        var logFront = -x + a * Math.Log(x) - LogGamma.Of(a);
        return x < a + 1 ? 1 - Math.Exp(logFront) * Series(a, x) : Math.Exp(logFront) * ContinuedFraction(a, x);
    }

    // P(a, x) = e^{-x} x^a / Γ(a) · Σ x^n / (a (a+1) ... (a+n)).
    private static double Series(double a, double x)
    {
        double term = 1 / a, sum = term;
        for (var n = 1; n <= MaxIterations; n++)
        {
            term *= x / (a + n);
            sum += term;
            if (Math.Abs(term) < Math.Abs(sum) * Epsilon) return sum;
        }
        throw new InvalidOperationException($"the incomplete gamma's series did not converge (a = {a}, x = {x})");
    }

    // Q(a, x) = e^{-x} x^a / Γ(a) · 1/(x+1-a- 1(1-a)/(x+3-a- 2(2-a)/(x+5-a- ...))), modified Lentz.
    private static double ContinuedFraction(double a, double x)
    {
        var b = x + 1 - a;
        var c = 1 / Tiny;
        var d = 1 / b;
        var h = d;
        for (var i = 1; i <= MaxIterations; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = an * d + b;
            d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
            c = b + an / c;
            if (Math.Abs(c) < Tiny) c = Tiny;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < Epsilon) return h;
        }
        throw new InvalidOperationException($"the incomplete gamma's continued fraction did not converge (a = {a}, x = {x})");
    }
}
