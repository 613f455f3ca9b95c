using MoLA.Training.Runs;

namespace MoLA.Reporting;

/// <summary>
/// Checks what JSON deserialisation cannot: required fields present (System.Text.Json leaves a missing string null
/// whatever the annotation says), numbers in range, and expert_load.json agreeing with run.json's allocation.
/// Every error names the file and the field.
/// </summary>
internal static class RunValidation
{
    public static void CheckManifest(string path, RunManifest m)
    {
        Require(path, m.Method, "method");
        Require(path, m.BaseModel, "base_model");
        if (m.Allocation is null) throw Error(path, "allocation", "missing");
        var a = m.Allocation;
        Require(path, a.Strategy, "allocation.strategy");
        if (a.Experts is null || a.Experts.Length == 0) throw Error(path, "allocation.experts", "missing or empty (one entry per decoder layer)");
        for (var l = 0; l < a.Experts.Length; l++)
            if (a.Experts[l] < 1) throw Error(path, $"allocation.experts[{l}]", $"is {a.Experts[l]}, must be at least 1");
        CheckPerLayer(path, "allocation.top_k", a.TopK, a.Experts.Length);
        CheckPerLayer(path, "allocation.ranks", a.Ranks, a.Experts.Length);
        if (m.TrainableParameters < 0) throw Error(path, "trainable_parameters", $"is {m.TrainableParameters}, must not be negative");
        if (m.TotalSteps < 0) throw Error(path, "total_steps", $"is {m.TotalSteps}, must not be negative");
    }

    public static void CheckExpertLoad(string path, ExpertLoadReport load, AllocationSummary allocation)
    {
        if (load.Modules is null) throw Error(path, "modules", "missing");
        var seen = new HashSet<(int, string)>();
        for (var i = 0; i < load.Modules.Count; i++)
        {
            var m = load.Modules[i];
            var field = $"modules[{i}]";
            if (m is null) throw Error(path, field, "is null");
            Require(path, m.Module, field + ".module");
            if (m.Layer < 0 || m.Layer >= allocation.Experts.Length)
                throw Error(path, field + ".layer", $"is {m.Layer}, but run.json's allocation has {allocation.Experts.Length} layers");
            if (!seen.Add((m.Layer, m.Module))) throw Error(path, field, $"repeats layer {m.Layer} module '{m.Module}'");
            if (m.Tokens is null) throw Error(path, field + ".tokens", "missing");
            if (m.Tokens.Length != allocation.Experts[m.Layer])
                throw Error(path, field + ".tokens", $"has {m.Tokens.Length} counts, but run.json allocates {allocation.Experts[m.Layer]} experts to layer {m.Layer}");
            for (var e = 0; e < m.Tokens.Length; e++)
                if (m.Tokens[e] < 0) throw Error(path, $"{field}.tokens[{e}]", $"is {m.Tokens[e]}, must not be negative");
        }
    }

    public static void CheckEvaluation(string path, EvaluationSummary eval)
    {
        if (eval.Rows is null) throw Error(path, "rows", "missing");
        for (var i = 0; i < eval.Rows.Count; i++)
        {
            var r = eval.Rows[i];
            var field = $"rows[{i}]";
            if (r is null) throw Error(path, field, "is null");
            Require(path, r.Dataset, field + ".dataset");
            Require(path, r.Format, field + ".format");
            Require(path, r.Task, field + ".task");
            if (r.Total < 0 || r.Correct < 0 || r.Correct > r.Total)
                throw Error(path, field, $"correct {r.Correct} of total {r.Total} is impossible");
            foreach (var (name, v) in new[] { ("accuracy", r.Accuracy), ("ci_low", r.CiLow), ("ci_high", r.CiHigh) })
                if (!(v >= 0 && v <= 1)) throw Error(path, $"{field}.{name}", $"is {v}, must be a fraction in [0, 1]");
            if (r.CiLow > r.Accuracy || r.Accuracy > r.CiHigh)
                throw Error(path, field, $"95% CI [{r.CiLow}, {r.CiHigh}] does not contain accuracy {r.Accuracy}");
        }
        if (eval.Continual is { } c)
        {
            if (c.Domains is null || c.Accuracy is null) throw Error(path, "continual", "needs domains and accuracy");
            if (c.Accuracy.Length != c.Domains.Count)
                throw Error(path, "continual.accuracy", $"has {c.Accuracy.Length} rows for {c.Domains.Count} domains");
            for (var t = 0; t < c.Accuracy.Length; t++)
                if (c.Accuracy[t] is null || c.Accuracy[t].Length != c.Domains.Count)
                    throw Error(path, $"continual.accuracy[{t}]", $"must have {c.Domains.Count} entries (one per domain)");
        }
    }

    private static void CheckPerLayer(string path, string field, int[]? values, int layers)
    {
        if (values is null || values.Length == 0) return; // optional: shown as "-"
        if (values.Length != layers) throw Error(path, field, $"has {values.Length} entries for {layers} layers");
        for (var l = 0; l < values.Length; l++)
            if (values[l] < 1) throw Error(path, $"{field}[{l}]", $"is {values[l]}, must be at least 1");
    }

    private static void Require(string path, string? value, string field)
    {
        if (value is null) throw Error(path, field, "missing");
    }

    private static RunDirectoryException Error(string path, string field, string what) => new($"{path}: {field} {what}");
}
