using System.Diagnostics;
using MoLA.Torch;

namespace MoLA.Cli.Benchmarks;

/// <summary>
/// fp32 square matrix products C = A B on the CPU (2 n^3 floating-point operations each), the
/// throughput that model-FLOPs-utilisation figures are quoted against. A and B are N(0, 1) and
/// stay alive across runs; each run's output is released right after it is timed.
/// </summary>
internal sealed class GemmBenchmark : IDisposable
{
    private readonly Tensor _a;
    private readonly Tensor _b;

    public GemmBenchmark(int n)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "matrix size must be positive");
        N = n;
        torch.manual_seed(0);
        _a = torch.randn([n, n]).DetachFromScope();
        _b = torch.randn([n, n]).DetachFromScope();
    }

    public int N { get; }
    public double Flops => 2.0 * N * N * N;

    /// <summary>Seconds of one C = A B (the product is released after the clock stops).</summary>
    public double RunOnce()
    {
        var start = Stopwatch.GetTimestamp();
        using var c = _a.matmul(_b);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return elapsed;
    }

    public List<double> Run(int warmup, int runs)
    {
        for (var i = 0; i < warmup; i++) RunOnce();
        var seconds = new List<double>(runs);
        for (var i = 0; i < runs; i++) seconds.Add(RunOnce());
        return seconds;
    }

    public double Gflops(double seconds) => Flops / seconds / 1e9;

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }
}
