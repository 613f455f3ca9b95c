namespace MoLA.Grains;

/// <summary>Expert placement tables: contiguous by default, load-aware (LPT) from measured token counts.</summary>
public static class ExpertBalancer
{
    public static ExpertPlacementTable Contiguous(int generation, IReadOnlyList<int> expertsPerLayer, int expertParallel)
    {
        Check(expertsPerLayer, expertParallel);
        var layers = expertsPerLayer.Select(n => Enumerable.Range(0, expertParallel)
            .Select(e => Enumerable.Range(e * n / expertParallel, (e + 1) * n / expertParallel - e * n / expertParallel).ToList()).ToList()).ToList();
        return new ExpertPlacementTable(generation, "contiguous", layers);
    }

    /// <summary>
    /// Per layer, experts in decreasing token count each go to the EP rank with the least load so far (ties: lowest
    /// rank) that still has room; every rank holds floor or ceil of n/E experts, so memory stays even while the token
    /// load is balanced (Graham's LPT: within 4/3 of the optimal makespan for identical machines).
    /// </summary>
    public static ExpertPlacementTable LongestProcessingTimeFirst(int generation, IReadOnlyList<IReadOnlyList<long>> tokensPerExpert, int expertParallel)
    {
        Check(tokensPerExpert.Select(l => l.Count).ToList(), expertParallel);
        var layers = new List<List<List<int>>>();
        foreach (var tokens in tokensPerExpert)
        {
            var n = tokens.Count;
            var room = Enumerable.Range(0, expertParallel).Select(e => (e + 1) * n / expertParallel - e * n / expertParallel).ToArray();
            var load = new long[expertParallel];
            var held = Enumerable.Range(0, expertParallel).Select(_ => new List<int>()).ToList();
            foreach (var expert in Enumerable.Range(0, n).OrderByDescending(i => tokens[i]).ThenBy(i => i))
            {
                if (tokens[expert] < 0) throw new ArgumentException($"token count of expert {expert} is negative ({tokens[expert]})");
                var target = Enumerable.Range(0, expertParallel).Where(e => held[e].Count < room[e]).OrderBy(e => load[e]).ThenBy(e => e).First();
                held[target].Add(expert);
                load[target] += tokens[expert];
            }
            layers.Add(held.Select(h => h.Order().ToList()).ToList());
        }
        return new ExpertPlacementTable(generation, "load-aware", layers);
    }

    /// <summary>The largest per-rank token load over the mean, per layer (1 = perfectly even).</summary>
    public static double Imbalance(IReadOnlyList<long> tokens, IReadOnlyList<int>[] ranks)
    {
        var loads = ranks.Select(r => r.Sum(e => tokens[e])).ToList();
        var mean = loads.Average();
        return mean == 0 ? 1 : loads.Max() / mean;
    }

    private static void Check(IReadOnlyList<int> expertsPerLayer, int expertParallel)
    {
        if (expertParallel < 1) throw new ArgumentException($"expert-parallel size must be >= 1, got {expertParallel}");
        for (var l = 0; l < expertsPerLayer.Count; l++)
            if (expertsPerLayer[l] < expertParallel)
                throw new ArgumentException($"layer {l} has {expertsPerLayer[l]} experts, fewer than the {expertParallel} EP ranks");
    }
}
