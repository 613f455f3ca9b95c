using System.Globalization;
using MoLA.Cli.Output;
using MoLA.Silo;

namespace MoLA.Cli.Sweeps;

/// <summary>
/// Follows a sweep until it ends. On a terminal a block is redrawn every second: the trial counts by state, the best
/// score so far and one line per active trial (step, loss, latest evaluation). In a log, a line is printed when a trial
/// changes state or reports an evaluation.
/// </summary>
internal sealed class SweepProgress(TextWriter error, bool interactive)
{
    private readonly Dictionary<string, (string State, int Evaluations)> _seen = new(StringComparer.Ordinal);
    private int _drawn;

    public SweepView Follow(Func<SweepView> poll, TimeSpan period)
    {
        while (true)
        {
            var view = poll();
            var ended = view.State != "running";
            if (interactive && ended) Erase(); // the summary that follows says it all
            else if (interactive) Redraw(view);
            else Log(view);
            error.Flush();
            if (ended) return view;
            Thread.Sleep(period);
        }
    }

    private void Redraw(SweepView view)
    {
        var lines = new List<string> { Header(view) };
        foreach (var t in view.Trials.Where(t => t.State is "running" or "queued"))
            lines.Add("  " + TrialLine(view, t));
        if (_drawn > 0) error.Write($"\u001b[{_drawn}A");
        foreach (var line in lines) error.Write("\r\u001b[2K" + line + "\n");
        // Lines left from a taller block are cleared.
        for (var i = lines.Count; i < _drawn; i++) error.Write("\r\u001b[2K\n");
        if (_drawn > lines.Count) error.Write($"\u001b[{_drawn - lines.Count}A");
        _drawn = lines.Count;
    }

    private void Erase()
    {
        if (_drawn == 0) return;
        error.Write($"\u001b[{_drawn}A");
        for (var i = 0; i < _drawn; i++) error.Write("\r\u001b[2K\n");
        error.Write($"\u001b[{_drawn}A");
        _drawn = 0;
    }

    private void Log(SweepView view)
    {
        foreach (var t in view.Trials)
        {
            var now = (t.State, t.Evaluations.Count);
            if (_seen.TryGetValue(t.Name, out var before) && before == now) continue;
            _seen[t.Name] = now;
            if (before == default && t.State == "pending") continue;
            error.WriteLine($"  {TrialLine(view, t)}{(t.Reason is { } r && t.State is "failed" or "stopped" or "pending" ? $"  ({r})" : "")}");
        }
    }

    internal static string Header(SweepView view)
    {
        var counts = string.Join(", ", view.TrialsByState.Where(kv => kv.Value > 0).Select(kv => $"{kv.Value} {kv.Key}"));
        var best = view.BestScore is { } b ? string.Create(CultureInfo.InvariantCulture, $"  best {b:P1}") : "";
        return $"sweep {view.SweepId} ({view.Name}): {view.State}: {counts}{best}";
    }

    private static string TrialLine(SweepView view, TrialView t)
    {
        var inv = CultureInfo.InvariantCulture;
        var step = t.TotalSteps > 0 ? string.Create(inv, $"  step {t.Step}/{t.TotalSteps}") : "";
        var loss = t.Loss is { } l ? string.Create(inv, $"  loss {l:F3}") : "";
        var latest = t.Evaluations.Count > 0 && t.Evaluations[^1].Accuracy.TryGetValue(view.Metric, out var a)
            ? string.Create(inv, $"  eval@{t.Evaluations[^1].Step} {a:P1}") : "";
        return $"{t.Name} {t.Configuration} seed {t.Seed}: {t.State}{step}{loss}{latest}";
    }

    public static bool Interactive(TextWriter error) => ReferenceEquals(error, Console.Error) && ProgressDisplay.StderrIsInteractive;
}
