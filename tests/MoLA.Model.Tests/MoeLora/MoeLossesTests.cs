using MoLA.Model.MoeLora;
using MoLA.Torch;
using MoLA.Torch.NN;
using static MoLA.Model.Tests.MoeLora.MoeTestSupport;

namespace MoLA.Model.Tests.MoeLora;

public class MoeLossesTests
{
    [Fact]
    public void LoadBalancing_IsOne_AtPerfectBalance()
    {
        using var scope = torch.NewDisposeScope();
        // Balanced assignments (each expert chosen equally often) and arbitrary probabilities.
        var logits = torch.randn([8, 4]);
        var indices = torch.tensor(new long[] { 0, 1, 2, 3, 1, 0, 3, 2, 0, 2, 1, 3, 2, 3, 0, 1 }, 8, 2);
        Assert.Equal(1.0, MoeLosses.LoadBalancing(logits, indices).item(), 6);
        // Uniform probabilities and arbitrary assignments.
        Assert.Equal(1.0, MoeLosses.LoadBalancing(torch.zeros([5, 3]), torch.zeros([5, 1], DType.Int64)).item(), 6);
    }

    [Fact]
    public void LoadBalancing_MatchesAHandComputedCase()
    {
        using var scope = torch.NewDisposeScope();
        double[,] g = { { 2, 0, -1 }, { 0, 3, 0 }, { 1.5, 1, 0 }, { -2, 0, 4 } };
        var logits = torch.tensor(new float[] { 2, 0, -1, 0, 3, 0, 1.5f, 1, 0, -2, 0, 4 }, 4, 3);
        // Top-1 choices: rows pick 0, 1, 0, 2 -> f = [2/4, 1/4, 1/4].
        var f = new[] { 0.5, 0.25, 0.25 };
        var pbar = new double[3];
        for (var r = 0; r < 4; r++)
        {
            var z = Enumerable.Range(0, 3).Sum(e => Math.Exp(g[r, e]));
            for (var e = 0; e < 3; e++) pbar[e] += Math.Exp(g[r, e]) / z / 4;
        }
        var expected = 3 * (f[0] * pbar[0] + f[1] * pbar[1] + f[2] * pbar[2]);
        Assert.Equal(expected, MoeLosses.LoadBalancing(logits, topK: 1).item(), 6);

        // A mask drops rows 1 and 3: only rows 0 and 2 (both choose expert 0) count.
        var mask = torch.tensor(new[] { true, false, true, false });
        var pbarMasked = new double[3];
        foreach (var r in new[] { 0, 2 })
        {
            var z = Enumerable.Range(0, 3).Sum(e => Math.Exp(g[r, e]));
            for (var e = 0; e < 3; e++) pbarMasked[e] += Math.Exp(g[r, e]) / z / 2;
        }
        Assert.Equal(3 * pbarMasked[0], MoeLosses.LoadBalancing(logits, topK: 1, rowMask: mask).item(), 6);
    }

