namespace MoLA.Reporting.Statistics;

/// <summary>
/// A paired comparison of A and B over the same items: the discordant counts, the accuracy difference A - B with its
/// 95% paired bootstrap percentile interval, and McNemar's exact two-sided p-value.
/// </summary>
public sealed record PairedComparison(
    int Items,            // paired items (pairs of (seed, item) when several seeds are paired seed by seed)
    int OnlyA,            // a right, b wrong   (McNemar's b)
    int OnlyB,            // a wrong, b right   (McNemar's c)
    double Difference,    // accuracy(A) - accuracy(B) over the paired items (the effect size, in [-1, 1])
    double Low, double High,   // 95% interval of the difference (paired bootstrap percentile, fixed seed)
    double PValue,        // McNemar exact two-sided (binomial on OnlyA + OnlyB discordant pairs, p = 1/2)
    string Test);         // "mcnemar-exact"
