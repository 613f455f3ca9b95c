namespace MoLA.Reporting.Statistics;

/// <summary>The standard normal distribution: the z of a Wilson interval at any confidence.</summary>
internal static class Normal
{
    private static readonly double InverseSqrtTwoPi = 1 / Math.Sqrt(2 * Math.PI);

    /// <summary>P(Z > z) for z ≥ 0: Q(1/2, z²/2) / 2.</summary>
    public static double UpperTail(double z) => 0.5 * IncompleteGamma.UpperRegularized(0.5, 0.5 * z * z);

    public static double Density(double z) => InverseSqrtTwoPi * Math.Exp(-0.5 * z * z);

    public static double Cdf(double z)
    {
        if (double.IsNaN(z)) throw new ArgumentOutOfRangeException(nameof(z), z, "z must be a number");
        return z >= 0 ? 1 - UpperTail(z) : UpperTail(-z);
    }

    public static double Quantile(double p) => SymmetricQuantile.Invert(p, UpperTail, Density);
}
