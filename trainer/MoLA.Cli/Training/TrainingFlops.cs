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
}
