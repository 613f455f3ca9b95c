using MoLA.Torch;

namespace MoLA.Model.Analysis;

/// <summary>
/// Expert redundancy of one MoE-LoRA module (MoLA section 6): the mean over expert pairs i &lt; j of
/// ||DeltaW_i - DeltaW_j||_F with DeltaW_i = scaling * B_i A_i. MoLA published neither code nor an
/// exact formula; this definition is ours. Larger = experts more different.
/// </summary>
public static class ExpertRedundancy
{
    /// <summary>
    /// <paramref name="loraA"/> stacks the experts' A as [N*r, in] (expert i = rows i*r..), <paramref name="loraB"/>
    /// stacks B as [out, N*r]. Never forms a dense DeltaW: with Ga = A A^T and Gb = B^T B ([N*r, N*r]),
    /// &lt;B_i A_i, B_j A_j&gt;_F = trace(B_i^T B_j A_j A_i^T) = sum of block (i, j) of Gb * Ga (element-wise),
    /// so ||DeltaW_i - DeltaW_j||^2 = s^2 (M_ii + M_jj - 2 M_ij) with M the block sums.
    /// </summary>
    public static double MeanPairwiseDistance(Tensor loraA, Tensor loraB, int experts, double scaling)
    {
        var m = InnerProducts(loraA, loraB, experts);
        if (experts < 2) return 0;
        double total = 0;
        var pairs = 0;
        for (var i = 0; i < experts; i++)
            for (var j = i + 1; j < experts; j++)
            {
                var sq = m[i, i] + m[j, j] - 2 * m[i, j];
                total += scaling * Math.Sqrt(Math.Max(0, sq));
                pairs++;
            }
        return total / pairs;
    }

    /// <summary>M[i, j] = &lt;B_i A_i, B_j A_j&gt;_F (unscaled), in float64.</summary>
    public static double[,] InnerProducts(Tensor loraA, Tensor loraB, int experts)
    {
        if (experts < 1) throw new ArgumentOutOfRangeException(nameof(experts), experts, "expert count must be >= 1");
        var a = loraA.Shape;
        var b = loraB.Shape;
        if (a.Length != 2 || b.Length != 2 || a[0] != b[1] || a[0] % experts != 0)
            throw new ArgumentException(
                $"redundancy: A [{string.Join(", ", a)}] and B [{string.Join(", ", b)}] are not {experts} stacked experts (A [N*r, in], B [out, N*r])");
        var rank = a[0] / experts;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var a64 = loraA.to(DType.Float64);
        var b64 = loraB.to(DType.Float64);
        var blocks = b64.t().matmul(b64).mul(a64.matmul(a64.t()))          // [N*r, N*r]
            .view(experts, rank, experts, rank).sum([1, 3]);               // [N, N]
        var flat = blocks.ToArray<double>();
        var result = new double[experts, experts];
        for (var i = 0; i < experts; i++)
            for (var j = 0; j < experts; j++) result[i, j] = flat[i * experts + j];
        return result;
    }
}
