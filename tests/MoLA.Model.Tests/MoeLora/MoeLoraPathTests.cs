using MoLA.Model.MoeLora;
using MoLA.Torch;
using MoLA.Torch.NN;
using static MoLA.Model.Tests.MoeLora.MoeTestSupport;

namespace MoLA.Model.Tests.MoeLora;

/// <summary>
/// The dense-gated and grouped forms against the loop oracle: outputs and all gradients. The paths compute the same
/// sums in another order, an equivalence tested in float64: the rounding difference is at most ~sqrt(n) 2^-53 times
/// the terms' magnitude (n &lt;= 4,200 terms here: ~1e-14), whatever kernels the CPU's BLAS picks, so 1e-10 holds on
/// any x86-64 CPU and still catches a missing or misweighted expert contribution (order 1e-1).
/// </summary>
public class MoeLoraPathTests
{
    private const double Tol = 1e-10;

    public static TheoryData<int, int> ExpertsAndTopK()
    {
        var data = new TheoryData<int, int>();
        foreach (var n in new[] { 1, 2, 4, 8, 16 })
            foreach (var k in new[] { 1, 2, n }.Distinct())
                data.Add(n, k);
        return data;
    }

    [Theory]
    [MemberData(nameof(ExpertsAndTopK))]
    public void AllPaths_AgreeWithLoop_InOutputsAndGradients(int experts, int topK)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed((ulong)(100 * experts + topK));
        using var layer = Layer(12, 10, experts, topK, rank: 4, dtype: DType.Float64);
        var x = torch.randn([2, 12, 12], DType.Float64);
        var upstream = torch.randn([2, 12, 10], DType.Float64);

