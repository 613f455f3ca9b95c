using System.Text.RegularExpressions;
using MoLA.Model.Llama;
using MoLA.Model.ParameterCounting;
using MoLA.Torch;
using MoLA.Torch.IO;

namespace MoLA.Model.Analysis;

/// <summary>PL_Alpha_Hill of one weight matrix of a checkpoint.</summary>
public sealed record MatrixAlpha(int Layer, LlamaProjection Projection, string Tensor, long[] Shape, double Alpha, double Xmin, double KsDistance);

/// <summary>Per-layer training quality q_l = mean of its seven matrices' alphas (AlphaLoRA).</summary>
public sealed record LayerAlpha(int Layer, double Quality, IReadOnlyList<MatrixAlpha> Matrices);

public sealed record CheckpointAlphas(string Directory, EsdMethod Method, IReadOnlyList<LayerAlpha> Layers)
{
    /// <summary>Per layer, the seven matrices' alphas (the input of <see cref="Allocation.AlphaLoRAAllocator.Allocate"/>).</summary>
    public IReadOnlyList<IReadOnlyList<double>> MatrixAlphas => Layers.Select(l => (IReadOnlyList<double>)l.Matrices.Select(m => m.Alpha).ToList()).ToList();
}

/// <summary>
/// Heavy-tailed self-regularisation analysis of a Hugging Face LLaMA/Mistral checkpoint: reads the
/// seven projection weights of every decoder layer one at a time (never the whole model) and
/// estimates each one's PL_Alpha_Hill.
/// </summary>
public static partial class CheckpointAlphaAnalyzer
{
    [GeneratedRegex(@"^model\.layers\.(\d+)\.(self_attn|mlp)\.(q|k|v|o|gate|up|down)_proj\.weight$")]
    private static partial Regex ProjectionName();

    public static CheckpointAlphas Analyze(string directory, EsdMethod method = EsdMethod.Gram, HillAlphaOptions? options = null,
        IProgress<MatrixAlpha>? progress = null)
    {
        var config = LlamaConfig.Load(directory);
        var found = new Dictionary<(int, LlamaProjection), MatrixAlpha>();
        foreach (var (file, listed) in LlamaCheckpoint.WeightFiles(directory))
        {
            using var st = LlamaCheckpoint.OpenWeightFile(file);
            foreach (var entry in st.Entries)
            {
                if (listed is not null && !listed.Contains(entry.Name)) continue;
                var m = ProjectionName().Match(entry.Name);
                if (!m.Success) continue;
                var layer = int.Parse(m.Groups[1].Value);
                if (layer >= config.NumHiddenLayers)
                    throw new LlamaCheckpointException(file, entry.Name, $"{file}: tensor '{entry.Name}' names layer {layer}, but config.json has {config.NumHiddenLayers} layers");
                var projection = LlamaShape.ParseProjection(m.Groups[3].Value);
                using var scope = torch.NewDisposeScope();
                var w = SafetensorsIO.Read(st, entry, method == EsdMethod.Gram ? DType.Float64 : DType.Float32);
                HillAlphaResult r;
                try { r = EmpiricalSpectralDensity.Alpha(w, method, options); }
                catch (HillAlphaException e)
                {
                    throw new HillAlphaException(e.Error, $"{file}: tensor '{entry.Name}': {e.Message}");
                }
                var result = new MatrixAlpha(layer, projection, entry.Name, entry.Shape, r.Alpha, r.Xmin, r.KsDistance);
                found[(layer, projection)] = result;
                progress?.Report(result);
            }
        }
        var layers = new List<LayerAlpha>();
        for (var l = 0; l < config.NumHiddenLayers; l++)
        {
            var matrices = new List<MatrixAlpha>();
            foreach (var p in LlamaShape.AllProjections)
            {
                if (!found.TryGetValue((l, p), out var a))
                    throw new LlamaCheckpointException(directory, null, $"{directory}: layer {l} has no {p} projection weight (model.layers.{l}...{p.ToString().ToLowerInvariant()}_proj.weight)");
                matrices.Add(a);
            }
            layers.Add(new LayerAlpha(l, matrices.Average(a => a.Alpha), matrices));
        }
        return new CheckpointAlphas(directory, method, layers);
    }
}
