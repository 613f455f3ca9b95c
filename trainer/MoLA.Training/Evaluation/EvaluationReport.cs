using System.Text.Json;
using System.Text.Json.Serialization;

namespace MoLA.Training.Evaluation;

/// <summary>Accuracy of one task (or "overall") with its 95% Wilson interval.</summary>
public sealed record AccuracySummary(string Task, int Correct, int Total, double Accuracy, double CiLow, double CiHigh)
{
    public static AccuracySummary From(string task, int correct, int total)
    {
        var (low, high) = WilsonInterval.Compute(correct, total);
        return new AccuracySummary(task, correct, total, (double)correct / total, low, high);
    }
}

/// <summary>
/// One item's outcome. Letters are strings ("A"); <see cref="Predicted"/> is null when a generation
/// holds no "The answer is X." Generation fields (<see cref="Output"/>, <see cref="Finish"/>,
/// <see cref="NewTokens"/>) or multiple-choice ones (<see cref="Scores"/>, the ranked values per choice)
/// are null in the other mode.
/// </summary>
public sealed record ItemPrediction(
    int Index,
    string Task,
    string Gold,
    string? Predicted,
    bool Correct,
    string? Output = null,
    string? Finish = null,
    int? NewTokens = null,
    IReadOnlyList<double>? Scores = null);

/// <summary>Results of one mode ("generation" or "multiple_choice").</summary>
public sealed record ModeReport(
    string Mode,
    AccuracySummary Overall,
    IReadOnlyList<AccuracySummary> Tasks,
    IReadOnlyList<ItemPrediction> Predictions,
    double Seconds,
    double ItemsPerSecond);

/// <summary>What <see cref="Evaluator.Evaluate"/> returns; a mode that was not run is null (left out of the JSON).</summary>
public sealed record EvaluationReport(ModeReport? Generation, ModeReport? MultipleChoice)
{
    public string ToJson(bool indented = true) => EvaluationJson.Serialize(this, indented);
}

/// <summary>JSON for evaluation records: snake_case names, nulls left out, NaN/Infinity written as strings.</summary>
public static class EvaluationJson
{
    public static JsonSerializerOptions Options { get; } = Make(indented: true);
    public static JsonSerializerOptions Compact { get; } = Make(indented: false);

    public static string Serialize<T>(T value, bool indented = true) => JsonSerializer.Serialize(value, indented ? Options : Compact);

    private static JsonSerializerOptions Make(bool indented)
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            WriteIndented = indented,
        };
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }
}
