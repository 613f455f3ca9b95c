using System.Diagnostics;
using MoLA.Torch;
using MoLA.Torch.Distributed;

namespace MoLA.Parallel.Benchmarks;

/// <summary>One message size: median time of a float32 sum all-reduce and the bandwidths derived from it.</summary>
public sealed record AllReduceSample(long Bytes, double MedianSeconds, double AlgorithmicGBps, double BusGBps);

/// <summary>
/// Gloo all-reduce over loopback TCP between <c>ranks</c> ranks, each on its own thread with its own process
/// group (real sockets; one process so the benchmark needs no launcher). Algorithmic bandwidth = bytes /
/// time; bus bandwidth = algorithmic x 2(n-1)/n, what a ring moves per link (nccl-tests' definitions).
/// </summary>
public static class AllReduceBenchmark
{
    public static readonly long[] DefaultSizes = [4L << 10, 64L << 10, 1L << 20, 4L << 20, 16L << 20, 64L << 20];

    public static IReadOnlyList<AllReduceSample> Run(IReadOnlyList<long> sizes, int ranks = 2, int iterations = 7)
    {
        if (ranks < 2) throw new ParallelConfigException("--ranks", $"needs at least 2 ranks, got {ranks}");
        if (iterations < 1) throw new ParallelConfigException("--iterations", $"must be at least 1, got {iterations}");
        foreach (var s in sizes)
            if (s < 4 || s % 4 != 0) throw new ParallelConfigException("--sizes", $"message sizes are whole float32 counts in bytes (>= 4), got {s}");
        var timeout = TimeSpan.FromSeconds(60);
        using var store = TcpStore.CreateServer(0, timeout);
        var times = new double[ranks][][];
        Exception? failure = null;
        var threads = Enumerable.Range(0, ranks).Select(r => new Thread(() =>
        {
            try
            {
                RankLoop(r);
            }
            catch (Exception e)
            {
                failure ??= e;
            }
        })).ToList();
        void RankLoop(int r)
        {
            using var client = TcpStore.Connect("127.0.0.1", store.Port, timeout);
            using var pg = GlooProcessGroup.Create(client, r, ranks, timeout, "bench-allreduce");
            times[r] = new double[sizes.Count][];
            for (var i = 0; i < sizes.Count; i++)
            {
                using var t = torch.ones([sizes[i] / 4]);
                pg.AllReduce(t);  // warm-up (connections, buffers)
                times[r][i] = new double[iterations];
                for (var k = 0; k < iterations; k++)
                {
                    pg.Barrier();
                    var t0 = Stopwatch.GetTimestamp();
                    pg.AllReduce(t);
                    times[r][i][k] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                }
            }
        }
        foreach (var th in threads) th.UnsafeStart();
        foreach (var th in threads) th.Join();
        if (failure is not null || times.Any(t => t is null)) throw new InvalidOperationException("an all-reduce benchmark rank failed", failure);
        return sizes.Select((bytes, i) =>
        {
            // A collective ends when its slowest rank ends.
            var perIter = Enumerable.Range(0, iterations).Select(k => times.Max(t => t[i][k])).Order().ToArray();
            var median = perIter[perIter.Length / 2];
            var alg = bytes / median / 1e9;
            return new AllReduceSample(bytes, median, alg, alg * 2 * (ranks - 1) / ranks);
        }).ToList();
    }
}
