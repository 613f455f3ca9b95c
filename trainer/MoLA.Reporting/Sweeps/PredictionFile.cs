using System.Text.Json;
using MoLA.Training.Evaluation;
using MoLA.Training.Runs;

namespace MoLA.Reporting.Sweeps;

/// <summary>One evaluated item of one mode: what the paired comparison needs.</summary>
internal sealed record ItemOutcome(int Index, string Gold, bool Correct);

/// <summary>
/// Reads predictions.jsonl as RunEvaluator writes it: one line per item per mode,
/// {"mode": "generation" | "multiple_choice", "prediction": {index, task, gold, predicted, correct, ...}}.
/// Errors are <see cref="RunDirectoryException"/>s naming file:line.
/// </summary>
internal static class PredictionFile
{
    // The fields read, nullable so a missing one is seen (ItemPrediction would default it to 0 / false).
    private sealed record Item(int? Index, string? Gold, bool? Correct);
    private sealed record Line(string? Mode, Item? Prediction);

    /// <summary>The items of <paramref name="mode"/> in index order; a missing file or a repeated index is an error.</summary>
    public static IReadOnlyList<ItemOutcome> Read(string path, string mode)
    {
        if (!File.Exists(path))
            throw new RunDirectoryException($"{path}: not found (the trial's evaluation wrote no per-item predictions, needed for paired comparisons)");
        var lines = File.ReadAllLines(path);
        var items = new Dictionary<int, ItemOutcome>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            Line? line;
            try
            {
                line = JsonSerializer.Deserialize<Line>(lines[i], EvaluationJson.Compact);
            }
            catch (JsonException e)
            {
                throw new RunDirectoryException($"{path}:{i + 1}: not a prediction line ({e.Message})", e);
            }
            // System.Text.Json leaves missing fields null whatever the annotation says.
            if (line?.Mode is null) throw new RunDirectoryException($"{path}:{i + 1}: mode missing");
            if (line.Prediction is null) throw new RunDirectoryException($"{path}:{i + 1}: prediction missing");
            if (line.Mode != mode) continue;
            var p = line.Prediction;
            if (p.Index is not { } index) throw new RunDirectoryException($"{path}:{i + 1}: prediction.index missing");
            if (p.Gold is null) throw new RunDirectoryException($"{path}:{i + 1}: prediction.gold missing");
            if (p.Correct is not { } correct) throw new RunDirectoryException($"{path}:{i + 1}: prediction.correct missing");
            if (!items.TryAdd(index, new ItemOutcome(index, p.Gold, correct)))
                throw new RunDirectoryException($"{path}:{i + 1}: item {index} of mode {mode} appears twice");
        }
        if (items.Count == 0) throw new RunDirectoryException($"{path}: holds no {mode} predictions");
        return items.Values.OrderBy(o => o.Index).ToList();
    }
}
