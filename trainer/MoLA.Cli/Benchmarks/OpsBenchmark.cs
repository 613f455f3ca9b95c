using MoLA.Torch;

namespace MoLA.Cli.Benchmarks;

/// <summary>How much work one <c>mola bench ops</c> run does.</summary>
internal sealed record OpsBenchSettings(int Threads, bool Quick)
{
    /// <summary>Timed rounds per small op and side; each reported figure is the median over them.</summary>
    public int Rounds => Quick ? 3 : 15;
    /// <summary>Divides every op's default iteration count.</summary>
    public int IterationDivisor => Quick ? 5 : 1;
    public IReadOnlyList<int> GemmSizes { get; init; } = [1024, 2048];
    /// <summary>What the small-op timings count (GEMM is always timed by the wall clock).</summary>
    public BenchClock Clock { get; init; } = BenchClock.Wall;
    public int GemmWarmupRuns => Quick ? 1 : 2;
    /// <summary>Rounds of one product per side and size (interleaved like the small ops).</summary>
    public int GemmRounds => Quick ? 2 : 11;

    public int IterationsOf(SmallOp op) => Math.Max(10, op.Iterations / IterationDivisor);
}

internal sealed record OpResult(
    string Name,
    string Description,
    int Iterations,
    double CsharpNsPerCall,
    double? PythonNsPerCall,
    double? Ratio,
    double CsharpBestNsPerCall,
    double? PythonBestNsPerCall,
    double? RatioOfBest,
    double CsharpBytesPerCall,
    int CsharpGen0Collections,
    IReadOnlyList<double> CsharpSamplesNs,
    IReadOnlyList<double>? PythonSamplesNs);

internal sealed record GemmResult(
    int N,
    int Runs,
    double CsharpBestGflops,
    double CsharpMedianGflops,
    double? PythonBestGflops,
    double? PythonMedianGflops,
    double? GflopsRatio);

internal sealed record Targets(double MedianSmallOpRatioMax, double GemmGflopsRatioMin, bool? Met);

internal sealed record PythonSide(string Executable, string PythonVersion, string TorchVersion, int Threads);

internal sealed record BenchOpsReport(
    int Threads,
    bool Quick,
    string BuildConfiguration,
    string Clock,
    int Rounds,
    int ScopeEvery,
    string TorchVersion,
    int CsharpIntraOpThreads,
    double? LoadAverageBefore,
    double? MachineBusyBefore,
    double? StealDuringRun,
    PythonSide? Python,
    string? Warning,
    string Method,
    IReadOnlyList<OpResult> Ops,
    double? MedianSmallOpRatio,
    double? MedianSmallOpRatioOfBest,
    IReadOnlyList<GemmResult> Gemm,
    Targets Targets);

/// <summary>
/// Runs every small op and the large GEMMs on both sides in one process tree, interleaved:
/// per round and op, C# then Python or Python then C# (alternating), so drift and noise on a
/// shared machine hit both sides alike. Python failing or missing leaves the C# figures.
/// </summary>
internal sealed class OpsBenchmark(OpsBenchSettings settings, string pythonInterpreter, Action<string>? progress = null)
{
    public const double MedianRatioTarget = 1.0;
    public const double GemmRatioTarget = 0.95;
    public const double BusyWarningShare = 0.25;
    public const double StealWarningShare = 0.05;

    private PythonTorch? _python;
    private string? _warning;

