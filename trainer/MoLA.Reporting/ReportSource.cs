using MoLA.Training.Runs;

namespace MoLA.Reporting;

/// <summary>What `mola report DIR` reads: DIR itself when it is a run, else every subdirectory of DIR that is one.</summary>
public static class ReportSource
{
    /// <summary>The runs under <paramref name="directory"/>, in ordinal name order; labels are made unique.</summary>
    public static IReadOnlyList<ReportRun> Discover(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var full = Path.GetFullPath(directory);
        if (!Directory.Exists(full)) throw new RunDirectoryException($"{full}: directory not found");
        if (new RunDirectory(full).IsRun) return [ReportRun.Load(full)];

        var dirs = Directory.GetDirectories(full)
            .Where(d => new RunDirectory(d).IsRun)
            .OrderBy(d => d, StringComparer.Ordinal)
            .ToList();
        if (dirs.Count == 0)
            throw new RunDirectoryException(
                $"{full}: not a run directory (no {RunFiles.Manifest}) and none of its subdirectories holds a {RunFiles.Manifest}");
        return UniqueLabels(dirs.Select(ReportRun.Load).ToList());
    }

    /// <summary>Two runs with the same manifest name get their directory name appended so legends stay unambiguous.</summary>
    internal static IReadOnlyList<ReportRun> UniqueLabels(IReadOnlyList<ReportRun> runs)
    {
        var counts = runs.GroupBy(r => r.Label, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return runs.Select(r => counts[r.Label] > 1 ? r with { Label = $"{r.Label} ({Path.GetFileName(r.Directory)})" } : r).ToList();
    }
}