    [Fact]
    public void LoadBalancing_OfALayer_ConcatenatesItsModules_AndOnlyTheRoutersGetGradients()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(12);
        using var q = Layer(6, 5, experts: 3, topK: 2, rank: 2, name: "layers.0.q_proj");
        using var up = Layer(6, 4, experts: 3, topK: 2, rank: 2, name: "layers.0.up_proj");
        new MoeLossOptions { LoadBalancingCoefficient = 0.001 }.ConfigureRetention([q, up]);
        var x = torch.randn([7, 6]);
        q.forward(x);
        up.forward(x);
        var loss = MoeLosses.LoadBalancing([q, up]);
        var expected = MoeLosses.LoadBalancing(
            torch.cat([q.LastRouterLogits!, up.LastRouterLogits!], 0),
            torch.cat([q.LastExpertIndices!, up.LastExpertIndices!], 0));
        Assert.Equal(expected.item(), loss.item(), 6);
        loss.backward();
        Assert.Contains(Values(q.RouterWeight.grad!), v => v != 0);
        Assert.Contains(Values(up.RouterWeight.grad!), v => v != 0);
        foreach (var m in new[] { q, up })
        {
            Assert.Null(m.LoraA.grad);
            Assert.Null(m.LoraB.grad);
        }
    }

    [Fact]
    public void LoadBalancing_ChecksItsInputs()
    {
        using var scope = torch.NewDisposeScope();
        using var a = Layer(6, 5, experts: 3, topK: 2, name: "layers.4.q_proj");
        using var b = Layer(6, 5, experts: 4, topK: 2, name: "layers.4.k_proj");
        var x = torch.randn([3, 6]);
        a.forward(x);
        var missing = Assert.Throws<InvalidOperationException>(() => MoeLosses.LoadBalancing([a]));
        Assert.Contains("layers.4.q_proj", missing.Message);
        a.RetainRouterLogits = b.RetainRouterLogits = true;
        a.forward(x);
        b.forward(x);
        var mixed = Assert.Throws<ArgumentException>(() => MoeLosses.LoadBalancing([a, b]));
        Assert.Contains("layers.4.k_proj", mixed.Message);
        Assert.Throws<ArgumentException>(() => MoeLosses.LoadBalancing([a], torch.ones([4])));
    }

    [Fact]
    public void RouterZLoss_IsTheMeanSquaredLogSumExp()
    {
        using var scope = torch.NewDisposeScope();
        var rows = new[] { new double[] { 1, 2, 3 }, new double[] { 0, 0, 0 }, new double[] { -1, 5, 2 } };
        var logits = torch.tensor(rows.SelectMany(r => r.Select(v => (float)v)).ToArray(), 3, 3);
        var lse = rows.Select(r => Math.Log(r.Sum(Math.Exp))).ToArray();
        Assert.Equal(lse.Average(v => v * v), MoeLosses.RouterZLoss(logits).item(), 5);
        var mask = torch.tensor(new float[] { 1, 0, 1 });
        Assert.Equal((lse[0] * lse[0] + lse[2] * lse[2]) / 2, MoeLosses.RouterZLoss(logits, mask).item(), 5);
    }

    /// <summary>The contrastive loss of methods.md section 5 written as plain loops over host arrays.</summary>
    private static double HandContrastive(MoeLoraLinear m, double tau)
    {
        var x = Matrix(m.LastInput!);
        var idx = m.LastExpertIndices!.ToArray<long>();
        var k = (int)m.LastExpertIndices.size(1);
        var z = new List<double[]>();
        var label = new List<int>();
        for (var e = 0; e < m.NumExperts; e++)
        {
            var tokens = Enumerable.Range(0, x.Length).Where(t => Enumerable.Range(0, k).Any(j => idx[t * k + j] == e)).ToList();
            if (tokens.Count < 2) continue;
            var (a, b) = m.ExpertTensors(e);
            var am = Matrix(a);
            var bm = Matrix(b);
            foreach (var t in tokens)
            {
                var h = am.Select(row => row.Zip(x[t], (p, q) => p * q).Sum()).ToArray();
                var o = bm.Select(row => row.Zip(h, (p, q) => p * q).Sum()).ToArray();
                var norm = Math.Sqrt(o.Sum(v => v * v));
                z.Add(o.Select(v => v / norm).ToArray());
                label.Add(e);
            }
        }
        var total = 0.0;
        for (var i = 0; i < z.Count; i++)
        {
            double num = 0, den = 0;
            for (var j = 0; j < z.Count; j++)
            {
                if (i == j) continue;
                var s = Math.Exp(z[i].Zip(z[j], (p, q) => p * q).Sum() / tau);
                den += s;
                if (label[i] == label[j]) num += s;
            }
            total += -Math.Log(num / den);
        }
        return total / z.Count;
    }

    [Fact]
    public void Contrastive_MatchesAHandWrittenLoop_AndSkipsExpertsWithOneToken()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(8);
        using var m = Layer(6, 5, experts: 4, topK: 2, rank: 3, name: "layers.1.v_proj");
        m.RetainExpertInputs = true;
        var x = torch.randn([12, 6]);
        using (torch.no_grad())
        {
            // Expert 3 can only be chosen by token 0 (feature 0 negative there, positive elsewhere).
            x.select(1, 0).uniform_(1, 2);
            x.select(0, 0).select(0, 0).fill_(-1);
            m.RouterWeight.select(0, 3).select(0, 0).fill_(-50);
        }
        m.forward(x);
        Assert.Equal(1, m.LastExpertCounts![3]);
        var loss = MoeLosses.Contrastive(m, temperature: 0.1);
        Assert.Equal(HandContrastive(m, 0.1), loss.item(), 4);
        loss.backward();
        Assert.Contains(Values(m.LoraB.grad!), v => v != 0);
        Assert.Null(m.RouterWeight.grad);
    }

    [Fact]
    public void Contrastive_AtInit_IsFiniteWithFiniteGradients()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(2);
        using var m = Layer(6, 5, experts: 2, topK: 1, rank: 2, bScale: 0);
        m.RetainExpertInputs = true;
        m.forward(torch.randn([10, 6]));
        var loss = MoeLosses.Contrastive(m);
        Assert.True(double.IsFinite(loss.item()));
        loss.backward();
        Assert.All(Values(m.LoraA.grad!), v => Assert.True(double.IsFinite(v)));
        Assert.All(Values(m.LoraB.grad!), v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void Contrastive_SubsamplesAtMost32TokensPerExpert_Reproducibly()
    {
        using var scope = torch.NewDisposeScope();
        var pool = Enumerable.Range(0, 100).Select(i => (long)(3 * i)).ToList();
        var a = MoeLosses.SampleTokens(pool, 32, seed: 5);
        Assert.Equal(32, a.Length);
        Assert.Equal(32, a.Distinct().Count());
        Assert.All(a, t => Assert.Contains(t, pool));
        Assert.Equal(a.Order(), a);
        Assert.Equal(a, MoeLosses.SampleTokens(pool, 32, seed: 5));
        Assert.NotEqual(a, MoeLosses.SampleTokens(pool, 32, seed: 6));

        torch.manual_seed(4);
        using var m = Layer(6, 5, experts: 2, topK: 1, rank: 2);
        m.RetainExpertInputs = true;
        m.forward(torch.randn([200, 6]));
        Assert.All(m.LastExpertCounts!, c => Assert.True(c > 32));
        var l1 = MoeLosses.Contrastive(m, seed: 1).item();
        Assert.Equal(l1, MoeLosses.Contrastive(m, seed: 1).item());
        Assert.NotEqual(l1, MoeLosses.Contrastive(m, seed: 2).item());
        Assert.NotEqual(MoeLosses.MixSeed(1, 0, 0), MoeLosses.MixSeed(1, 1, 0));
        Assert.NotEqual(MoeLosses.MixSeed(1, 0, 0), MoeLosses.MixSeed(1, 0, 1));
    }

    [Fact]
    public void InfoNce_MatchesPythonTorch()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(6);
        var z = torch.randn([7, 4], DType.Float64);
        int[] labels = [0, 0, 1, 1, 1, 2, 2];
        var ours = MoeLosses.InfoNce(z, labels, 0.1).item();
        const string script = """
            import json, sys, torch
            req = json.load(sys.stdin)
            z = torch.nn.functional.normalize(torch.tensor(req["z"], dtype=torch.float64), dim=1)
            lab = torch.tensor(req["labels"])
            s = z @ z.T / 0.1
            eye = torch.eye(len(lab), dtype=torch.bool)
            pos = (lab[:, None] == lab[None, :]) & ~eye
            loss = -(torch.logsumexp(s.masked_fill(~pos, float("-inf")), 1) - torch.logsumexp(s.masked_fill(eye, float("-inf")), 1)).mean()
            print(json.dumps({"loss": loss.item()}))
            """;
        var reply = MoLA.TestSupport.PythonTorch.Run(script, new { z = Matrix(z), labels });
        Assert.Equal(reply.GetProperty("loss").GetDouble(), ours, 1e-9);
        Assert.Throws<ArgumentException>(() => MoeLosses.InfoNce(z, [0, 0, 1, 1, 1, 2, 3], 0.1));
    }

    [Fact]
    public void Compute_IsZeroWhenEverythingIsOff_AndWeighsWhatIsOn()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(13);
        var options = new MoeLossOptions();
        Assert.False(options.AnyEnabled);
        using var a = Layer(6, 5, experts: 3, topK: 2, rank: 2, name: "layers.0.q_proj");
        using var b = Layer(6, 5, experts: 2, topK: 1, rank: 2, name: "layers.1.q_proj");
        IReadOnlyList<IReadOnlyList<MoeLoraLinear>> layers = [[a], [b]];
        var x = torch.randn([16, 6]);
        a.forward(x);
        b.forward(x);
        var off = MoeLosses.Compute(layers, options);
        Assert.Equal(0.0, off.Total.item());
        Assert.Null(off.LoadBalancing);
        Assert.Null(off.RouterZLoss);
        Assert.Null(off.Contrastive);

        var on = new MoeLossOptions { LoadBalancingCoefficient = 0.001, RouterZLossCoefficient = 0.01, ContrastiveCoefficient = 0.1, Seed = 3 };
        on.ConfigureRetention([a, b]);
        a.forward(x);
        b.forward(x);
        var result = MoeLosses.Compute(layers, on, step: 4);
        var balance = MoeLosses.LoadBalancing([a]).item() + MoeLosses.LoadBalancing([b]).item();
        var z = MoeLosses.RouterZLoss([a]).item() + MoeLosses.RouterZLoss([b]).item();
        var cl = (MoeLosses.Contrastive(a, 0.1, 32, MoeLosses.MixSeed(3, 4, 0)).item() + MoeLosses.Contrastive(b, 0.1, 32, MoeLosses.MixSeed(3, 4, 1)).item()) / 2;
        Assert.Equal(balance, result.LoadBalancing!.item(), 5);
        Assert.Equal(z, result.RouterZLoss!.item(), 5);
        Assert.Equal(cl, result.Contrastive!.item(), 5);
        Assert.Equal(0.001 * balance + 0.01 * z + 0.1 * cl, result.Total.item(), 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => MoeLosses.Compute(layers, new MoeLossOptions { ContrastiveTemperature = 0 }));
    }
}
