using MoLA.Torch;
using MoLA.Torch.NN;

namespace MoLA.Cli.Benchmarks;

/// <summary>One small op of the per-call overhead benchmark, bound to its inputs.</summary>
internal sealed class BoundOp(Action call, params Tensor[] inputs) : IDisposable
{
    public Action Call { get; } = call;

    public void Dispose()
    {
        foreach (var t in inputs) t.Dispose();
    }
}

/// <summary>A small op: name (shared with bench/python/ops_bench.py), what it computes, default iterations.</summary>
internal sealed record SmallOp(string Name, string Description, int Iterations, Func<BoundOp> Bind);

/// <summary>
/// The small ops of <c>mola bench ops</c>. Names, shapes and iteration counts must match OPS in
/// bench/python/ops_bench.py; each C# call is what a user of MoLA.Torch would write. Inputs are
/// created outside any dispose scope and released by <see cref="BoundOp.Dispose"/>.
/// </summary>
internal static class SmallOps
{
    public static IReadOnlyList<SmallOp> All { get; } =
    [
        new("add", "a + b, [4,4] float32", 10000, () =>
        {
            var (a, b) = (Randn(4, 4), Randn(4, 4));
            return new BoundOp(() => a.add(b), a, b);
        }),
        new("mul_scalar", "a * 2.0, [4,4]", 10000, () =>
        {
            var a = Randn(4, 4);
            return new BoundOp(() => a.mul(2.0), a);
        }),
        new("matmul_8x8", "a @ b, [8,8] x [8,8]", 10000, () =>
        {
            var (a, b) = (Randn(8, 8), Randn(8, 8));
            return new BoundOp(() => a.matmul(b), a, b);
        }),
        new("sum", "a.sum(), [4,4] -> []", 10000, () =>
        {
            var a = Randn(4, 4);
            return new BoundOp(() => a.sum(), a);
        }),
        new("view", "a.view(16), [4,4]", 10000, () =>
        {
            var a = Randn(4, 4);
            return new BoundOp(() => a.view(16), a);
        }),
        new("reshape", "a.reshape(2, 8), [4,4]", 10000, () =>
        {
            var a = Randn(4, 4);
            return new BoundOp(() => a.reshape(2, 8), a);
        }),
        new("softmax", "softmax(x, -1), [4,16]", 10000, () =>
        {
            var x = Randn(4, 16);
            return new BoundOp(() => F.softmax(x, -1), x);
        }),
        new("index_select", "w.index_select(0, idx), [16,8] by 4 int64", 10000, () =>
        {
            var w = Randn(16, 8);
            var idx = torch.tensor(new long[] { 3, 0, 7, 12 }).DetachFromScope();
            return new BoundOp(() => w.index_select(0, idx), w, idx);
        }),
        new("zeros", "torch.zeros(4, 4)", 10000, () => new BoundOp(() => torch.zeros([4, 4]))),
        new("chain3", "(a * b + c).relu(), [4,4]: 3 ops", 5000, () =>
        {
            var (a, b, c) = (Randn(4, 4), Randn(4, 4), Randn(4, 4));
            return new BoundOp(() => a.mul(b).add(c).relu(), a, b, c);
        }),
        new("mlp_fwd_bwd", "2-layer MLP 16-32-8 on [4,16]: forward, mean(y^2), backward, grads cleared", 1000, () =>
        {
            var x = Randn(4, 16);
            var w1 = Randn(32, 16).mul_(0.25).requires_grad_();
            var b1 = torch.zeros([32]).DetachFromScope().requires_grad_();
            var w2 = Randn(8, 32).mul_(0.18).requires_grad_();
            var b2 = torch.zeros([8]).DetachFromScope().requires_grad_();
            return new BoundOp(() =>
            {
                var h = F.linear(x, w1, b1).relu();
                var y = F.linear(h, w2, b2);
                var loss = y.pow(2).mean();
                loss.backward();
                w1.grad = null;
                b1.grad = null;
                w2.grad = null;
                b2.grad = null;
            }, x, w1, b1, w2, b2);
        }),
    ];

    private static Tensor Randn(long rows, long cols) => torch.randn([rows, cols]).DetachFromScope();
}
