using System.CommandLine;
using System.Globalization;
using MoLA.Cli.Output;
using MoLA.Model.Analysis;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola analyze --model DIR</c>: PL_Alpha_Hill of every projection of a checkpoint and the
/// per-layer quality AlphaLoRA allocates from (higher alpha = less trained = more experts).
/// </summary>
internal static class AnalyzeCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Hugging Face checkpoint directory: per-matrix and per-layer alphas", HelpName = "DIR" };
        var adapter = new Option<string?>("--adapter") { Description = "MoE-LoRA adapter directory: expert redundancy per layer and module", HelpName = "DIR" };
        var esd = new Option<string>("--esd") { Description = "gram (float64 eigenvalues, default) | svdvals (float32, the reference's route)", DefaultValueFactory = _ => "gram" };
        esd.AcceptOnlyFromAmong("gram", "svdvals");
        var svg = new Option<string?>("--svg") { Description = "also write a bar chart of the per-layer quality to FILE", HelpName = "FILE" };
        var json = CommonOptions.Json();
        var command = new Command("analyze", "Heavy-tailed spectral analysis of a checkpoint (AlphaLoRA's layer quality)") { model, adapter, esd, svg, json };
        command.SetAction(parse =>
        {
            if (parse.GetValue(adapter) is { } adapterDir)
            {
                if (parse.GetValue(model) is not null) throw new UsageException("analyze takes --model or --adapter, not both");
                return Redundancy(parse, adapterDir, parse.GetValue(svg), parse.GetValue(json));
            }
            var dir = parse.GetValue(model) ?? throw new UsageException("analyze needs --model DIR or --adapter DIR");
            var result = CheckpointAlphaAnalyzer.Analyze(dir, parse.GetValue(esd) == "gram" ? EsdMethod.Gram : EsdMethod.SvdVals);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
                Json.Write(output, new
                {
                    model = dir,
                    esd = result.Method.ToString().ToLowerInvariant(),
                    layers = result.Layers.Select(l => new
                    {
                        layer = l.Layer,
                        quality = l.Quality,
                        matrices = l.Matrices.Select(m => new { tensor = m.Tensor, shape = m.Shape, alpha = m.Alpha, xmin = m.Xmin, ks = m.KsDistance }),
                    }),
                });
            else WriteTable(output, result);
            if (parse.GetValue(svg) is { } path)
            {
                SvgBarChart.Write(path, SvgBarChart.Render($"PL_Alpha_Hill per layer ({Path.GetFileName(Path.GetFullPath(dir))})", "mean alpha (7 projections)",
                    result.Layers.Select(l => l.Layer.ToString(CultureInfo.InvariantCulture)).ToList(), result.Layers.Select(l => l.Quality).ToList()));
                if (!parse.GetValue(json)) output.WriteLine($"chart written to {path}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static int Redundancy(ParseResult parse, string dir, string? svg, bool asJson)
    {
        var rows = AdapterRedundancyAnalyzer.Analyze(dir);
        var output = parse.InvocationConfiguration.Output!;
        var byLayer = rows.GroupBy(r => r.Layer).OrderBy(g => g.Key).ToList();
        if (asJson)
            Json.Write(output, new
            {
                adapter = dir,
                definition = "mean over expert pairs i<j of ||DeltaW_i - DeltaW_j||_F, DeltaW = (alpha/r) B A",
                modules = rows.Select(r => new { layer = r.Layer, module = r.Projection.ToString().ToLowerInvariant() + "_proj", experts = r.Experts, mean_distance = r.MeanDistance }),
            });
        else
        {
            var modules = rows.Select(r => r.Projection).Distinct().ToList();
            var table = new TextTable([("layer", true), ("experts", true), .. modules.Select(m => (m.ToString().ToLowerInvariant(), true)), ("mean", true)]);
            foreach (var g in byLayer)
                table.Add([g.Key.ToString(CultureInfo.InvariantCulture), g.First().Experts.ToString(CultureInfo.InvariantCulture),
                    .. modules.Select(m => g.First(r => r.Projection == m).MeanDistance.ToString("G4", CultureInfo.InvariantCulture)),
                    g.Average(r => r.MeanDistance).ToString("G4", CultureInfo.InvariantCulture)]);
            table.Write(output);
            output.WriteLine("mean over expert pairs of ||DeltaW_i - DeltaW_j||_F (our definition; MoLA published none): larger = experts more different");
        }
        if (svg is not null)
        {
            SvgBarChart.Write(svg, SvgBarChart.Render("Expert redundancy per layer (mean pairwise distance)", "mean ||DeltaW_i - DeltaW_j||_F",
                byLayer.Select(g => g.Key.ToString(CultureInfo.InvariantCulture)).ToList(), byLayer.Select(g => g.Average(r => r.MeanDistance)).ToList()));
            if (!asJson) output.WriteLine($"chart written to {svg}");
        }
        return ExitCodes.Ok;
    }

    private static void WriteTable(TextWriter output, CheckpointAlphas result)
    {
        var names = new[] { "q", "k", "v", "o", "gate", "up", "down" };
        var table = new TextTable([("layer", true), .. names.Select(n => (n, true)), ("quality", true)]);
        foreach (var l in result.Layers)
            table.Add([l.Layer.ToString(CultureInfo.InvariantCulture), .. l.Matrices.Select(m => m.Alpha.ToString("F3", CultureInfo.InvariantCulture)),
                l.Quality.ToString("F3", CultureInfo.InvariantCulture)]);
        table.Write(output);
    }
}
