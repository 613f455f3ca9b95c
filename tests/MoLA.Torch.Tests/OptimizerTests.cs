using System.Diagnostics;
using MoLA.Torch.NN;
using MoLA.Torch.Optim;
using MoLA.TestSupport;

namespace MoLA.Torch.Tests;

public class OptimizerTests
{
    private const string AdamWReference = """
import json, sys, torch
inp = json.load(sys.stdin)
p = torch.tensor(inp["p"], dtype=torch.float64, requires_grad=True)
t = torch.tensor(inp["target"], dtype=torch.float64)
opt = torch.optim.AdamW([p], lr=inp["lr"], betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
for step in range(inp["steps"]):
    opt.zero_grad()
    ((p * p * p).sum() + (p * t).sum()).backward()
    opt.step()
print(json.dumps(p.detach().tolist()))
""";

    [Fact]
    public void AdamWMatchesPyTorch()
    {
        var p0 = new[] { 0.3, -1.2, 2.0, 0.01, -0.5, 1.1 };
        var target = new[] { 1.0, 0.5, -2.0, 0.0, 3.0, -1.0 };
        const int steps = 25;
        var expected = PythonTorch.Run(AdamWReference, new { p = p0, target, lr = 0.05, steps })
            .EnumerateArray().Select(e => e.GetDouble()).ToArray();

        using var p = torch.tensor(p0).requires_grad_().DetachFromScope();
        using var t = torch.tensor(target).DetachFromScope();
        using var opt = new AdamW([p], lr: 0.05, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1);
        for (var i = 0; i < steps; i++)
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            (p * p * p).sum().add(p.mul(t).sum()).backward();
            opt.step();
        }
        var actual = p.ToArray<double>();
        for (var i = 0; i < p0.Length; i++) Assert.Equal(expected[i], actual[i], 1e-12);
        Assert.Equal(steps, opt.StepCount);
    }

    [Fact]
    public void AdamWSkipsParametersWithoutGradAndRejectsFrozen()
    {
        using var a = torch.ones([2]).requires_grad_().DetachFromScope();
        using var b = torch.ones([2]).requires_grad_().DetachFromScope();
        using var opt = new AdamW([a, b], lr: 0.1, weightDecay: 0);
        using (torch.NewDisposeScope()) a.sum().backward();
        opt.step();
        Assert.All(a.ToArray<float>(), v => Assert.Equal(0.9f, v, 5)); // first step moves by lr * sign
        Assert.All(b.ToArray<float>(), v => Assert.Equal(1f, v));
        using var frozen = torch.ones([2]).DetachFromScope();
        Assert.Contains("does not require gradients", Assert.Throws<ArgumentException>(() => new AdamW([frozen])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([a], beta1: 1.0));
    }

    [Fact]
    public void LinearWarmupThenDecay()
    {
        var s = new LinearWarmupDecay(3e-4, warmupSteps: 100, totalSteps: 1000);
        Assert.Equal(3e-6, s.At(0), 15);
        Assert.Equal(3e-4, s.At(99), 15);
        Assert.Equal(3e-4, s.At(100), 15);
        Assert.Equal(1.5e-4, s.At(550), 15);
        Assert.Equal(0, s.At(1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearWarmupDecay(1e-3, 10, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearWarmupDecay(0, 0, 5));
    }

    [Fact]
    public void CosineWarmupDecay()
    {
        var s = new CosineWarmupDecay(1.0, warmupSteps: 10, totalSteps: 110, minLr: 0.1);
        Assert.Equal(0.1, s.At(0), 12);
        Assert.Equal(1.0, s.At(10), 12);
        Assert.Equal(0.55, s.At(60), 12);
        Assert.Equal(0.1, s.At(110), 12);
    }

    [Fact]
    public void ClipGradNormScalesToMaxNorm()
    {
        using var a = torch.zeros([2]).requires_grad_().DetachFromScope();
        using var b = torch.zeros([1]).requires_grad_().DetachFromScope();
        using var c = torch.zeros([1]).requires_grad_().DetachFromScope(); // no grad: skipped
        using (torch.NewDisposeScope())
            a.mul(torch.tensor(new float[] { 3, 0 })).sum().add(b.mul(4).sum()).backward();
        var norm = GradClip.clip_grad_norm_([a, b, c], 1.0);
        Assert.Equal(5.0, norm, 5);
        using var ga = a.grad!;
        using var gb = b.grad!;
        Assert.Equal(0.6f, ga.ToArray<float>()[0], 5);
        Assert.Equal(0.8f, gb.ToArray<float>()[0], 5);
        Assert.Equal(1.0, GradClip.clip_grad_norm_([a, b], 2.0), 5); // below max: unchanged
        Assert.Equal(0.6f, a.grad!.ToArray<float>()[0], 5);
    }

    /// <summary>10,000 forward/backward/AdamW iterations must keep resident memory flat.</summary>
    [Fact]
    public void TrainingLoopMemoryStaysFlat()
    {
        torch.manual_seed(7);
        using var model = new Linear(64, 64);
        using var norm = new RMSNorm(64);
        using var opt = new AdamW(model.parameters().Concat(norm.parameters()), lr: 1e-3);
        using var x = torch.randn([16, 64]).DetachFromScope();
        using var target = torch.randint(0, 64, [16]).DetachFromScope();
        long baseline = 0;
        var proc = Process.GetCurrentProcess();
        for (var i = 0; i < 10_000; i++)
        {
            using (torch.NewDisposeScope())
            {
                opt.zero_grad();
                var loss = F.cross_entropy(norm.call(model.call(x)).silu(), target);
                loss.backward();
                GradClip.clip_grad_norm_(model.parameters(), 1.0);
                opt.step();
            }
            if (i == 1_000)
            {
                proc.Refresh();
                baseline = proc.WorkingSet64;
            }
        }
        proc.Refresh();
        var growth = proc.WorkingSet64 - baseline;
        Assert.True(growth < 16L << 20, $"resident memory grew by {growth >> 20} MiB over 9,000 iterations");
    }
}
