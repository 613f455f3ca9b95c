using System.Globalization;

namespace MoLA.Grains.Sweeps;

/// <summary>
/// The ASHA stopping rule, pure so the SweepGrain can call it on every reported evaluation and a test can check it on
/// a table. At each rung a configuration is judged once at least MinSeeds of its seeds reported there (its score is
/// their mean, so one lucky seed cannot carry it); when at least Eta configurations are judged, those scoring below
/// the top 1/Eta cutoff are stopped. Stopping is final, as in Ray Tune's ASHA, and so is the cutoff's definition: the
/// (1 - 1/Eta) quantile of the judged scores with linear interpolation between order statistics (numpy's default),
/// so a score equal to the cutoff survives and the best configuration always does. Stateless: the same results give
/// the same decisions however the calls were spaced.
/// </summary>
public static class AshaRule
{
    /// <summary>The rung steps FirstRung · Eta^k that come before MaxSteps (the final evaluation is not a rung).</summary>
    public static IReadOnlyList<long> Rungs(AshaSettings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        s.Validate();
        var rungs = new List<long>();
        for (var rung = s.FirstRung; rung < s.MaxSteps; rung *= s.Eta)
        {
            rungs.Add(rung);
            if (rung > long.MaxValue / s.Eta) break; // the next rung would overflow: it is past any MaxSteps anyway
        }
        return rungs;
    }

    /// <summary>
    /// The configurations to stop now, ordered by rung then name; each is judged at the highest rung where it has
    /// MinSeeds seeds (against every configuration with MinSeeds seeds there) and returned at most once. Results at
    /// steps that are not rungs (e.g. the final evaluation) are ignored; when a seed reported twice at a rung (a
    /// retried trial) its last report counts; a NaN metric (a diverged run) makes its configuration's score -inf, so it
    /// is stopped at the first rung that judges it.
    /// </summary>
    public static IReadOnlyList<AshaDecision> Decide(AshaSettings s, IReadOnlyList<RungResult> results, IReadOnlySet<string> alreadyStopped)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(alreadyStopped);
        var rungs = Rungs(s);
        // rung -> configuration -> seed -> metric (the last report wins).
        var byRung = rungs.ToDictionary(r => r, _ => new Dictionary<string, Dictionary<int, double>>(StringComparer.Ordinal));
        for (var i = 0; i < results.Count; i++)
        {
            var r = results[i] ?? throw new ArgumentException($"results[{i}] is null", nameof(results));
            if (string.IsNullOrWhiteSpace(r.Configuration)) throw new ArgumentException($"results[{i}] has no configuration name", nameof(results));
            if (!byRung.TryGetValue(r.Step, out var configurations)) continue;
            if (!configurations.TryGetValue(r.Configuration, out var seeds)) configurations[r.Configuration] = seeds = [];
            seeds[r.Seed] = double.IsNaN(r.Metric) ? double.NegativeInfinity : r.Metric;
        }

        // Each rung's population: every configuration with at least MinSeeds seeds there, scored by their mean.
        var judgedAt = rungs.ToDictionary(r => r, r => byRung[r].Where(c => c.Value.Count >= s.MinSeeds)
            .Select(c => (Name: c.Key, Seeds: c.Value.Count, Score: c.Value.Values.Average())).ToList());
        // A configuration answers for its highest such rung only: a rung it already passed is not reopened when later
        // configurations raise that rung's cutoff (its newer evidence is judged against the configurations that got as far).
        var standing = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var rung in rungs)
            foreach (var j in judgedAt[rung]) standing[j.Name] = rung;

        var decisions = new List<AshaDecision>();
        foreach (var rung in rungs)
        {
            var judged = judgedAt[rung];
            if (judged.Count < s.Eta) continue;
            var cutoff = Cutoff(judged.Select(j => j.Score), s.Eta);
            foreach (var (name, seeds, score) in judged.OrderBy(j => j.Name, StringComparer.Ordinal))
            {
                if (standing[name] != rung || alreadyStopped.Contains(name)) continue;
                // A diverged seed makes the mean -inf: stopped whenever its rung judges, even at a -inf cutoff.
                if (!(score < cutoff || double.IsNegativeInfinity(score))) continue;
                decisions.Add(new AshaDecision(name, rung,
                    $"asha: rung {rung}: mean {Format(score)} over {seeds} seed{(seeds == 1 ? "" : "s")} below the top 1/{s.Eta} cutoff " +
                    $"{Format(cutoff)} ({judged.Count} configurations)"));
            }
        }
        return decisions;
    }

    // The (1 - 1/eta) quantile: position (m - 1)(eta - 1)/eta among the ascending scores, split into whole and
    // fractional parts in integers so that no rounding moves a tie across the cutoff.
    private static double Cutoff(IEnumerable<double> scores, int eta)
    {
        var sorted = scores.Order().ToArray();
        var position = (long)(sorted.Length - 1) * (eta - 1);
        var index = (int)(position / eta);
        var fraction = (double)(position % eta) / eta;
        // From a diverged (-inf) score, any interpolation is -inf (not -inf + inf = NaN).
        if (fraction == 0 || sorted[index + 1] == sorted[index] || double.IsNegativeInfinity(sorted[index])) return sorted[index];
        return sorted[index] + fraction * (sorted[index + 1] - sorted[index]);
    }

    private static string Format(double v) =>
        double.IsNegativeInfinity(v) ? "-inf (a diverged seed)" : v.ToString("G4", CultureInfo.InvariantCulture);
}
