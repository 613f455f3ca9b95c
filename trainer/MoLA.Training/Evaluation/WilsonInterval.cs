namespace MoLA.Training.Evaluation;

/// <summary>
/// Wilson score interval for a binomial proportion (accuracy = correct / total).
/// Not Wald (p ± z·sqrt(p(1-p)/n)): Wald collapses to a zero-width interval at 0% or 100% accuracy,
/// can leave [0, 1], and covers far less than 95% for small n or p near 0 or 1, which is exactly the
/// case of small test sets and near-perfect tiny tasks. Wilson inverts the score test instead: it is
/// the set of p with |p̂ - p| ≤ z·sqrt(p(1-p)/n), always inside [0, 1], close to nominal coverage.
/// </summary>
public static class WilsonInterval
{
    /// <summary>z for a two-sided 95% interval (the 0.975 quantile of the standard normal).</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>(low, high) for <paramref name="correct"/> successes out of <paramref name="total"/> trials.</summary>
    public static (double Low, double High) Compute(int correct, int total, double z = Z95)
    {
        if (total <= 0) throw new ArgumentOutOfRangeException(nameof(total), total, "accuracy needs at least one item (total must be > 0)");
        if (correct < 0 || correct > total) throw new ArgumentOutOfRangeException(nameof(correct), correct, $"correct must be in [0, {total}]");
        if (!(z > 0) || double.IsInfinity(z)) throw new ArgumentOutOfRangeException(nameof(z), z, "z must be a positive finite number");
        double n = total, p = correct / n, z2 = z * z;
        var denominator = 1 + z2 / n;
        var center = (p + z2 / (2 * n)) / denominator;
        var half = z / denominator * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        // Exact bounds at the edges (the formula gives them up to rounding).
        var low = correct == 0 ? 0 : Math.Max(0, center - half);
        var high = correct == total ? 1 : Math.Min(1, center + half);
        return (low, high);
    }
}
