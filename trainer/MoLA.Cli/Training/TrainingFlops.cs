using MoLA.Model.Llama;
using MoLA.Model.MoeLora;

namespace MoLA.Cli.Training;

/// <summary>
/// Model FLOPs of one trained token, for MFU. Counted: every matmul of the forward (2 FLOPs per multiply-add) and
/// of the backward. Frozen base weights need only the input gradient in the backward (one GEMM, not two), so a
/// frozen matmul costs 4x its multiply-adds over forward+backward, a trainable one 6x. Attention scores and the
/// weighted sum (QK^T, AV) are counted over the full sequence (no causal halving), 6x since both operands need
/// gradients. Norms, softmax, RoPE and elementwise work are not counted (the usual MFU convention).
/// </summary>
public static class TrainingFlops
{
    public static double PerToken(LlamaModel model, IEnumerable<MoeLoraLinear> adapters, long sequenceLength)
    {
        var c = model.Config;
        double d = c.HiddenSize, q = (double)c.NumAttentionHeads * c.HeadDim, kv = (double)c.NumKeyValueHeads * c.HeadDim;
        var baseMacs = c.NumHiddenLayers * (d * q + 2 * d * kv + q * d + 3 * d * c.IntermediateSize) + d * c.VocabSize;
        var attentionMacs = c.NumHiddenLayers * 2.0 * sequenceLength * q;
        double adapterMacs = 0;
        foreach (var m in adapters)
            adapterMacs += m.NumExperts * m.InFeatures + (double)m.TopK * m.Rank * (m.InFeatures + m.OutFeatures);
        return 2 * (2 * baseMacs + 3 * attentionMacs + 3 * adapterMacs);
    }

    /// <summary>
    /// Model FLOPs utilisation of one step, one definition on every rank: the step's labelled tokens summed over all
    /// <paramref name="worldSize"/> ranks (what the trainer reports) times FLOPs per token, over the step's time and
    /// the peak of all ranks together (each rank's measured GEMM peak, <paramref name="peakGflops"/>, times the world
    /// size). Labelled tokens, not padded positions: padding and unlabelled prompt tokens count as no useful work.
    /// </summary>
    public static double Mfu(long tokens, double flopsPerToken, double seconds, double peakGflops, int worldSize) =>
        tokens * flopsPerToken / Math.Max(seconds, 1e-9) / (peakGflops * 1e9 * worldSize);
}
