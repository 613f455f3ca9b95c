using MoLA.Model.MoeLora;

namespace MoLA.Cli.Benchmarks;

/// <summary>
/// Matrix-multiply FLOPs of one SFT step (forward + backward) of a <see cref="TrainStepShape"/>,
/// T = batch x sequence tokens, 2 flops per multiply-add. A GEMM's backward costs one forward-sized
/// GEMM per input that needs a gradient:
/// <list type="bullet">
/// <item>frozen base projection [out, in]: 2 T in out forward + 2 T in out for the input gradient,
/// i.e. 4 T in out, not 6 (no weight gradient); layer 0's q, k and v see the frozen embedding
/// through a frozen norm, so their input needs no gradient: forward only;</item>
/// <item>router [N, in]: 2 T in N forward + weight gradient + input gradient (if needed);</item>
/// <item>experts: each token runs k = min(top-k, N) experts: A [r, in] forward, weight gradient and
/// input gradient (if needed), B [out, r] forward, weight gradient and the gradient of its input
/// (needed by A): 2 T k r in x (2 or 3) + 2 T k r out x 3;</item>
/// <item>attention per layer: QK^T and AV, 2 B H S^2 hd each, the full S x S square (libtorch's
/// math kernel computes it all, the causal mask only zeroes it); backward: both inputs of both
/// products: 3 x 4 B H S^2 hd;</item>
/// <item>LM head [V, D], frozen: 4 T D V.</item>
/// </list>
/// Not counted: norms, RoPE, softmax, SiLU, dropout, gating, embedding, cross-entropy, clipping,
/// AdamW. <see cref="Model"/> counts the experts at k per token (the useful work, what MFU is quoted
/// on); <see cref="Executed"/> counts what the chosen execution form multiplies: N per token for
/// dense-gated layers (the grouped form's padding rows are not counted).
/// </summary>
internal readonly record struct TrainStepFlops(double Model, double Executed)
{
    public static TrainStepFlops Of(TrainStepShape s)
    {
        double t = s.TokensPerStep;
        var allocation = s.ToAllocation();
        long d = s.Hidden, kvWidth = (long)s.KvHeads * s.HeadDim, qWidth = (long)s.Heads * s.HeadDim;
        var projections = new (long In, long Out, bool FirstAttentionInput)[]
        {
            (d, qWidth, true), (d, kvWidth, true), (d, kvWidth, true), (qWidth, d, false),
            (d, s.Ffn, false), (d, s.Ffn, false), (s.Ffn, d, false),
        };
        double model = 0, executed = 0;
        for (var layer = 0; layer < s.Layers; layer++)
        {
            var n = allocation.ExpertsAt(layer);
            var k = Math.Min(allocation.TopKAt(layer), n);
            var r = allocation.RankAt(layer);
            var options = new MoeLoraOptions { NumExperts = n, TopK = k, Rank = r };
            var dense = options.Resolve(MoeExecution.Auto, n) == MoeExecution.DenseGated;
            foreach (var (inF, outF, first) in projections)
            {
                var inputGrad = !(layer == 0 && first);
                var passesOverIn = inputGrad ? 3 : 2; // forward, weight gradient, input gradient
                var common = 2 * t * inF * outF * (inputGrad ? 2 : 1) // frozen base
                    + 2 * t * inF * n * passesOverIn;                  // router
                double Experts(int perToken) => 2 * t * perToken * r * (inF * passesOverIn + outF * 3);
                model += common + Experts(k);
                executed += common + Experts(dense ? n : k);
            }
            var attention = 3 * 4.0 * s.Batch * s.Heads * (double)s.Sequence * s.Sequence * s.HeadDim;
            model += attention;
            executed += attention;
        }
        var head = 4 * t * d * s.Vocab;
        return new TrainStepFlops(model + head, executed + head);
    }
}