    public BenchOpsReport Run()
    {
        // How busy the machine is without us (all CPUs, over half a second), before anything starts.
        var loadBefore = LoadAverage();
        var idle0 = Diagnostics.CpuTimes.Read();
        Thread.Sleep(500);
        var start = Diagnostics.CpuTimes.Read();
        var busyBefore = Diagnostics.CpuTimes.BusyShare(idle0, start);
        torch.set_num_threads(settings.Threads);
        var configuration = Diagnostics.BuildInfo.Configuration;
        if (configuration != "Release") Warn(Diagnostics.BuildInfo.DebugWarning);
        var csThreads = torch.get_num_threads();
        var ops = SmallOps.All;

        _python = PythonTorch.TryStart(pythonInterpreter, settings.Threads, out var problem);
        if (problem is not null) Warn(problem);
        var pythonSide = _python is null ? null
            : new PythonSide(_python.Info.Executable, _python.Info.PythonVersion, _python.Info.TorchVersion, _python.Info.Threads);
        if (_python is not null)
        {
            var missing = ops.Select(o => o.Name).Except(_python.Info.Ops.Keys).ToList();
            if (missing.Count > 0)
            {
                Warn($"ops_bench.py lacks op(s) {string.Join(", ", missing)}; Python side skipped");
                DropPython();
            }
            else
            {
                if (_python.Info.Threads != settings.Threads)
                    Warn($"Python runs {_python.Info.Threads} threads, asked for {settings.Threads}");
                var differ = ops.Where(o => _python.Info.Ops[o.Name] != o.Iterations)
                    .Select(o => $"{o.Name} (C# {o.Iterations}, Python {_python.Info.Ops[o.Name]})").ToList();
                if (differ.Count > 0)
                    Warn($"ops_bench.py's default iteration counts differ from SmallOps.cs for {string.Join(", ", differ)}; this run uses the C# counts on both sides");
            }
        }

        try
        {
            var opResults = RunSmallOps(ops);
            var gemm = RunGemm();
            var steal = Diagnostics.CpuTimes.StealShare(start, Diagnostics.CpuTimes.Read());
            if (busyBefore > BusyWarningShare)
                Warn($"other processes kept {busyBefore:P0} of the CPUs busy just before the run (1-minute load average {loadBefore:0.0} on {Environment.ProcessorCount} CPUs): expect noisy figures");
            if (steal > StealWarningShare)
                Warn($"the hypervisor stole {steal:P0} of the CPU time during the run: expect noisy figures");
            var ratios = opResults.Where(r => r.Ratio is not null).Select(r => r.Ratio!.Value).ToList();
            double? median = ratios.Count == opResults.Count && ratios.Count > 0 ? Stats.Round(Stats.Median(ratios), 3) : null;
            var bestRatios = opResults.Where(r => r.RatioOfBest is not null).Select(r => r.RatioOfBest!.Value).ToList();
            double? medianOfBest = bestRatios.Count == opResults.Count && bestRatios.Count > 0 ? Stats.Round(Stats.Median(bestRatios), 3) : null;
            bool? met = median is null || gemm.Any(g => g.GflopsRatio is null) ? null
                : median <= MedianRatioTarget && gemm.All(g => g.GflopsRatio >= GemmRatioTarget);
            return new BenchOpsReport(
                settings.Threads, settings.Quick, configuration, settings.Clock.Name(), settings.Rounds, OverheadTimer.ScopeEvery,
                torch.version, csThreads, loadBefore, busyBefore, steal, pythonSide, _warning,
                $"small ops: per op and side, {settings.Rounds} interleaved rounds of N calls timed by the {settings.Clock.Name()} clock (C# inside a DisposeScope disposed every " +
                $"{OverheadTimer.ScopeEvery} calls; Python with timeit), median ns/call reported, ratio = C# / Python (<= 1 means C# is faster), " +
                "ratio_of_best = the same for the fastest round of each side (less sensitive to a busy machine); " +
                $"GEMM: fp32 n x n products, {settings.GemmWarmupRuns} warm-up then {settings.GemmRounds} interleaved rounds of one product per side, " +
                "best GFLOP/s reported, gflops_ratio = C# / Python (>= 0.95 is the target)",
                opResults, median, medianOfBest, gemm, new Targets(MedianRatioTarget, GemmRatioTarget, met));
        }
        finally
        {
            DropPython();
        }
    }

