using MoLA.Model.Adapters;
using MoLA.Model.ParameterCounting;
using MoLA.Safetensors;
using MoLA.Torch;
using MoLA.Torch.IO;

namespace MoLA.Model.Analysis;

/// <summary>Redundancy of one wrapped module: mean pairwise ||DeltaW_i - DeltaW_j||_F of its experts.</summary>
public sealed record ModuleRedundancy(int Layer, LlamaProjection Projection, int Experts, double MeanDistance);

/// <summary>
/// <see cref="ExpertRedundancy"/> over a saved MoE-LoRA adapter, per layer and wrapped module. Reads
/// only the adapter (no base model): one module's experts in memory at a time.
/// </summary>
public static class AdapterRedundancyAnalyzer
{
    public static IReadOnlyList<ModuleRedundancy> Analyze(string adapterDirectory)
    {
        var config = MoeLoraAdapter.ReadConfig(adapterDirectory);
        var path = Path.Combine(adapterDirectory, MoeLoraAdapter.WeightsFileName);
        using var file = SafetensorsFile.Open(path);
        var result = new List<ModuleRedundancy>();
        var scaling = config.LoraAlpha;
        for (var l = 0; l < config.Allocation.Layers; l++)
            foreach (var p in config.TargetModules)
            {
                using var scope = torch.NewDisposeScope();
                var prefix = MoeLoraAdapter.Prefix(l, p);
                var n = config.Allocation.ExpertsAt(l);
                var a = new List<Tensor>();
                var b = new List<Tensor>();
                for (var e = 0; e < n; e++)
                {
                    a.Add(Read(file, path, $"{prefix}.lora_A_{e}.weight"));
                    b.Add(Read(file, path, $"{prefix}.lora_B_{e}.weight"));
                }
                var distance = ExpertRedundancy.MeanPairwiseDistance(torch.cat(a, 0), torch.cat(b, 1), n, scaling / config.Allocation.RankAt(l));
                result.Add(new ModuleRedundancy(l, p, n, distance));
            }
        return result;
    }

    private static Tensor Read(SafetensorsFile file, string path, string name) =>
        file.TryGet(name, out var entry)
            ? SafetensorsIO.Read(file, entry, DType.Float64)
            : throw new AdapterException($"{path}: missing tensor '{name}'");
}
