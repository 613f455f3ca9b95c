namespace MoLA.Torch.Tests;

/// <summary>
/// Gradient oracle: compares libtorch's analytic gradients with central finite differences in
/// float64. The function's output is reduced with fixed random weights so every output element
/// contributes with a different coefficient.
/// </summary>
internal static class GradCheck
{
    public static void Check(Func<Tensor[], Tensor> f, params Tensor[] inputs) => Check(f, inputs, 1e-6, 1e-5, 1e-7);

    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps, double rtol, double atol)
    {
        using var scope = torch.NewDisposeScope();
        var values = inputs.Select(t => t.to(DType.Float64).ToArray<double>()).ToArray();
        var shapes = inputs.Select(t => t.Shape).ToArray();
        var wants = inputs.Select(t => t.RequiresGrad).ToArray();

        Tensor[] Make(int? which = null, int index = -1, double delta = 0)
        {
            var result = new Tensor[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                var v = (double[])values[i].Clone();
                if (which == i) v[index] += delta;
                result[i] = torch.tensor(v, shapes[i]);
                if (which is null && wants[i]) result[i].requires_grad_();
            }
            return result;
        }

        var xs = Make();
        var y = f(xs);
        var weights = torch.rand(y.Shape, DType.Float64).add(0.5);
        var loss = y.mul(weights).sum();
        loss.backward();
        double Eval(int which, int index, double delta)
        {
            using var s = torch.NewDisposeScope();
            using var ng = torch.no_grad();
            return f(Make(which, index, delta)).mul(weights).sum().item();
        }
        for (var i = 0; i < xs.Length; i++)
        {
            if (!wants[i]) continue;
            var analytic = xs[i].grad!.ToArray<double>();
            for (var j = 0; j < values[i].Length; j++)
            {
                var numeric = (Eval(i, j, eps) - Eval(i, j, -eps)) / (2 * eps);
                var tol = atol + rtol * Math.Abs(numeric);
                Assert.True(Math.Abs(analytic[j] - numeric) <= tol,
                    $"input {i} element {j}: analytic {analytic[j]:R} vs finite difference {numeric:R}");
            }
        }
    }

    public static Tensor Rand(params long[] shape) => torch.randn(shape, DType.Float64).requires_grad_();
    public static Tensor Positive(params long[] shape) => torch.rand(shape, DType.Float64).add(0.5).requires_grad_();
}
