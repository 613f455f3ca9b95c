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
        var esd = new Option<string>("--esd") { Description = "gram (float64 eigenvalues, default) | svdvals (float32, the reference's route)", DefaultValueFactory = _ => "gram" };
        esd.AcceptOnlyFromAmong("gram", "svdvals");
        var svg = new Option<string?>("--svg") { Description = "also write a bar chart of the per-layer quality to FILE", HelpName = "FILE" };
        var json = CommonOptions.Json();
        var command = new Command("analyze", "Heavy-tailed spectral analysis of a checkpoint (AlphaLoRA's layer quality)") { model, esd, svg, json };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(model) ?? throw new UsageException("analyze needs --model DIR");
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
