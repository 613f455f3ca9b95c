using MoLA.Training.Runs;

namespace MoLA.Reporting;

/// <summary>
/// expert_load.json folded to one row per layer: each expert's tokens summed over the layer's modules, and its share
/// of the layer's total. Rows have the layer's own expert count; a layer with no tokens has NaN shares.
/// </summary>
internal sealed record ExpertLoadGrid(long[][] Tokens, double[][] Shares, int Modules)
{
    public static ExpertLoadGrid From(ExpertLoadReport load, int[] expertsPerLayer) => From([load], expertsPerLayer);

    /// <summary>Several runs of one allocation (a sweep configuration's seeds) pooled: their tokens added up.</summary>
    public static ExpertLoadGrid From(IReadOnlyList<ExpertLoadReport> loads, int[] expertsPerLayer)
    {
        var tokens = expertsPerLayer.Select(n => new long[n]).ToArray();
        foreach (var m in loads.SelectMany(l => l.Modules))
            for (var e = 0; e < m.Tokens.Length; e++)
                tokens[m.Layer][e] += m.Tokens[e];
        var shares = tokens.Select(row =>
        {
            var total = row.Sum();
            return row.Select(t => total == 0 ? double.NaN : t / (double)total).ToArray();
        }).ToArray();
        return new ExpertLoadGrid(tokens, shares, loads.SelectMany(l => l.Modules).Select(m => (m.Layer, m.Module)).Distinct().Count());
    }

    public double MaxShare => Shares.SelectMany(r => r).Where(double.IsFinite).DefaultIfEmpty(0).Max();
}
