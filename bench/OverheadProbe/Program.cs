// Where does a MoLA.Torch small-op call spend its time? Times the same op ([4,4] add, and a view)
// through successively more of the C# layer, many calls per sample, median of several samples:
//   raw P/Invoke (+ mt_free)  ->  + without the GC transition  ->  Tensor API + Dispose  ->
//   + DisposeScope (every 1 / 100 / 10000 calls)  ->  no release at all (finalizers)
// plus the managed cost of a finalizable object.
// Usage: dotnet run -c Release --project bench/OverheadProbe [-- --threads N] [--calls N] [--case TEXT] [--clock thread-cpu]
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using MoLA.Bench.OverheadProbe;
using MoLA.Torch;

var threads = Arg("--threads", Environment.ProcessorCount);
var calls = Arg("--calls", 200_000);
var only = StringArg("--case"); // run only the cases whose name contains this text (e.g. for perf record)
var threadCpu = StringArg("--clock") == "thread-cpu"; // CPU time of this thread instead of elapsed time (busy machines)
const int Samples = 7;
torch.set_num_threads(threads);
Console.WriteLine($"libtorch {torch.version}, {torch.get_num_threads()} threads, {calls:N0} calls per sample, median of {Samples}, " +
    $"{(threadCpu ? "thread-cpu clock (finalizer-thread work not counted)" : "wall clock")}, .NET {Environment.Version}");
Console.WriteLine($"{"case",-58} {"ns/call",9} {"B/call",7} {"gen0",5}");

var a = torch.randn([4, 4]).DetachFromScope();
var b = torch.randn([4, 4]).DetachFromScope();
var ra = Raw.Randn(4, 4);
var rb = Raw.Randn(4, 4);

unsafe
{
    Case("add: raw P/Invoke mt_binary + mt_free", () => Raw.mt_free(Raw.mt_binary(Raw.BinaryAdd, ra, rb, 1.0)));
    Case("add: raw, SuppressGCTransition on both", () => Raw.mt_free_nogc(Raw.mt_binary_nogc(Raw.BinaryAdd, ra, rb, 1.0)));
}
Case("add: Tensor API, using (a.add(b)) (no scope)", () => { using (a.add(b)) { } });
Case("add: Tensor API, scope disposed every call", () => { using (torch.NewDisposeScope()) a.add(b); });
Scoped("add: Tensor API, scope disposed every 100 calls (bench ops)", 100, () => a.add(b));
Scoped("add: Tensor API, scope disposed every 10000 calls", 10_000, () => a.add(b));
Case("add: Tensor API, never disposed (finalizers release)", () => a.add(b), finalize: true);
var c = torch.randn([4, 4]).DetachFromScope();
var rc = Raw.Randn(4, 4);
Case("chain3: raw P/Invoke, each intermediate freed at once", () =>
{
    var ab = Raw.mt_binary(Raw.BinaryMul, ra, rb, 1.0);
    var abc = Raw.mt_binary(Raw.BinaryAdd, ab, rc, 1.0);
    Raw.mt_free(ab);
    Raw.mt_free(Raw.mt_unary(Raw.UnaryRelu, abc));
    Raw.mt_free(abc);
});
Case("chain3: Tensor API, intermediates disposed at once (using)", () =>
{
    using var ab = a.mul(b);
    using var abc = ab.add(c);
    using var r = abc.relu();
});
Scoped("chain3: Tensor API, scope disposed every 100 calls (bench ops)", 100, () => a.mul(b).add(c).relu());
Scoped("chain3: Tensor API, scope disposed every 10 calls", 10, () => a.mul(b).add(c).relu());
unsafe
{
    Case("view: raw P/Invoke mt_view(16) + mt_free", () =>
    {
        long n = 16;
        Raw.mt_free(Raw.mt_view(Raw.ViewView, ra, &n, 1));
    });
}
Case("view: Tensor API, using (a.view(16)) (no scope)", () => { using (a.view(16)) { } });
Scoped("view: Tensor API, scope disposed every 100 calls (bench ops)", 100, () => a.view(16));
Case("managed only: new finalizable object + SuppressFinalize", () => GC.SuppressFinalize(new Finalizable()));
Case("managed only: new plain object of the same size", () => GC.KeepAlive(new Plain()));
Case("managed only: new finalizable object, finalizer runs", () => GC.KeepAlive(new Finalizable()), finalize: true);

a.Dispose();
b.Dispose();
c.Dispose();
Raw.mt_free(rc);
Raw.mt_free(ra);
Raw.mt_free(rb);
return 0;

void Scoped(string name, int every, Action call) => Case(name, () =>
{
    using (torch.NewDisposeScope())
        for (var i = 0; i < every; i++) call();
}, callsPerInvoke: every);

void Case(string name, Action call, int callsPerInvoke = 1, bool finalize = false)
{
    if (only is not null && !name.Contains(only, StringComparison.Ordinal)) return;
    var n = Math.Max(1, calls / callsPerInvoke);
    for (var i = 0; i < Math.Max(1, n / 5); i++) call(); // warm-up (JIT tiers)
    Thread.Sleep(150);
    var ns = new List<double>();
    var bytes = new List<double>();
    var gen0 = 0;
    for (var s = 0; s < Samples; s++)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var g0 = GC.CollectionCount(0);
        var b0 = GC.GetAllocatedBytesForCurrentThread();
        var start = Now();
        for (var i = 0; i < n; i++) call();
        if (finalize)
        {
            // The deferred release is part of the cost: collect and run the finalizers inside the clock.
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        var elapsed = Now() - start;
        ns.Add(elapsed / (n * (double)callsPerInvoke));
        bytes.Add((GC.GetAllocatedBytesForCurrentThread() - b0) / (n * (double)callsPerInvoke));
        gen0 += GC.CollectionCount(0) - g0;
    }
    ns.Sort();
    bytes.Sort();
    Console.WriteLine($"{name,-58} {ns[Samples / 2],9:F1} {bytes[Samples / 2],7:F1} {gen0,5}");
}

double Now() => threadCpu ? Raw.ThreadCpuNs() : Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency);

static string? StringArg(string name)
{
    var args = Environment.GetCommandLineArgs();
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static int Arg(string name, int fallback)
{
    var args = Environment.GetCommandLineArgs();
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

internal sealed class Finalizable
{
    private IntPtr _handle = 1;
    private object? _scope = null;
    private long[]? _shape = null;

    ~Finalizable()
    {
        _handle = IntPtr.Zero;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override string ToString() => $"{_handle} {_scope} {_shape}";
}

internal sealed class Plain
{
    private IntPtr _handle = 1;
    private object? _scope = null;
    private long[]? _shape = null;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public override string ToString() => $"{_handle} {_scope} {_shape}";
}
