using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using MoLA.Torch;
using MoLA.Torch.Distributed;

namespace MoLA.Collectives.Worker;

/// <summary>
/// One rank of a multi-process collective test. Rank 0 runs the TCPStore server. Protocol on
/// stdout, one line each: "READY" once the process group exists, "ITER i" in loops,
/// "RESULT {json}" on success (exit 0), "ERROR {json}" on failure (exit 3 collective,
/// 4 store, 5 other). Scenarios:
///   collectives  store ops, all-reduce (sum/avg/max/min, float and int64), broadcast,
///                all-gather, all-to-all (counts exchanged first, then uneven rows), barrier,
///                and a second group sharing the store.
///   stall        rank 0 all-reduces while the other ranks sleep: rank 0 must time out.
///   die          all ranks all-reduce in a loop; rank 1 calls Environment.Exit at --die-at.
///   loop         all ranks all-reduce in a loop (printing ITER) until a peer fails or --seconds pass.
/// </summary>
public static class Program
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private sealed record Options(string Scenario, int Rank, int Size, string Host, int Port, int TimeoutMs, int DieAt, int Seconds);

    public static int Main(string[] args)
    {
        Options o;
        try
        {
            o = Parse(args);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"usage: --scenario collectives|stall|die|loop --rank R --size N --port P [--host H] [--timeout-ms T] [--die-at K] [--seconds S]: {e.Message}");
            return 2;
        }

        torch.set_num_threads(1);
        var watch = Stopwatch.StartNew();
        try
        {
            var result = o.Scenario switch
            {
                "collectives" => Collectives(o),
                "stall" => Stall(o, watch),
                "die" => Loop(o, watch, o.DieAt),
                "loop" => Loop(o, watch, -1),
                _ => throw new ArgumentException($"unknown scenario '{o.Scenario}'"),
            };
            Console.Out.WriteLine("RESULT " + JsonSerializer.Serialize(result, Json));
            Console.Out.Flush();
            return 0;
        }
        catch (Exception e)
        {
            var (code, isTimeout) = e switch
            {
                CollectiveException c => (3, c.IsTimeout),
                StoreException s => (4, s.IsTimeout),
                _ => (5, false),
            };
            var error = new Dictionary<string, object?>
            {
                ["rank"] = o.Rank,
                ["type"] = e.GetType().Name,
                ["message"] = e.Message,
                ["isTimeout"] = isTimeout,
                ["elapsedMs"] = watch.ElapsedMilliseconds,
            };
            Console.Out.WriteLine("ERROR " + JsonSerializer.Serialize(error, Json));
            Console.Out.Flush();
            Console.Error.WriteLine($"rank {o.Rank}: {e}");
            Console.Error.Flush();
            // Exit without disposing: the group is broken and its peers may be gone.
            Environment.Exit(code);
            return code;
        }
    }

    private static Options Parse(string[] args)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"bad argument '{args[i]}'");
            map[args[i][2..]] = args[i + 1];
        }
        string Get(string k, string? fallback = null) =>
            map.TryGetValue(k, out var v) ? v : fallback ?? throw new ArgumentException($"--{k} is required");
        return new Options(
            Get("scenario"), int.Parse(Get("rank")), int.Parse(Get("size")), Get("host", "127.0.0.1"),
            int.Parse(Get("port")), int.Parse(Get("timeout-ms", "5000")), int.Parse(Get("die-at", "3")),
            int.Parse(Get("seconds", "30")));
    }

    private static TcpStore OpenStore(Options o) =>
        o.Rank == 0
            ? TcpStore.CreateServer(o.Port, TimeSpan.FromMilliseconds(o.TimeoutMs), o.Size, host: o.Host)
            : TcpStore.Connect(o.Host, o.Port, TimeSpan.FromMilliseconds(o.TimeoutMs), o.Size);

    private static GlooProcessGroup OpenGroup(Options o, TcpStore store, string name = "main")
    {
        var pg = GlooProcessGroup.Create(store, o.Rank, o.Size, TimeSpan.FromMilliseconds(o.TimeoutMs), name);
        Console.Out.WriteLine("READY");
        Console.Out.Flush();
        return pg;
    }

    private static Dictionary<string, object?> Collectives(Options o)
    {
        var r = new Dictionary<string, object?> { ["rank"] = o.Rank, ["size"] = o.Size };
        using var store = OpenStore(o);

        // Store: a value set by rank 0, a shared counter, and wait on every rank's key.
        if (o.Rank == 0) store.Set("greeting", "hello from rank 0");
        r["greeting"] = store.GetString("greeting");
        store.Add("counter", o.Rank + 1);
        store.Set($"joined/{o.Rank}", [(byte)o.Rank]);
        store.Wait(Enumerable.Range(0, o.Size).Select(i => $"joined/{i}").ToArray());
        r["counter"] = store.Add("counter", 0);
        r["checkMissing"] = store.Check("no-such-key");

        using var pg = OpenGroup(o, store);
        r["pgRank"] = pg.Rank;
        r["pgSize"] = pg.Size;
        float f = o.Rank;

        r["sumF32"] = Reduce([f + 1, 10 * (f + 1), -f], ReduceOp.Sum, pg);
        r["avgF32"] = Reduce([f + 1, 2 * f], ReduceOp.Avg, pg);
        r["avgF64"] = Reduce(new double[] { o.Rank + 1, 0.5 * o.Rank }, ReduceOp.Avg, pg);
        r["avgI64"] = Reduce(new long[] { o.Rank + 1, 10L * (o.Rank + 1) }, ReduceOp.Avg, pg);
        r["maxF32"] = Reduce([f, -f, 5], ReduceOp.Max, pg);
        r["minF32"] = Reduce([f, -f, 5], ReduceOp.Min, pg);
        r["sumI64"] = Reduce(new long[] { 1L << 40, o.Rank }, ReduceOp.Sum, pg);

        // Broadcast from the last rank; the others start with zeros.
        var root = o.Size - 1;
        using (var b = o.Rank == root ? torch.tensor(new float[] { 7, 8, 9 }) : torch.zeros([3]))
        {
            pg.Broadcast(b, root);
            r["broadcast"] = b.ToArray<float>();
        }

        // All-gather into a flat [size * 2] and a [size, 2] output.
        using (var input = torch.tensor(new float[] { 10 * o.Rank + 1, 10 * o.Rank + 2 }))
        using (var flat = torch.zeros([o.Size * 2L]))
        using (var grid = torch.zeros([o.Size, 2]))
        {
            pg.AllGather(input, flat);
            pg.AllGather(input, grid);
            r["allgather"] = flat.ToArray<float>();
            r["allgather2dShape"] = grid.Shape;
            r["allgather2d"] = grid.ToArray<float>();
        }

        // All-to-all: rank s sends Count(s, d) rows to rank d. First exchange the counts
        // (equal splits, one int64 per peer), then the uneven payload.
        var inSplits = Enumerable.Range(0, o.Size).Select(d => Count(o.Rank, d)).ToArray();
        long[] outSplits;
        using (var countsIn = torch.tensor(inSplits))
        using (var countsOut = torch.zeros([o.Size], DType.Int64))
        {
            pg.AllToAll(countsOut, countsIn, null, null);
            outSplits = countsOut.ToArray<long>();
        }
        r["outSplits"] = outSplits;
        var payload = new List<float>();
        for (var d = 0; d < o.Size; d++)
            for (var j = 0; j < inSplits[d]; j++)
                payload.Add(1000 * (o.Rank + 1) + 100 * d + j);
        using (var input = torch.tensor(payload.ToArray()))
        using (var output = torch.zeros([outSplits.Sum()]))
        {
            pg.AllToAll(output, input, outSplits, inSplits);
            r["alltoall"] = output.ToArray<float>();
        }
        // The same with rows of two elements [v, -v].
        using (var input = torch.tensor(payload.SelectMany(v => new[] { v, -v }).ToArray(), payload.Count, 2))
        using (var output = torch.zeros([outSplits.Sum(), 2]))
        {
            pg.AllToAll(output, input, outSplits, inSplits);
            r["alltoall2d"] = output.ToArray<float>();
        }

        pg.Barrier();

        // A second group over the same store (its own key prefix).
        using (var aux = GlooProcessGroup.Create(store, o.Rank, o.Size, TimeSpan.FromMilliseconds(o.TimeoutMs), "aux"))
        {
            r["auxSum"] = Reduce(new long[] { o.Rank }, ReduceOp.Sum, aux);
            aux.Barrier();
        }
        pg.Barrier();
        return r;
    }

    /// <summary>Rows rank s sends to rank d; for two ranks: 0→0 1, 0→1 3, 1→0 2, 1→1 0.</summary>
    private static long Count(int s, int d) => (((1 + 2 * d + s * (1 - 4 * d)) % 4) + 4) % 4;

    private static T[] Reduce<T>(T[] data, ReduceOp op, ICollectives pg) where T : unmanaged
    {
        using var t = torch.tensor(data);
        pg.AllReduce(t, op);
        return t.ToArray<T>();
    }

    private static Dictionary<string, object?> Stall(Options o, Stopwatch watch)
    {
        using var store = OpenStore(o);
        using var pg = OpenGroup(o, store);
        pg.Barrier();
        if (o.Rank != 0)
        {
            // A stalled peer: alive, connected, but never joins the next collective.
            Thread.Sleep(TimeSpan.FromSeconds(o.Seconds));
            return new() { ["rank"] = o.Rank, ["slept"] = true };
        }
        using var t = torch.tensor(new float[] { 1, 2, 3 });
        watch.Restart();
        pg.AllReduce(t);
        return new() { ["rank"] = o.Rank, ["unexpected"] = "all-reduce completed without the stalled peer" };
    }

    private static Dictionary<string, object?> Loop(Options o, Stopwatch watch, int dieAt)
    {
        using var store = OpenStore(o);
        using var pg = OpenGroup(o, store);
        using var t = torch.zeros([1024]);
        var end = Stopwatch.StartNew();
        for (var i = 0; end.Elapsed < TimeSpan.FromSeconds(o.Seconds); i++)
        {
            if (o.Rank == 1 && i == dieAt)
            {
                Console.Out.WriteLine("DYING");
                Console.Out.Flush();
                Environment.Exit(17);  // abrupt: no dispose, the OS closes the sockets
            }
            watch.Restart();
            pg.AllReduce(t);
            Console.Out.WriteLine($"ITER {i}");
            if (dieAt < 0) Thread.Sleep(20);
        }
        return new() { ["rank"] = o.Rank, ["unexpected"] = "loop ended without a peer failure" };
    }
}
