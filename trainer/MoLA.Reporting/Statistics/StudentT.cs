namespace MoLA.Reporting.Statistics;

/// <summary>
/// Student's t distribution with ν degrees of freedom (any real ν > 0; +∞ is the normal). Its upper tail is
/// P(T > s) = I_{ν/(ν+s²)}(ν/2, 1/2) / 2, evaluated by <see cref="IncompleteBeta"/> to about 1e-14 relative.
/// </summary>
public static class StudentT
{
    public static double Cdf(double t, double degreesOfFreedom)
    {
        if (double.IsNaN(t)) throw new ArgumentOutOfRangeException(nameof(t), t, "t must be a number");
        Validate(degreesOfFreedom);
        if (double.IsPositiveInfinity(degreesOfFreedom)) return Normal.Cdf(t);
        return t >= 0 ? 1 - UpperTail(t, degreesOfFreedom) : UpperTail(-t, degreesOfFreedom);
    }

    /// <summary>The inverse CDF: the t with Cdf(t) = p, for p in (0, 1).</summary>
    public static double Quantile(double p, double degreesOfFreedom)
    {
        if (!(p > 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "p must be in (0, 1)");
        Validate(degreesOfFreedom);
        if (double.IsPositiveInfinity(degreesOfFreedom)) return Normal.Quantile(p);
        var v = degreesOfFreedom;
        // ln of the density's constant Γ((ν+1)/2) / (Γ(ν/2) √(νπ)), once per call.
        var logConstant = LogGamma.Of((v + 1) / 2) - LogGamma.Of(v / 2) - 0.5 * Math.Log(v * Math.PI);
        return SymmetricQuantile.Invert(p, s => UpperTail(s, v), s => Math.Exp(logConstant - (v + 1) / 2 * Math.Log(1 + s * s / v)));
    }

    private static double UpperTail(double s, double v)
    {
        if (double.IsPositiveInfinity(s)) return 0;
        // x = ν/(ν+s²) and 1-x = s²/(ν+s²) written so that neither is formed by a cancelling subtraction.
        var r2 = s * s / v;
        if (double.IsPositiveInfinity(r2)) return 0; // beyond 1e154 standard errors: below any tail a caller can ask for
        return 0.5 * IncompleteBeta.Regularized(v / 2, 0.5, 1 / (1 + r2), r2 / (1 + r2));
    }

    private static void Validate(double degreesOfFreedom)
    {
        if (!(degreesOfFreedom > 0))
            throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "degreesOfFreedom must be > 0");
    }
}