    private List<OpResult> RunSmallOps(IReadOnlyList<SmallOp> ops)
    {
        torch.manual_seed(0);
        var bound = ops.Select(o => o.Bind()).ToList();
        try
        {
            // Warm-up: JIT tiers on the C# side, allocator and dispatcher caches on both.
            for (var i = 0; i < ops.Count; i++)
            {
                var n = Math.Max(10, settings.IterationsOf(ops[i]) / 5);
                OverheadTimer.Measure(bound[i].Call, n, settings.Clock);
                OverheadTimer.Measure(bound[i].Call, n, settings.Clock);
                Python(p => p.TimeOp(ops[i].Name, n, settings.Clock));
            }
            Thread.Sleep(200); // lets the tiered JIT finish its background recompilations

            var cs = ops.Select(_ => new List<OverheadSample>()).ToList();
            var py = ops.Select(_ => new List<double>()).ToList();
            for (var round = 0; round < settings.Rounds; round++)
            {
                progress?.Invoke($"round {round + 1}/{settings.Rounds}");
                for (var i = 0; i < ops.Count; i++)
                {
                    var iterations = settings.IterationsOf(ops[i]);
                    var csFirst = (round + i) % 2 == 0;
                    if (csFirst) cs[i].Add(OverheadTimer.Measure(bound[i].Call, iterations, settings.Clock));
                    var pyNs = Python(p => p.TimeOp(ops[i].Name, iterations, settings.Clock));
                    if (pyNs is not null) py[i].Add(pyNs.Value);
                    if (!csFirst) cs[i].Add(OverheadTimer.Measure(bound[i].Call, iterations, settings.Clock));
                }
            }

            var results = new List<OpResult>();
            for (var i = 0; i < ops.Count; i++)
            {
                var csNs = Stats.Median(cs[i].Select(s => s.NsPerCall).ToList());
                var csBest = cs[i].Min(s => s.NsPerCall);
                double? pyNs = _python is not null && py[i].Count == settings.Rounds ? Stats.Median(py[i]) : null;
                double? pyBest = pyNs is null ? null : py[i].Min();
                results.Add(new OpResult(
                    ops[i].Name, ops[i].Description, settings.IterationsOf(ops[i]),
                    Stats.Round(csNs, 1), pyNs is null ? null : Stats.Round(pyNs.Value, 1),
                    pyNs is null ? null : Stats.Round(csNs / pyNs.Value, 3),
                    Stats.Round(csBest, 1), pyBest is null ? null : Stats.Round(pyBest.Value, 1),
                    pyBest is null ? null : Stats.Round(csBest / pyBest.Value, 3),
                    Stats.Round(Stats.Median(cs[i].Select(s => s.BytesPerCall).ToList()), 1),
                    cs[i].Sum(s => s.Gen0Collections),
                    cs[i].Select(s => Stats.Round(s.NsPerCall, 1)).ToList(),
                    pyNs is null ? null : py[i].Select(v => Stats.Round(v, 1)).ToList()));
            }
            return results;
        }
        finally
        {
            foreach (var b in bound) b.Dispose();
        }
    }

    private List<GemmResult> RunGemm()
    {
        var results = new List<GemmResult>();
        foreach (var n in settings.GemmSizes)
        {
            progress?.Invoke($"GEMM {n}");
            using var bench = new GemmBenchmark(n);
            bench.Run(settings.GemmWarmupRuns, 0);
            Python(p => p.TimeGemm(n, settings.GemmWarmupRuns).Length);
            var cs = new List<double>();
            var py = new List<double>();
            for (var round = 0; round < settings.GemmRounds; round++)
            {
                var csFirst = round % 2 == 0;
                if (csFirst) cs.Add(bench.RunOnce());
                var s = Python(p => p.TimeGemm(n, 1)[0]);
                if (s is not null) py.Add(s.Value);
                if (!csFirst) cs.Add(bench.RunOnce());
            }
            var csBest = bench.Gflops(cs.Min());
            double? pyBest = _python is not null && py.Count == settings.GemmRounds ? bench.Gflops(py.Min()) : null;
            double? pyMedian = pyBest is null ? null : bench.Gflops(Stats.Median(py));
            results.Add(new GemmResult(n, settings.GemmRounds,
                Stats.Round(csBest, 2), Stats.Round(bench.Gflops(Stats.Median(cs)), 2),
                pyBest is null ? null : Stats.Round(pyBest.Value, 2),
                pyMedian is null ? null : Stats.Round(pyMedian.Value, 2),
                pyBest is null ? null : Stats.Round(csBest / pyBest.Value, 3)));
        }
        return results;
    }

    /// <summary>Runs a Python-side measurement; on failure records a warning and carries on without Python.</summary>
    private double? Python(Func<PythonTorch, double> measure)
    {
        if (_python is null) return null;
        try
        {
            return measure(_python);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.Text.Json.JsonException)
        {
            Warn($"the Python side failed, reporting C# only: {e.Message}");
            DropPython();
            return null;
        }
    }

    /// <summary>The 1-minute load average (Linux), or null where /proc/loadavg is not readable.</summary>
    internal static double? LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ', 2)[0];
            return double.TryParse(first, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void Warn(string message) => _warning = _warning is null ? message : $"{_warning}; {message}";

    private void DropPython()
    {
        _python?.Dispose();
        _python = null;
    }
}
