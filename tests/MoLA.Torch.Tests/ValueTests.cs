using MoLA.Torch.NN;

namespace MoLA.Torch.Tests;

/// <summary>Known results for the ops that have no gradient (indexing, counting, linear algebra, RNG).</summary>
public class ValueTests
{
    [Fact]
    public void TopkSortArgmax()
    {
        using var s = torch.NewDisposeScope();
        var x = torch.tensor(new float[] { 0.1f, 0.7f, 0.2f, 0.9f, 0.3f, 0.3f }, 2, 3);
        var (v, i) = x.topk(2);
        Assert.Equal(new float[] { 0.7f, 0.2f, 0.9f, 0.3f }, v.ToArray<float>());
        Assert.Equal(new long[] { 1, 2, 0, 1 }, i.ToArray<long>());
        Assert.Equal(new long[] { 1, 0 }, x.argmax(1).ToArray<long>());
        var (sv, si) = torch.tensor(new float[] { 3, 1, 2, 1 }).sort();
        Assert.Equal(new float[] { 1, 1, 2, 3 }, sv.ToArray<float>());
        Assert.Equal(new long[] { 1, 3, 2, 0 }, si.ToArray<long>()); // stable
        Assert.Equal(new long[] { 0, 2, 1, 3 }, torch.tensor(new float[] { 3, 1, 2, 1 }).argsort(descending: true).ToArray<long>());
    }

    [Fact]
    public void CountingOps()
    {
        using var s = torch.NewDisposeScope();
        var idx = torch.tensor(new long[] { 2, 0, 2, 3 });
        Assert.Equal(new long[] { 1, 0, 2, 1, 0 }, idx.bincount(minlength: 5).ToArray<long>());
        Assert.Equal(new double[] { 0.5, 0, 3.0, 1.0 }, idx.bincount(torch.tensor(new double[] { 1, 0.5, 2, 1 })).ToArray<double>());
        Assert.Equal(new long[] { 0, 0, 1, 0, 1, 0, 0, 0 }, F.one_hot(torch.tensor(new long[] { 2, 0 }), 4).ToArray<long>());
        Assert.Equal(new long[] { 1, 3, 6, 10 }, torch.tensor(new long[] { 1, 2, 3, 4 }).cumsum(0).ToArray<long>());
        Assert.Equal(new long[] { 1, 3 }, torch.tensor(new[] { false, true, false, true }).nonzero().ToArray<long>());
        Assert.Equal(new long[] { 0, 2, 4 }, torch.arange(0, 5, 2).ToArray<long>());
        Assert.Equal(new float[] { 0, 1, 1, 0, 0, 1, 0, 0, 0 }, torch.ones([3, 3]).triu(1).ToArray<float>());
        Assert.Equal(new[] { true, false, false }, torch.tensor(new[] { 1f, 2f, 3f }).lt(1.5).ToArray<bool>());
    }

    [Fact]
    public void LinearAlgebra()
    {
        using var s = torch.NewDisposeScope();
        // diag(3, 2) rotated: singular values 3, 2; symmetric [[2,1],[1,2]] has eigenvalues 1, 3.
        var c = Math.Cos(0.3); var sn = Math.Sin(0.3);
        var r = torch.tensor(new[] { c, -sn, sn, c }, 2, 2);
        var a = r.matmul(torch.tensor(new double[] { 3, 0, 0, 2 }, 2, 2));
        var sv = torch.linalg.svdvals(a).ToArray<double>();
        Assert.Equal(3.0, sv[0], 12);
        Assert.Equal(2.0, sv[1], 12);
        var ev = torch.linalg.eigvalsh(torch.tensor(new double[] { 2, 1, 1, 2 }, 2, 2)).ToArray<double>();
        Assert.Equal(1.0, ev[0], 12);
        Assert.Equal(3.0, ev[1], 12);
        var (q, _) = torch.linalg.qr(torch.randn([6, 3], DType.Float64));
        var eye = q.t().matmul(q).ToArray<double>();
        for (var i = 0; i < 3; i++)
            for (var j = 0; j < 3; j++)
                Assert.Equal(i == j ? 1.0 : 0.0, eye[i * 3 + j], 10);
    }

    [Fact]
    public void SeedsMakeRandomnessReproducible()
    {
        using var s = torch.NewDisposeScope();
        torch.manual_seed(42);
        var a = torch.randn([8]).ToArray<float>();
        var d1 = F.dropout(torch.ones([64]), 0.5, true).ToArray<float>();
        torch.manual_seed(42);
        Assert.Equal(a, torch.randn([8]).ToArray<float>());
        Assert.Equal(d1, F.dropout(torch.ones([64]), 0.5, true).ToArray<float>());
        // Dropout keeps the expectation: kept elements are scaled by 1/(1-p).
        Assert.All(d1, v => Assert.True(v == 0f || v == 2f));
    }

    [Fact]
    public void KaimingUniformBoundIsOneOverSqrtFanIn()
    {
        using var s = torch.NewDisposeScope();
        var w = init.kaiming_uniform_(torch.empty([64, 400]), Math.Sqrt(5)).ToArray<float>();
        var bound = 1 / Math.Sqrt(400);
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.True(w.Max() > 0.9 * bound && w.Min() < -0.9 * bound);
    }

    [Fact]
    public void DTypeConversionsAndBytes()
    {
        using var s = torch.NewDisposeScope();
        var x = torch.tensor(new float[] { 1.5f, -2f });
        Assert.Equal(DType.BFloat16, x.to(DType.BFloat16).DType);
        Assert.Equal(new double[] { 1.5, -2 }, x.to(DType.BFloat16).to(DType.Float64).ToArray<double>());
        Assert.Equal(BitConverter.GetBytes(1.5f).Concat(BitConverter.GetBytes(-2f)).ToArray(), x.ToBytes());
        var y = torch.from_bytes(x.ToBytes(), DType.Float32, [2, 1]);
        Assert.Equal(new long[] { 2, 1 }, y.Shape);
        Assert.Equal(-2f, y.select(0, 1).ToSingle());
        Assert.Equal(Device.CPU, x.Device);
    }
}
