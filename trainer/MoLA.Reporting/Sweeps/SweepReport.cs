using MoLA.Reporting.Sweeps.Page;
using MoLA.Torch.IO;

namespace MoLA.Reporting.Sweeps;

/// <summary>
/// `mola sweep report`: one self-contained HTML page for a finished sweep (inline CSS, SVG and script, nothing fetched),
/// built from the same charts as `mola report`.
/// </summary>
public static class SweepReport
{
    public const string FileName = "report.html";

    /// <summary>
    /// Renders the page for <paramref name="results"/> (re-reading the trials' run directories for their loss curves and
    /// expert load) and writes it atomically to report.html in the sweep directory; returns its path.
    /// </summary>
    public static string Write(SweepInput input, SweepResults results, DateTimeOffset? generated = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        SweepTrials.Validate(input);
        var html = SweepPage.Render(input, results, SweepTrials.Load(input), generated ?? DateTimeOffset.UtcNow);
        var dir = Path.GetFullPath(input.Directory);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, FileName);
        AtomicFile.WriteAllText(path, html);
        return path;
    }
}
