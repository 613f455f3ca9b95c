using MoLA.Model.Llama;
using MoLA.Model;
using MoLA.Torch.NN;
using MoLA.Torch;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Tests.Evaluation;

/// <summary>
/// Tiny LLaMA models for evaluation tests. Weights come from a private SplitMix64 stream, not from
/// libtorch's process-wide generator, so these tests neither depend on nor disturb other test classes
/// that seed it. A large init std makes logits far from uniform, so greedy choices are not near-ties.
/// </summary>
internal static class TinyLlama
{
    public static LlamaConfig Config(int maxPositions = 512, int layers = 2, int hidden = 32) =>
        new(hiddenSize: hidden, intermediateSize: hidden * 3 / 2, numHiddenLayers: layers, numAttentionHeads: 4,
            vocabSize: ByteLevelTokenizer.Size, numKeyValueHeads: 2, maxPositionEmbeddings: maxPositions);

    public static LlamaModel Build(DType dtype = DType.Float64, ulong seed = 1, int maxPositions = 512, double std = 0.3, int layers = 2, int hidden = 32)
    {
        LlamaModel model;
        using (init.skip_init()) model = new LlamaModel(Config(maxPositions, layers, hidden), dtype);
        var state = seed;
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        foreach (var (name, t) in model.BaseParameters())
        {
            var values = new double[t.NumEl];
            var isNorm = name.EndsWith("norm.weight", StringComparison.Ordinal);
            for (var i = 0; i < values.Length; i++) values[i] = isNorm ? 1.0 : std * Normal(ref state);
            t.copy_(torch.tensor(values, t.Shape).to(dtype));
        }
        return model;
    }

    private static ulong Next(ref ulong s)
    {
        var z = s += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static double Normal(ref ulong s)
    {
        // Box-Muller on two uniforms in (0, 1].
        var u1 = ((Next(ref s) >> 11) + 1) * (1.0 / (1UL << 53));
        var u2 = (Next(ref s) >> 11) * (1.0 / (1UL << 53));
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Logits of one full forward (no cache) over <paramref name="ids"/>, as doubles [position][token].</summary>
    public static double[][] FullForwardLogits(LlamaModel model, IReadOnlyList<int> ids)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var input = torch.tensor(ids.Select(i => (long)i).ToArray(), 1, ids.Count);
        var logits = model.forward(input).to(DType.Float64).contiguous().ToArray<double>();
        var v = model.Config.VocabSize;
        return Enumerable.Range(0, ids.Count).Select(p => logits.AsSpan(p * v, v).ToArray()).ToArray();
    }

    /// <summary>log_softmax of one row, computed here in double precision (max-shifted log-sum-exp).</summary>
    public static double[] LogSoftmax(double[] row)
    {
        var max = row.Max();
        var lse = max + Math.Log(row.Sum(x => Math.Exp(x - max)));
        return row.Select(x => x - lse).ToArray();
    }

    /// <summary>Index of the largest value, the first on ties.</summary>
    public static int ArgMax(double[] row)
    {
        var best = 0;
        for (var i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }
}
