using System.CommandLine;
using System.Globalization;
using MoLA.Cli.Output;
using MoLA.Model.Allocation;
using MoLA.Model.Analysis;
using MoLA.Model.Llama;
using MoLA.Model.ParameterCounting;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola allocate</c>: per-layer expert counts, top-k and ranks from a strategy: uniform, a MoLA
/// block shape ("2468"), or AlphaLoRA (from a checkpoint's spectra, or what-if layer qualities).
/// </summary>
internal static class AllocateCommand
{
    public static Command Create()
    {
        var strategy = new Option<string>("--strategy") { Description = "uniform | mola | alphalora", DefaultValueFactory = _ => "mola" };
        strategy.AcceptOnlyFromAmong("uniform", "mola", "alphalora");
        var shape = new Option<string?>("--shape") { Description = "MoLA shape: one digit per block (2468, 8228), or comma lists", HelpName = "SHAPE" };
        var layers = new Option<int?>("--layers") { Description = "number of decoder layers (default: from --model, else 32)", HelpName = "N" };
        var experts = new Option<int>("--experts") { Description = "experts per layer for --strategy uniform", DefaultValueFactory = _ => 5, HelpName = "N" };
        var topK = new Option<string?>("--top-k") { Description = "top-k: one value or a per-layer/per-block list (default 2, clamped to the layer's experts with a warning)", HelpName = "K" };
        var rank = new Option<string?>("--rank") { Description = "LoRA rank: one value or a list (default 8)", HelpName = "R" };
        var budget = new Option<int?>("--budget") { Description = "AlphaLoRA: total experts over all layers", HelpName = "T" };
        var beta = new Option<double>("--beta") { Description = "AlphaLoRA: exponent on layer quality", DefaultValueFactory = _ => 2.5 };
        var rounding = new Option<string>("--rounding") { Description = "AlphaLoRA rounding: reference (the published code) | largest-remainder", DefaultValueFactory = _ => "reference" };
        rounding.AcceptOnlyFromAmong("reference", "largest-remainder");
        var minExperts = new Option<int?>("--min-experts") { Description = "AlphaLoRA: minimum experts per layer (largest-remainder default 1)", HelpName = "M" };
        var alphas = new Option<string?>("--alphas") { Description = "AlphaLoRA what-if: per-layer qualities a,b,c instead of analysing --model", HelpName = "LIST" };
        var model = new Option<string?>("--model") { Description = "Hugging Face checkpoint directory (layers, parameter count, and AlphaLoRA's spectra)", HelpName = "DIR" };
        var esd = new Option<string>("--esd") { Description = "AlphaLoRA spectra: gram (float64 eigenvalues, default) | svdvals", DefaultValueFactory = _ => "gram" };
        esd.AcceptOnlyFromAmong("gram", "svdvals");
        var json = CommonOptions.Json();
        var command = new Command("allocate", "Compute a layer-wise expert allocation (uniform, MoLA shape, AlphaLoRA)")
        {
            strategy, shape, layers, experts, topK, rank, budget, beta, rounding, minExperts, alphas, model, esd, json,
        };
        command.SetAction(parse =>
        {
            var modelDir = parse.GetValue(model);
            var config = modelDir is null ? null : LlamaConfig.Load(modelDir);
            var allocation = Build(parse.GetValue(strategy)!, parse.GetValue(shape), parse.GetValue(layers) ?? config?.NumHiddenLayers,
                parse.GetValue(experts), parse.GetValue(topK), parse.GetValue(rank), parse.GetValue(budget), parse.GetValue(beta),
                parse.GetValue(rounding)!, parse.GetValue(minExperts), parse.GetValue(alphas), modelDir, parse.GetValue(esd)!);
            var count = config is null ? (TrainableParameterCount?)null : TrainableParameterCounter.Count(config.ToShape(), allocation);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json)) Json.Write(output, ToJson(allocation, count));
            else WriteTable(output, parse.GetValue(strategy)!, allocation, count);
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static ExpertAllocation Build(string strategy, string? shape, int? layers, int experts, string? topK, string? rank,
        int? budget, double beta, string rounding, int? minExperts, string? alphas, string? modelDir, string esd)
    {
        try
        {
            switch (strategy)
            {
                case "uniform":
                    {
                        var l = layers ?? 32;
                        var a = ExpertAllocation.Parse(experts.ToString(CultureInfo.InvariantCulture), l, topK, rank);
                        return ExpertAllocation.FromLayers(a.Experts, a.TopK, a.Ranks,
                            provenance: new AllocationProvenance(AllocationStrategies.Uniform));
                    }
                case "mola":
                    if (shape is null) throw new UsageException("--strategy mola needs --shape (e.g. --shape 2468)");
                    return ExpertAllocation.Parse(shape, layers ?? 32, topK, rank);
                default:
                    if (budget is null) throw new UsageException("--strategy alphalora needs --budget T (total experts)");
                    if ((alphas is null) == (modelDir is null))
                        throw new UsageException("--strategy alphalora needs exactly one of --model DIR (analyse its spectra) or --alphas a,b,c (what-if qualities)");
                    var options = new AlphaLoRAOptions
                    {
                        Beta = beta,
                        Rounding = rounding == "reference" ? ExpertRounding.Reference : ExpertRounding.LargestRemainder,
                        MinPerLayer = minExperts,
                    };
                    if (alphas is not null)
                    {
                        var q = ParseDoubles(alphas, "--alphas");
                        if (layers is not null && layers != q.Count)
                            throw new UsageException($"--alphas lists {q.Count} layer qualities but --layers is {layers}");
                        return AlphaLoRAAllocator.AllocateFromQualities(q, budget.Value, options);
                    }
                    var spectra = CheckpointAlphaAnalyzer.Analyze(modelDir!, esd == "gram" ? EsdMethod.Gram : EsdMethod.SvdVals);
                    return AlphaLoRAAllocator.Allocate(spectra.MatrixAlphas, budget.Value, options);
            }
        }
        catch (AllocationException e)
        {
            // ArgumentException appends " (Parameter 'x')"; the message already names the field.
            throw new UsageException(e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", ""));
        }
    }

    internal static List<double> ParseDoubles(string text, string option)
    {
        var result = new List<double>();
        var parts = text.Split(',');
        for (var i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v <= 0)
                throw new UsageException($"{option}: item {i + 1} ('{parts[i].Trim()}') is not a positive number");
            result.Add(v);
        }
        return result;
    }

    private static object ToJson(ExpertAllocation a, TrainableParameterCount? count) => new
    {
        layers = a.Layers,
        total_experts = a.TotalExperts,
        experts = a.Experts,
        top_k = a.TopK,
        ranks = a.Ranks,
        shape = a.ToShapeString(),
        provenance = a.Provenance,
        trainable_parameters = count?.Total,
        warnings = a.Warnings,
    };

    private static void WriteTable(TextWriter output, string strategy, ExpertAllocation a, TrainableParameterCount? count)
    {
        var table = new TextTable(("layer", true), ("experts", true), ("top-k", true), ("rank", true));
        for (var l = 0; l < a.Layers; l++)
            table.Add(l.ToString(CultureInfo.InvariantCulture), a.ExpertsAt(l).ToString(CultureInfo.InvariantCulture),
                a.TopKAt(l).ToString(CultureInfo.InvariantCulture), a.RankAt(l).ToString(CultureInfo.InvariantCulture));
        table.Write(output);
        output.WriteLine();
        output.WriteLine($"strategy {strategy}; {a.TotalExperts} experts over {a.Layers} layers" +
            (a.ToShapeString() is { } s ? $"; shape {s}" : ""));
        if (count is { } c) output.WriteLine($"trainable parameters: {c.Total:N0} (LoRA {c.Lora:N0}, routers {c.Router:N0})");
        foreach (var w in a.Warnings) output.WriteLine($"warning: {w}");
    }
}