        var loop = ForwardBackward(layer, x, upstream, MoeExecution.Loop);
        foreach (var execution in new[] { MoeExecution.DenseGated, MoeExecution.Grouped, MoeExecution.Auto })
        {
            var run = ForwardBackward(layer, x, upstream, execution);
            var what = $"N {experts} k {topK} {execution}";
            AssertClose(loop.Y, run.Y, Tol, Tol, what + " output");
            AssertClose(loop.GradX, run.GradX, Tol, Tol, what + " grad x");
            AssertClose(loop.GradA, run.GradA, Tol, Tol, what + " grad A");
            AssertClose(loop.GradB, run.GradB, Tol, Tol, what + " grad B");
            AssertClose(loop.GradRouter, run.GradRouter, Tol, Tol, what + " grad router");
        }
        // The oracle's gradients are real ones, not zeros agreeing with zeros.
        Assert.Contains(loop.GradA, v => v != 0);
        Assert.Contains(loop.GradB, v => v != 0);
        if (Math.Min(topK, experts) > 1) Assert.Contains(loop.GradRouter, v => v != 0);
    }

    [Theory]
    [InlineData(8, 2)]
    [InlineData(4, 1)]
    public void ExpertsWithoutTokens_AgreeAndGetZeroGradient(int experts, int topK)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(7);
        using var layer = Layer(6, 5, experts, topK, rank: 3, dtype: DType.Float64);
        var x = torch.randn([40, 6], DType.Float64);
        using (torch.no_grad())
        {
            // Feature 0 is always 1..2 and the last two experts' router rows are very negative on it.
            x.select(1, 0).uniform_(1, 2);
            layer.RouterWeight.narrow(0, experts - 2, 2).select(1, 0).fill_(-50);
        }
        var upstream = torch.randn([40, 5], DType.Float64);
        var loop = ForwardBackward(layer, x, upstream, MoeExecution.Loop);
        var counts = layer.LastExpertCounts!;
        Assert.Equal(0, counts[experts - 1]);
        Assert.Equal(0, counts[experts - 2]);
        Assert.Equal(40L * topK, counts.Sum());

        foreach (var execution in new[] { MoeExecution.DenseGated, MoeExecution.Grouped })
        {
            var run = ForwardBackward(layer, x, upstream, execution);
            Assert.Equal(counts, layer.LastExpertCounts);
            AssertClose(loop.Y, run.Y, Tol, Tol, $"{execution} output");
            AssertClose(loop.GradX, run.GradX, Tol, Tol, $"{execution} grad x");
            AssertClose(loop.GradA, run.GradA, Tol, Tol, $"{execution} grad A");
            AssertClose(loop.GradB, run.GradB, Tol, Tol, $"{execution} grad B");
            AssertClose(loop.GradRouter, run.GradRouter, Tol, Tol, $"{execution} grad router");
            // A rows and B columns of the unused experts get exactly zero.
            var rank = 3;
            for (var e = experts - 2; e < experts; e++)
            {
                Assert.All(run.GradA.Skip(e * rank * 6).Take(rank * 6), v => Assert.Equal(0.0, v));
                for (var o = 0; o < 5; o++)
                    Assert.All(run.GradB.Skip(o * experts * rank + e * rank).Take(rank), v => Assert.Equal(0.0, v));
            }
        }
    }

    [Theory]
    [InlineData(700, 2, 1, false)]   // 700 assignments per expert on average: 32-row chunks
    [InlineData(300, 4, 2, true)]    // every token prefers expert 0: one segment holds all tokens
    public void Grouped_LargeAndImbalancedBatches_AgreeWithLoop(int tokens, int experts, int topK, bool skewed)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed((ulong)tokens);
        using var layer = Layer(8, 6, experts, topK, rank: 3, dtype: DType.Float64);
        var x = torch.randn([tokens, 8], DType.Float64);
        if (skewed)
        {
            using var _ = torch.no_grad();
            x.select(1, 0).uniform_(1, 2);
            layer.RouterWeight.select(0, 0).select(0, 0).fill_(50);
        }
        var upstream = torch.randn([tokens, 6], DType.Float64);
        var loop = ForwardBackward(layer, x, upstream, MoeExecution.Loop);
        if (skewed) Assert.Equal(tokens, layer.LastExpertCounts![0]);
        var run = ForwardBackward(layer, x, upstream, MoeExecution.Grouped);
        AssertClose(loop.Y, run.Y, Tol, Tol, "output");
        AssertClose(loop.GradX, run.GradX, Tol, Tol, "grad x");
        AssertClose(loop.GradA, run.GradA, Tol, Tol, "grad A");
        AssertClose(loop.GradB, run.GradB, Tol, Tol, "grad B");
        AssertClose(loop.GradRouter, run.GradRouter, Tol, Tol, "grad router");
    }

    [Fact]
    public void BFloat16_RoutesInFloat32_AndStaysInBFloat16()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(19);
        using var layer = Layer(16, 8, experts: 4, topK: 2, rank: 4);
        var x = torch.randn([10, 16]);
        var expected = layer.forward(x);
        layer.to(DType.BFloat16);
        foreach (var execution in new[] { MoeExecution.Loop, MoeExecution.DenseGated, MoeExecution.Grouped })
        {
            layer.Execution = execution;
            var y = layer.forward(x.to(DType.BFloat16));
            Assert.Equal(DType.BFloat16, y.DType);
            AssertClose(expected, y, 0.1, 0.05, $"bf16 {execution}");
        }
    }

    [Fact]
    public void StepZero_OutputEqualsBaseExactly_ForEveryPath_WithDropoutOn()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        using var layer = Layer(16, 9, experts: 4, topK: 2, rank: 8, dropout: 0.05, bScale: 0);
        Assert.True(layer.training);
        var x = torch.randn([3, 7, 16]);
        var expected = Values(F.linear(x, ((Linear)layer.BaseLayer).weight));
        foreach (var execution in Enum.GetValues<MoeExecution>())
        {
            layer.Execution = execution;
            var y = layer.forward(x);
            Assert.Equal(new long[] { 3, 7, 9 }, y.Shape);
            Assert.Equal(expected, Values(y));
        }
    }

    [Fact]
    public void DenseSoftMixture_WhenTopKAtLeastN_MatchesHandFormula()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        using var layer = Layer(6, 4, experts: 3, topK: 5, rank: 2, execution: MoeExecution.Grouped);
        Assert.Equal(3, layer.TopK);
        Assert.Equal(MoeExecution.DenseGated, new MoeLoraOptions { NumExperts = 3, TopK = 5 }.Resolve(MoeExecution.Auto, 3));
        var x = torch.randn([8, 6]);
        var y = layer.forward(x);
        // h = W0 x + sum_i p_i * scaling * B_i A_i x with p = softmax over all experts.
        var p = F.softmax(F.linear(x, layer.RouterWeight), -1);
        var expected = F.linear(x, ((Linear)layer.BaseLayer).weight);
        for (var e = 0; e < 3; e++)
        {
            var (a, b) = layer.ExpertTensors(e);
            expected = expected.add(F.linear(F.linear(x, a), b).mul(p.narrow(1, e, 1)).mul(layer.Scaling));
        }
        AssertClose(expected, y, 1e-5, 1e-5, "soft mixture");
    }

    [Fact]
    public void Forward_MatchesIndependentPythonReference_OutputsAndGradients()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        const int n = 5, k = 2, r = 3, inF = 7, outF = 6, T = 13;
        using var layer = Layer(inF, outF, n, k, rank: r, dtype: DType.Float64, execution: MoeExecution.DenseGated);
        var x = torch.randn([T, inF], DType.Float64);
        var upstream = torch.randn([T, outF], DType.Float64);
        var run = ForwardBackward(layer, x, upstream, MoeExecution.DenseGated);
        var w0 = ((Linear)layer.BaseLayer).weight;
        var request = new
        {
            x = Matrix(x),
            w0 = Matrix(w0),
            router = Matrix(layer.RouterWeight),
            lora_a = Enumerable.Range(0, n).Select(e => Matrix(layer.ExpertTensors(e).A)).ToArray(),
            lora_b = Enumerable.Range(0, n).Select(e => Matrix(layer.ExpertTensors(e).B)).ToArray(),
            top_k = k,
            scaling = layer.Scaling,
            upstream = Matrix(upstream),
        };
        var reference = PythonReference(request);
        AssertClose(Flatten(reference.GetProperty("y")), run.Y, 1e-10, 1e-10, "output");
        AssertClose(Flatten(reference.GetProperty("grad_x")), run.GradX, 1e-10, 1e-10, "grad x");
        AssertClose(Flatten(reference.GetProperty("grad_router")), run.GradRouter, 1e-10, 1e-10, "grad router");
        // Python keeps per-expert [r, in] and [out, r]; ours are stacked [n*r, in] and [out, n*r].
        AssertClose(Flatten(reference.GetProperty("grad_a")), run.GradA, 1e-10, 1e-10, "grad A");
        var gradB = reference.GetProperty("grad_b");
        var stackedB = new double[outF * n * r];
        for (var e = 0; e < n; e++)
        {
            var be = Flatten(gradB[e]);
            for (var o = 0; o < outF; o++)
                for (var j = 0; j < r; j++)
                    stackedB[o * n * r + e * r + j] = be[o * r + j];
        }
        AssertClose(stackedB, run.GradB, 1e-10, 1e-10, "grad B");
        var counts = reference.GetProperty("counts").EnumerateArray().Select(c => c.GetInt64()).ToArray();
        Assert.Equal(counts, layer.LastExpertCounts);
    }

    [Fact]
    public void GradCheck_DenseAndGrouped_Float64()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(21);
        const int n = 3, k = 2, r = 2, inF = 4, outF = 3, T = 5;
        var w0 = torch.randn([outF, inF], DType.Float64);
        var inputs = new[]
        {
            torch.randn([T, inF], DType.Float64),
            torch.randn([n, inF], DType.Float64),
            torch.randn([n * r, inF], DType.Float64),
            torch.randn([outF, n * r], DType.Float64),
        };
        foreach (var execution in new[] { MoeExecution.DenseGated, MoeExecution.Grouped })
        {
            GradCheck(t =>
            {
                var routing = MoeExpertKernels.Route(t[0], t[1], k);
                var baseOut = F.linear(t[0], w0);
                return MoeExpertKernels.Run(execution, t[0], routing.Indices, routing.Weights, t[2], t[3], r, 2.0, 0, false, baseOut);
            }, inputs, [true, true, true, true]);
        }
    }

    [Fact]
    public void Routing_WeightsAreRenormalisedTopKProbabilities()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        var x = torch.randn([6, 5]);
        var wr = torch.randn([4, 5]);
        var routing = MoeExpertKernels.Route(x, wr, 2);
        var logits = Matrix(F.linear(x, wr));
        var idx = routing.Indices.ToArray<long>();
        var w = Values(routing.Weights);
        for (var t = 0; t < 6; t++)
        {
            var p = logits[t].Select(Math.Exp).ToArray();
            var order = Enumerable.Range(0, 4).OrderByDescending(e => p[e]).ToArray();
            Assert.Equal(order[0], idx[2 * t]);
            Assert.Equal(order[1], idx[2 * t + 1]);
            var sum = p[order[0]] + p[order[1]];
            Assert.Equal(p[order[0]] / sum, w[2 * t], 1e-6);
            Assert.Equal(p[order[1]] / sum, w[2 * t + 1], 1e-6);
        }
    }
}
