using MoLA.Reporting.Page;
using MoLA.Torch.IO;
using MoLA.Training.Runs;

namespace MoLA.Reporting;

/// <summary>What <see cref="HtmlReport.Write"/> wrote.</summary>
public sealed record ReportResult(string Path, int Runs);

/// <summary>
/// `mola report`: one self-contained HTML page (inline CSS, SVG and script, nothing fetched) for a run directory, or
/// comparing every run directory under a folder.
/// </summary>
public static class HtmlReport
{
    /// <summary>The page for <paramref name="runs"/> (one: a run report; several: a comparison).</summary>
    public static string Render(IReadOnlyList<ReportRun> runs, string source, DateTimeOffset? generated = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return ReportPage.Render(runs, source, generated ?? DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// Reads <paramref name="directory"/> (<see cref="ReportSource.Discover"/>), renders the page and writes it atomically
    /// to <paramref name="outPath"/>, by default DIR/report.html. Input errors are <see cref="RunDirectoryException"/>s
    /// naming the file; an output folder that does not exist is an <see cref="ArgumentException"/> naming it.
    /// </summary>
    public static ReportResult Write(string directory, string? outPath = null, DateTimeOffset? generated = null)
    {
        var runs = ReportSource.Discover(directory);
        var source = Path.GetFullPath(directory);
        var target = Path.GetFullPath(outPath ?? Path.Combine(source, RunFiles.Report));
        var folder = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(folder)) throw new ArgumentException($"output folder {folder} does not exist", nameof(outPath));
        AtomicFile.WriteAllText(target, Render(runs, source, generated));
        return new ReportResult(target, runs.Count);
    }
}
