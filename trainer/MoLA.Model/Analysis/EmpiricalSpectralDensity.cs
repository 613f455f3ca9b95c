using MoLA.Torch;

namespace MoLA.Model.Analysis;

/// <summary>How the eigenvalues of W^T W are computed.</summary>
public enum EsdMethod
{
    /// <summary>Eigenvalues of the smaller Gram matrix (W W^T or W^T W) in float64: about 4x faster than an SVD, and equal for full-rank W.</summary>
    Gram,
    /// <summary>Squared float32 singular values (the AlphaLoRA reference's route).</summary>
    SvdVals,
}

/// <summary>
/// The empirical spectral density of a weight matrix, as HT-SR uses it: the squared singular values
/// of W ([out, in], as stored), min(out, in) of them, ascending, with no 1/N normalisation.
/// </summary>
public static class EmpiricalSpectralDensity
{
    public static double[] Eigenvalues(Tensor weight, EsdMethod method = EsdMethod.Gram)
    {
        var shape = weight.Shape;
        if (shape.Length != 2)
            throw new ArgumentException($"ESD needs a 2-D weight matrix, got shape [{string.Join(", ", shape)}]", nameof(weight));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        double[] values;
        if (method == EsdMethod.Gram)
        {
            var w = weight.to(DType.Float64);
            // The smaller Gram matrix has the same non-zero spectrum and costs min^2 * max.
            var gram = shape[0] <= shape[1] ? w.matmul(w.t()) : w.t().matmul(w);
            values = torch.linalg.eigvalsh(gram).cpu().ToArray<double>();   // ascending
            for (var i = 0; i < values.Length; i++)
                if (values[i] < 0) values[i] = 0;                       // rounding below zero
        }
        else
        {
            var sv = torch.linalg.svdvals(weight.to(DType.Float32)).to(DType.Float64).cpu().ToArray<double>();
            values = new double[sv.Length];
            for (var i = 0; i < sv.Length; i++) values[i] = sv[sv.Length - 1 - i] * sv[sv.Length - 1 - i]; // svdvals is descending
        }
        return values;
    }

    /// <summary>PL_Alpha_Hill of one weight matrix.</summary>
    public static HillAlphaResult Alpha(Tensor weight, EsdMethod method = EsdMethod.Gram, HillAlphaOptions? options = null) =>
        HillAlphaEstimator.Estimate(Eigenvalues(weight, method), options);
}
