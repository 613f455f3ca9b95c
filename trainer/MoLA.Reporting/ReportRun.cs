using MoLA.Training.Runs;

namespace MoLA.Reporting;

/// <summary>
/// One run as the report sees it: its files read through <see cref="RunDirectory"/> and checked against each other
/// (<see cref="RunValidation"/>). Optional files that are absent are null; metrics.jsonl may be empty.
/// </summary>
/// <param name="Label">The name shown in legends and column heads (the manifest's name, made unique by the caller).</param>
public sealed record ReportRun(
    string Directory,
    string Label,
    RunManifest Manifest,
    IReadOnlyList<StepRecord> Steps,
    ExpertLoadReport? ExpertLoad,
    EvaluationSummary? Evaluation)
{
    /// <summary>Reads and validates one run directory; errors are <see cref="RunDirectoryException"/>s naming the file.</summary>
    public static ReportRun Load(string directory)
    {
        var run = new RunDirectory(directory);
        var manifest = run.ReadManifest();
        RunValidation.CheckManifest(run.ManifestPath, manifest);
        // A run still writing may have cut its last line short; any other bad line is an error naming file:line.
        var steps = run.ReadSteps(tolerateTruncatedTail: true).OrderBy(s => s.Step).ToList();
        var load = run.ReadExpertLoad();
        if (load is not null) RunValidation.CheckExpertLoad(run.ExpertLoadPath, load, manifest.Allocation);
        var eval = run.ReadEvaluation();
        if (eval is not null) RunValidation.CheckEvaluation(run.EvaluationPath, eval);
        var label = string.IsNullOrWhiteSpace(manifest.Name) ? Path.GetFileName(run.Path) : manifest.Name;
        return new ReportRun(run.Path, label, manifest, steps, load, eval);
    }
}
