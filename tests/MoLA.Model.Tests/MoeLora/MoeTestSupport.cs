using System.Text.Json;
using MoLA.Model.MoeLora;
using MoLA.Torch;
using MoLA.Torch.NN;

namespace MoLA.Model.Tests.MoeLora;

internal static class MoeTestSupport
{
    public static double[] Values(Tensor t)
    {
        using var c = t.detach();
        using var d = c.to(DType.Float64);
        return d.ToArray<double>();
    }

    /// <summary>|a - e| &lt;= atol + rtol * |e| element-wise, with the worst element in the message.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double atol, double rtol, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        AssertClose(Values(expected), Values(actual), atol, rtol, what);
    }

    public static void AssertClose(double[] expected, double[] actual, double atol, double rtol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = -1;
        var worstExcess = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            var excess = Math.Abs(actual[i] - expected[i]) - (atol + rtol * Math.Abs(expected[i]));
            if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess)))
            {
                worst = i;
                worstExcess = excess;
            }
        }
        Assert.True(worst < 0, worst < 0 ? "" : $"{what}: element {worst} is {actual[worst]:R}, expected {expected[worst]:R} (atol {atol}, rtol {rtol})");
    }

    public static MoeLoraLinear Layer(int inFeatures, int outFeatures, int experts, int topK, int rank = 4, double dropout = 0,
        MoeExecution execution = MoeExecution.Auto, DType dtype = DType.Float32, string name = "test.proj", double bScale = 0.5)
    {
        var baseLinear = new Linear(inFeatures, outFeatures, hasBias: false, dtype);
        var layer = new MoeLoraLinear(baseLinear, new MoeLoraOptions
        {
            NumExperts = experts,
            TopK = topK,
            Rank = rank,
            Dropout = dropout,
            Execution = execution,
        }, name);
        if (bScale != 0)
        {
            using var _ = torch.no_grad();
            layer.LoraB.normal_(0, bScale);
        }
        return layer;
    }

    /// <summary>Gradients of sum(y * upstream) w.r.t. x and the layer's trainable tensors, as host arrays.</summary>
    public sealed record Run(double[] Y, double[] GradX, double[] GradA, double[] GradB, double[] GradRouter);

    public static Run ForwardBackward(MoeLoraLinear layer, Tensor xSource, Tensor upstream, MoeExecution execution)
    {
        using var scope = torch.NewDisposeScope();
        layer.zero_grad();
        layer.Execution = execution;
        var x = xSource.detach().requires_grad_();
        var y = layer.forward(x);
        y.mul(upstream).sum().backward();
        return new Run(Values(y), Grad(x), Grad(layer.LoraA), Grad(layer.LoraB), Grad(layer.RouterWeight));
    }

    private static double[] Grad(Tensor t)
    {
        using var g = t.grad;
        return g is null ? new double[t.NumEl] : Values(g);
    }

    /// <summary>
    /// Central finite differences (float64) of sum(f(inputs) * w) for fixed random w, against autograd.
    /// Inputs flagged in <paramref name="differentiate"/> are checked element by element.
    /// </summary>
    public static void GradCheck(Func<Tensor[], Tensor> f, Tensor[] inputs, bool[] differentiate, double eps = 1e-6, double atol = 1e-7, double rtol = 1e-5)
    {
        using var scope = torch.NewDisposeScope();
        var values = inputs.Select(Values).ToArray();
        var shapes = inputs.Select(t => t.Shape).ToArray();
        Tensor[] Build(int which, int index, double delta, bool grad)
        {
            var result = new Tensor[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                var v = (double[])values[i].Clone();
                if (i == which) v[index] += delta;
                result[i] = torch.tensor(v, shapes[i]);
                if (grad && differentiate[i]) result[i].requires_grad_();
            }
            return result;
        }
        var leaves = Build(-1, 0, 0, grad: true);
        var output = f(leaves);
        var weights = torch.rand(output.Shape, DType.Float64).add(0.5);
        output.mul(weights).sum().backward();
        double Eval(int which, int index, double delta)
        {
            using var s = torch.NewDisposeScope();
            using var ng = torch.no_grad();
            return f(Build(which, index, delta, grad: false)).mul(weights).sum().item();
        }
        for (var i = 0; i < leaves.Length; i++)
        {
            if (!differentiate[i]) continue;
            var analytic = Values(leaves[i].grad ?? throw new InvalidOperationException($"input {i} got no gradient"));
            for (var j = 0; j < values[i].Length; j++)
            {
                var numeric = (Eval(i, j, eps) - Eval(i, j, -eps)) / (2 * eps);
                Assert.True(Math.Abs(analytic[j] - numeric) <= atol + rtol * Math.Abs(numeric),
                    $"input {i} element {j}: autograd {analytic[j]:R}, finite difference {numeric:R}");
            }
        }
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MoLA.Distributed.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root (MoLA.Distributed.sln) not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs bench/python/moe_layer_ref.py in Debian's python3-torch with a JSON request.</summary>
    public static JsonElement PythonReference(object request) =>
        MoLA.TestSupport.PythonTorch.RunFile(Path.Combine(RepositoryRoot(), "bench", "python", "moe_layer_ref.py"), request);

    public static double[][] Matrix(Tensor t)
    {
        var v = Values(t);
        var rows = t.size(0);
        var cols = t.NumEl / Math.Max(1, rows);
        return Enumerable.Range(0, (int)rows).Select(r => v.AsSpan((int)(r * cols), (int)cols).ToArray()).ToArray();
    }

    public static double[] Flatten(JsonElement e)
    {
        var result = new List<double>();
        void Walk(JsonElement x)
        {
            if (x.ValueKind == JsonValueKind.Array) foreach (var c in x.EnumerateArray()) Walk(c);
            else result.Add(x.GetDouble());
        }
        Walk(e);
        return result.ToArray();
    }
}

/// <summary>A fact that runs only when the named environment variable is "1" (e.g. slow benchmarks).</summary>
public sealed class EnvFactAttribute : FactAttribute
{
    public EnvFactAttribute(string variable)
    {
        if (Environment.GetEnvironmentVariable(variable) != "1") Skip = $"set {variable}=1 to run";
    }
}
