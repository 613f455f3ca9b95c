namespace MoLA.Training.Evaluation;

/// <summary>
/// Overall performance and performance drop after training on domains in sequence (MoLA appendix).
/// <see cref="Op"/> = mean over d of acc[T][d]; <see cref="Pd"/> = mean over d &lt; T of (acc[T][d] - acc[d][d]),
/// negative when earlier domains were forgotten; null with a single domain (no earlier domain).
/// <see cref="Drops"/>[d] = acc[T][d] - acc[d][d] for d &lt; T. Units are those of the input (fractions or %).
/// </summary>
public sealed record ContinualLearningResult(int Domains, double Op, double? Pd, IReadOnlyList<double> FinalAccuracy, IReadOnlyList<double> Drops);

public static class ContinualLearningMetrics
{
    /// <summary>
    /// <paramref name="accuracy"/>[t][d] = accuracy on domain d after training stage t, one stage per domain
    /// (a square D x D matrix; T = D - 1 is the last stage). Entries above the diagonal (domains not trained
    /// yet) are not used and may be NaN; the last row and the diagonal must be finite.
    /// </summary>
    public static ContinualLearningResult Compute(IReadOnlyList<IReadOnlyList<double>> accuracy)
    {
        ArgumentNullException.ThrowIfNull(accuracy);
        var domains = accuracy.Count;
        if (domains == 0) throw new ArgumentException("accuracy matrix is empty: need one row per training stage", nameof(accuracy));
        for (var t = 0; t < domains; t++)
        {
            var row = accuracy[t] ?? throw new ArgumentException($"accuracy row {t} is null", nameof(accuracy));
            if (row.Count != domains)
                throw new ArgumentException(
                    $"accuracy matrix must be square (one stage per domain): row {t} has {row.Count} entries, expected {domains}", nameof(accuracy));
        }
        var last = domains - 1;
        for (var d = 0; d < domains; d++)
        {
            Finite(accuracy[last][d], last, d);
            Finite(accuracy[d][d], d, d);
        }

        var final = accuracy[last].ToArray();
        var drops = Enumerable.Range(0, last).Select(d => accuracy[last][d] - accuracy[d][d]).ToArray();
        return new ContinualLearningResult(domains, final.Average(), drops.Length == 0 ? null : drops.Average(), final, drops);
    }

    private static void Finite(double value, int t, int d)
    {
        if (!double.IsFinite(value))
            throw new ArgumentException($"accuracy[{t}][{d}] is {value}; the last stage's row and the diagonal must be finite numbers", "accuracy");
    }
}
