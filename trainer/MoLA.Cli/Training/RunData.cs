using System.Text.Json;
using MoLA.Cli.Configuration;
using MoLA.Training.Data;

namespace MoLA.Cli.Training;

/// <summary>One evaluation item: its task family and both answer formats where the data has them.</summary>
/// <param name="MultipleChoice">Null for alpaca data (generation only).</param>
public sealed record EvalItem(string Task, SftExample Generation, MultipleChoiceExample? MultipleChoice);

/// <summary>The examples of a run: what trains, what evaluates.</summary>
public sealed record RunData(IReadOnlyList<SftExample> Train, IReadOnlyList<EvalItem> Eval, string TrainSource, string EvalSource)
{
    /// <summary>
    /// The built-in benchmark's generation seed: fixed, so every run (and every allocation) sees the same items; it is
    /// the seed whose test split the shipped tiny base held out of its pre-training corpus.
    /// </summary>
    public const ulong EmbeddedBenchmarkSeed = MoLA.Training.Pretraining.TinyBaseModel.BenchmarkSeed;

    /// <summary>Reads (or generates) training and evaluation data; malformed files fail here, before any training.</summary>
    public static RunData Load(TrainSettings s)
    {
        EmbeddedBenchmark? bench = null;
        EmbeddedBenchmark Bench() => bench ??= EmbeddedBenchmark.Generate(EmbeddedBenchmarkSeed, s.EmbeddedTrainPerTask, s.EmbeddedTestPerTask);

        IReadOnlyList<SftExample> train = s.Data == TrainSettings.Embedded
            ? EmbeddedTrain(Bench().Train, s.EmbeddedTrainFormat)
            : ReadFile(s.Data, s.DataFormat, "data").Select(e => e.Generation).ToList();
        if (train.Count == 0) throw new SettingException($"data: {s.Data} holds no examples");

        IReadOnlyList<EvalItem> eval = s.EvalData switch
        {
            "none" => [],
            TrainSettings.Embedded => EvalItems(Bench().Test),
            var path => ReadFile(path, "auto", "eval-data"),
        };
        if (s.EvalLimit > 0 && eval.Count > s.EvalLimit) eval = eval.Take(s.EvalLimit).ToList();
        if (s.EvalFormat != "generation" && eval.Any(e => e.MultipleChoice is null))
            throw new SettingException($"eval-format: {s.EvalFormat} needs multiple-choice data, but {s.EvalData} is alpaca (generation only)");
        return new RunData(train, eval, s.Data, s.EvalData);
    }

    /// <summary>
    /// The built-in training split as SFT examples: the generation form (worked answer, then "The answer is X."), the
    /// multiple-choice form ("The answer is X." right after the prompt, which is what multiple-choice scoring reads),
    /// or both forms of every item, each item's generation form first.
    /// </summary>
    public static List<SftExample> EmbeddedTrain(BenchmarkSplit split, string format) => format switch
    {
        "generation" => split.GenerationExamples.ToList(),
        "multiple-choice" => split.MultipleChoiceExamples.Select(m => m.ToSft()).ToList(),
        "both" => split.Items.SelectMany(i => new[] { i.Generation, i.MultipleChoice.ToSft() }).ToList(),
        _ => throw new SettingException($"embedded-train-format: unknown format '{format}'"),
    };

    /// <summary>
    /// The built-in benchmark's test split as generated next to <paramref name="trainPerTask"/> training items per
    /// family (each family's stream draws its training items first, so the test items depend on that count too).
    /// </summary>
    public static IReadOnlyList<EvalItem> EmbeddedTest(int trainPerTask, int testPerTask) =>
        EvalItems(EmbeddedBenchmark.Generate(EmbeddedBenchmarkSeed, trainPerTask, testPerTask).Test);

    private static List<EvalItem> EvalItems(BenchmarkSplit split) =>
        split.Items.Select(i => new EvalItem(i.Task, i.Generation, i.MultipleChoice)).ToList();

    /// <summary>Reads a JSONL file of either format (auto-detected from its first record's keys).</summary>
    public static IReadOnlyList<EvalItem> ReadFile(string path, string format, string settingName)
    {
        if (!File.Exists(path)) throw new SettingException($"{settingName}: file not found: {path}");
        if (format == "auto") format = DetectFormat(path, settingName);
        return format == "alpaca"
            ? DatasetReader.ReadAlpaca(path).Select(e => new EvalItem("all", e, null)).ToList()
            : DatasetReader.ReadMultipleChoice(path).Select(m => new EvalItem("all", m.ToSft(), m)).ToList();
    }

    private static string DetectFormat(string path, string settingName)
    {
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    if (doc.RootElement.TryGetProperty("instruction", out _)) return "alpaca";
                    if (doc.RootElement.TryGetProperty("question", out _)) return "multiple-choice";
                }
            }
            catch (JsonException e)
            {
                throw new SettingException($"{path}:{lineNumber}: not valid JSON ({e.Message})");
            }
            throw new SettingException($"{path}:{lineNumber}: cannot tell the format: expected an object with \"instruction\" (alpaca) " +
                $"or \"question\" (multiple-choice); set {(settingName == "data" ? "data-format" : settingName)} explicitly");
        }
        throw new SettingException($"{settingName}: {path} is empty");
    }
}
