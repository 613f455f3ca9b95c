using MoLA.Model.Analysis;
using MoLA.Torch;

namespace MoLA.Model.Tests.Analysis;

/// <summary>The matrix rows of methods.md section 4's test table.</summary>
public class EmpiricalSpectralDensityTests
{
    private static double[] ParetoQuantiles(double a, int n) =>
        Enumerable.Range(1, n).Select(j => Math.Pow(1 - (j - 0.5) / n, -1 / (a - 1))).ToArray();

    /// <summary>W = U diag(sqrt lambda) V^T with random orthonormal U (2n x n) and V (n x n).</summary>
    private static Tensor MatrixWithSpectrum(double[] lambda, ulong seed)
    {
        torch.manual_seed(seed);
        var n = lambda.Length;
        var (u, _) = torch.linalg.qr(torch.randn([2 * n, n], DType.Float64));
        var (v, _) = torch.linalg.qr(torch.randn([n, n], DType.Float64));
        var s = torch.tensor(lambda.Select(Math.Sqrt).ToArray());
        return u.mul(s).matmul(v.t());
    }

    [Theory]
    [InlineData(EsdMethod.Gram)]
    [InlineData(EsdMethod.SvdVals)]
    public void KnownSpectrumMatrixGivesReferenceAlpha(EsdMethod method)
    {
        using var scope = torch.NewDisposeScope();
        var w = MatrixWithSpectrum(ParetoQuantiles(2.5, 1024), 11);
        Assert.Equal(2.501241, EmpiricalSpectralDensity.Alpha(w, method).Alpha, 1e-4);
    }

    [Fact]
    public void BothMethodsGiveTheSameSpectrum()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var w = torch.randn([96, 40]);
        var gram = EmpiricalSpectralDensity.Eigenvalues(w, EsdMethod.Gram);
        var svd = EmpiricalSpectralDensity.Eigenvalues(w, EsdMethod.SvdVals);
        Assert.Equal(40, gram.Length);
        for (var i = 0; i < gram.Length; i++) Assert.Equal(gram[i], svd[i], gram[i] * 1e-4);
        Assert.Equal(gram, EmpiricalSpectralDensity.Eigenvalues(w.t(), EsdMethod.Gram).Select((v, i) => v).ToArray(), new ToleranceComparer(1e-9));
    }

    [Fact]
    public void GaussianMatricesAreNotHeavyTailed()
    {
        using var scope = torch.NewDisposeScope();
        var alphas = new List<double>();
        for (ulong seed = 0; seed < 20; seed++)
        {
            torch.manual_seed(100 + seed);
            alphas.Add(EmpiricalSpectralDensity.Alpha(torch.randn([512, 512], DType.Float64)).Alpha);
        }
        Assert.All(alphas, a => Assert.True(a > 3, $"alpha {a}"));
        Assert.True(alphas.Average() > 4.5, $"mean alpha {alphas.Average()}");
    }

    [Fact]
    public void RankDeficientMatrixNeedsTheZeroFilter()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        var w = torch.randn([64, 4], DType.Float64).matmul(torch.randn([4, 64], DType.Float64)); // rank 4
        var ex = Assert.Throws<HillAlphaException>(() => EmpiricalSpectralDensity.Alpha(w, EsdMethod.Gram));
        Assert.True(ex.Error is HillAlphaError.NonPositive or HillAlphaError.NoCandidate, ex.Error.ToString());
        Assert.Throws<ArgumentException>(() => EmpiricalSpectralDensity.Eigenvalues(torch.ones([3])));
    }

    private sealed class ToleranceComparer(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tol * Math.Max(1, Math.Abs(a));
        public int GetHashCode(double v) => 0;
    }
}
