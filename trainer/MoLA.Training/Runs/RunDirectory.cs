using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MoLA.Torch.IO;

namespace MoLA.Training.Runs;

/// <summary>A run directory's file is missing or malformed; the message names the file (and line).</summary>
public sealed class RunDirectoryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The JSON conventions of run files.</summary>
public static class RunJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>One-line form for JSONL.</summary>
    public static JsonSerializerOptions Line { get; } = new(Options) { WriteIndented = false };
}

/// <summary>
/// Reads and writes the files of one run directory (layout: <see cref="RunFiles"/>). Whole-file writes are atomic
/// (temp file + rename), so a crash leaves the previous version; metrics.jsonl is appended and flushed per step.
/// </summary>
public sealed class RunDirectory
{
    public RunDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    public string Path { get; }
    public string ManifestPath => File(RunFiles.Manifest);
    public string StepsPath => File(RunFiles.Steps);
    public string ExpertLoadPath => File(RunFiles.ExpertLoad);
    public string EvaluationPath => File(RunFiles.Evaluation);
    public string AdapterPath => File(RunFiles.AdapterDir);
    public string ReportPath => File(RunFiles.Report);

    /// <summary>True when the directory holds a run.json.</summary>
    public bool IsRun => System.IO.File.Exists(ManifestPath);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void WriteManifest(RunManifest manifest) => WriteJson(ManifestPath, manifest);
    public void WriteExpertLoad(ExpertLoadReport load) => WriteJson(ExpertLoadPath, load);
    public void WriteEvaluation(EvaluationSummary summary) => WriteJson(EvaluationPath, summary);

    public RunManifest ReadManifest() => ReadJson<RunManifest>(ManifestPath, required: true)!;
    public ExpertLoadReport? ReadExpertLoad() => ReadJson<ExpertLoadReport>(ExpertLoadPath, required: false);
    public EvaluationSummary? ReadEvaluation() => ReadJson<EvaluationSummary>(EvaluationPath, required: false);

    /// <summary>Starts metrics.jsonl afresh, or keeps only the records up to <paramref name="keepThroughStep"/> (a resume).</summary>
    public void ResetSteps(int keepThroughStep = 0)
    {
        Directory.CreateDirectory(Path);
        var kept = keepThroughStep > 0 && System.IO.File.Exists(StepsPath)
            ? ReadSteps(tolerateTruncatedTail: true).Where(s => s.Step <= keepThroughStep).ToList()
            : [];
        AtomicFile.WriteLines(StepsPath, kept.Select(s => JsonSerializer.Serialize(s, RunJson.Line)));
    }

    /// <summary>Appends one step record and flushes it to disk.</summary>
    public void AppendStep(StepRecord step)
    {
        Directory.CreateDirectory(Path);
        using var stream = new FileStream(StepsPath, FileMode.Append, FileAccess.Write, FileShare.Read);
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(step, RunJson.Line) + "\n");
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>
    /// The step records in file order. A malformed line is an error naming the file and line, except an incomplete
    /// last line (a run killed mid-write), which is skipped when <paramref name="tolerateTruncatedTail"/>.
    /// </summary>
    public IReadOnlyList<StepRecord> ReadSteps(bool tolerateTruncatedTail = true)
    {
        if (!System.IO.File.Exists(StepsPath)) return [];
        var lines = System.IO.File.ReadAllLines(StepsPath);
        var steps = new List<StepRecord>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            try
            {
                steps.Add(JsonSerializer.Deserialize<StepRecord>(lines[i], RunJson.Line)
                    ?? throw new JsonException("null record"));
            }
            catch (JsonException e)
            {
                if (tolerateTruncatedTail && i == lines.Length - 1) break;
                throw new RunDirectoryException($"{StepsPath}:{i + 1}: not a step record ({e.Message})", e);
            }
        }
        return steps;
    }

    private static void WriteJson<T>(string path, T value)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(value, RunJson.Options) + "\n");
    }

    private static T? ReadJson<T>(string path, bool required) where T : class
    {
        if (!System.IO.File.Exists(path))
            return required ? throw new RunDirectoryException($"{path}: not found (is this a run directory written by `mola train`?)") : null;
        try
        {
            return JsonSerializer.Deserialize<T>(System.IO.File.ReadAllText(path), RunJson.Options)
                ?? throw new RunDirectoryException($"{path}: holds null, expected a {typeof(T).Name}");
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $":{line + 1}" : "";
            throw new RunDirectoryException($"{path}{where}: not a valid {typeof(T).Name} ({e.Message})", e);
        }
    }
}
