using MoLA.Torch.NN;

namespace MoLA.Torch.Tests;

public class ScopeAndModuleTests
{
    [Fact]
    public void ScopeReleasesIntermediatesAndKeepsMovedResults()
    {
        Tensor kept, inner, detached;
        using (var outer = torch.NewDisposeScope())
        {
            using (var scope = torch.NewDisposeScope())
            {
                var a = torch.ones([2]);
                inner = a.add(1);
                kept = inner.mul(3).MoveToOuterScope();
                detached = torch.zeros([1]).DetachFromScope();
                Assert.Equal(2, scope.Count);
            }
            Assert.True(inner.IsDisposed);
            Assert.False(kept.IsDisposed);
            Assert.Equal(new float[] { 6, 6 }, kept.ToArray<float>());
            Assert.Equal(1, outer.Count);
        }
        Assert.True(kept.IsDisposed);
        Assert.False(detached.IsDisposed);
        detached.Dispose();
    }

    [Fact]
    public void NoGradRestoresPreviousMode()
    {
        Assert.True(torch.is_grad_enabled());
        using (torch.no_grad())
        {
            Assert.False(torch.is_grad_enabled());
            using (torch.enable_grad()) Assert.True(torch.is_grad_enabled());
            Assert.False(torch.is_grad_enabled());
            using var s = torch.NewDisposeScope();
            var w = torch.ones([2]).requires_grad_();
            Assert.False(w.mul(2).RequiresGrad);
        }
        Assert.True(torch.is_grad_enabled());
    }

    private sealed class Block : Module<Tensor, Tensor>
    {
        public readonly Linear Proj;
        public readonly RMSNorm Norm;
        public Block()
        {
            Proj = RegisterModule("proj", new Linear(4, 3));
            Norm = RegisterModule("norm", new RMSNorm(3));
        }
        public override Tensor forward(Tensor x) => Norm.call(Proj.call(x));
    }

    [Fact]
    public void StateDictNamesAndStrictLoading()
    {
        using var m = new Block();
        Assert.Equal(new[] { "proj.weight", "proj.bias", "norm.weight" }, m.named_parameters().Select(p => p.Name));
        Assert.Equal(4 * 3 + 3 + 3, m.parameter_count());
        using var scope = torch.NewDisposeScope();
        var good = new Dictionary<string, Tensor>
        {
            ["proj.weight"] = torch.full([3, 4], 0.5),
            ["proj.bias"] = torch.zeros([3]),
            ["norm.weight"] = torch.full([3], 2.0),
        };
        m.load_state_dict(good);
        Assert.All(m.Proj.weight.ToArray<float>(), v => Assert.Equal(0.5f, v));

        var bad = new Dictionary<string, Tensor>(good) { ["proj.bias"] = torch.zeros([4]), ["extra"] = torch.zeros([1]) };
        bad.Remove("norm.weight");
        bad["proj.weight"] = torch.full([3, 4], 9.0);
        var ex = Assert.Throws<ArgumentException>(() => m.load_state_dict(bad));
        Assert.Contains("tensor 'proj.bias' has shape [4], the module expects [3]", ex.Message);
        Assert.Contains("missing tensor 'norm.weight'", ex.Message);
        Assert.Contains("unexpected tensor 'extra'", ex.Message);
        Assert.All(m.Proj.weight.ToArray<float>(), v => Assert.Equal(0.5f, v)); // untouched
    }

    [Fact]
    public void ModuleToKeepsParameterIdentity()
    {
        using var m = new Block();
        var w = m.Proj.weight;
        m.to(DType.Float64);
        Assert.Same(w, m.Proj.weight);
        Assert.Equal(DType.Float64, w.DType);
        Assert.True(w.RequiresGrad);
        using var s = torch.NewDisposeScope();
        Assert.Equal(new long[] { 2, 3 }, m.call(torch.ones([2, 4], DType.Float64)).Shape);
    }

    [Fact]
    public void SkipInitScopeNestsAndRestores()
    {
        Assert.False(init.skipping);
        using (init.skip_init())
        {
            using (init.skip_init()) Assert.True(init.skipping);
            Assert.True(init.skipping);
            using var skipped = new Linear(4, 3);   // built, shapes right, values left to a loader
            Assert.Equal(new long[] { 3, 4 }, skipped.weight.Shape);
        }
        Assert.False(init.skipping);
        using var normal = new Linear(400, 8);
        Assert.All(normal.weight.ToArray<float>(), v => Assert.InRange(v, -0.05f, 0.05f)); // Kaiming bound 1/sqrt(400)
    }

    [Fact]
    public void DropoutFollowsTrainingMode()
    {
        using var d = new Dropout(0.5);
        using var s = torch.NewDisposeScope();
        var x = torch.ones([256]);
        Assert.Contains(0f, d.call(x).ToArray<float>());
        d.eval();
        Assert.Equal(x.ToArray<float>(), d.call(x).ToArray<float>());
        Assert.Throws<ArgumentException>(() => new Dropout(1.0));
    }
}
