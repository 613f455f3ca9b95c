using MoLA.Reporting.Statistics;
using MoLA.Training.Runs;

namespace MoLA.Reporting.Sweeps;

/// <summary>
/// Mean accuracy per (dataset, format, task) over a configuration's seeds, from each trial's eval.json: with two or more
/// seeds a t-interval over the seeds' accuracies (the replicate is the unit of variation), with one seed the Wilson
/// interval over that seed's items.
/// </summary>
internal static class AccuracyAggregation
{
    public const string All = "all";

    public static IReadOnlyList<AccuracyResult> Slices(IReadOnlyList<LoadedTrial> trials)
    {
        var keys = new List<(string Dataset, string Format, string Task)>();
        var rows = new Dictionary<(string, string, string), List<AccuracyRow>>();
        foreach (var t in trials)
            foreach (var row in Evaluation(t).Rows)
            {
                var key = (row.Dataset, row.Format, row.Task);
                if (!rows.TryGetValue(key, out var list))
                {
                    rows[key] = list = [];
                    keys.Add(key);
                }
                list.Add(row); // a row repeated within one file would count as a seed: refused by CheckRows below
            }
        // A slice with no items has no accuracy to average (an empty task in one seed's test set).
        return keys.Select(k => (k, Rows: rows[k].Where(r => r.Total > 0).ToList())).Where(x => x.Rows.Count > 0)
            .Select(x => Aggregate(x.k.Dataset, x.k.Format, x.k.Task, x.Rows)).ToList();
    }

    /// <summary>The overall row of <paramref name="metric"/> of one trial; its absence is an error naming eval.json.</summary>
    public static AccuracyRow Score(LoadedTrial trial, string metric)
    {
        var matches = Evaluation(trial).Rows.Where(r => r.Format == metric && r.Task == All).ToList();
        var path = new RunDirectory(trial.Run.Directory).EvaluationPath;
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new RunDirectoryException($"{path}: no row with format '{metric}' and task '{All}' (the sweep's metric)"),
            _ => throw new RunDirectoryException($"{path}: {matches.Count} rows with format '{metric}' and task '{All}' (one dataset per trial expected)"),
        };
    }

    private static EvaluationSummary Evaluation(LoadedTrial trial)
    {
        var path = new RunDirectory(trial.Run.Directory).EvaluationPath;
        var eval = trial.Run.Evaluation ?? throw new RunDirectoryException($"{path}: not found (trial {trial.Input.Trial} succeeded but was not evaluated)");
        var seen = new HashSet<(string, string, string)>();
        foreach (var r in eval.Rows)
            if (!seen.Add((r.Dataset, r.Format, r.Task)))
                throw new RunDirectoryException($"{path}: rows repeat dataset '{r.Dataset}' format '{r.Format}' task '{r.Task}'");
        return eval;
    }

    private static AccuracyResult Aggregate(string dataset, string format, string task, IReadOnlyList<AccuracyRow> rows)
    {
        var items = rows.Sum(r => r.Total);
        if (rows.Count == 1)
        {
            // The mean is the observed accuracy (not the Wilson interval's centre, which is pulled towards 1/2).
            var w = Wilson.Proportion(rows[0].Correct, rows[0].Total);
            return new AccuracyResult(dataset, format, task, rows[0].Correct / (double)rows[0].Total, w.Low, w.High, "wilson", 1, items);
        }
        var t = MeanInterval.T(rows.Select(r => r.Correct / (double)r.Total).ToList());
        return new AccuracyResult(dataset, format, task, t.Estimate, t.Low, t.High, "t", rows.Count, items);
    }
}
