namespace MoLA.Reporting.Page;

/// <summary>State shared by the sections of one page: the runs and a counter for unique element ids.</summary>
internal sealed class PageContext(IReadOnlyList<ReportRun> runs)
{
    private int _next;

    public IReadOnlyList<ReportRun> Runs { get; } = runs;
    public bool Comparing => Runs.Count > 1;

    /// <summary>A page-unique id ("chart-3"); run names never go into ids, so no escaping or collisions to worry about.</summary>
    public string NewId(string prefix) => $"{prefix}-{++_next}";
}
