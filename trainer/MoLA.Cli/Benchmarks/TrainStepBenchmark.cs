using System.Diagnostics;
using System.Text.Json.Nodes;
using MoLA.Model.Adapters;
using MoLA.Model.Llama;
using MoLA.Model.MoeLora;
using MoLA.Model.ParameterCounting;
using MoLA.Torch;
using MoLA.Training.Data;
using MoLA.Training.Trainer;

namespace MoLA.Cli.Benchmarks;

/// <summary>What one <c>mola bench train-step</c> run does. <see cref="Python"/> null: C# side only.</summary>
internal sealed record TrainStepBenchSettings(int Threads, int Steps, int Warmup, IReadOnlyList<TrainStepShape> Models, string? Python)
{
    public const ulong Seed = 42;
    /// <summary>The schedule's length (both sides): long enough that the timed steps never reach its end.</summary>
    public const int ScheduleSteps = 100_000;
    public IReadOnlyList<int> GemmSizes { get; init; } = [1024, 2048];
    public int GemmWarmupRuns { get; init; } = 2;
    public int GemmRuns { get; init; } = 7;
}

/// <summary>One side's timings of one model: seconds per step, and what they give.</summary>
internal sealed record TrainStepSide(
    double MedianSeconds,
    double MinSeconds,
    double TokensPerSecond,
    double Mfu,
    double ExecutedFlopsUtilisation,
    double MedianCpuSeconds,
    long TrainableParameters,
    double FirstLoss,
    double LastLoss,
    IReadOnlyList<double> SamplesSeconds,
    IReadOnlyList<double> SamplesCpuSeconds);

internal sealed record TrainStepModelResult(
    TrainStepShape Shape,
    long TokensPerStep,
    double ModelGflopsPerStep,
    double ExecutedGflopsPerStep,
    IReadOnlyList<string> ExecutionPerLayer,
    TrainStepSide Csharp,
    TrainStepSide? Python,
    double? TokensPerSecondRatio,
    double? PairedRatio,
    double? CpuRatio);

internal sealed record TrainStepTargets(double RatioMin, double RatioGoal, bool? Met, bool? GoalMet);

internal sealed record TrainStepReport(
    int Threads,
    int Steps,
    int Warmup,
    string BuildConfiguration,
    string TorchVersion,
    string? OmpWaitPolicy,
    double GemmPeakGflops,
    int GemmPeakN,
    double? MachineBusyBefore,
    double? StealDuringRun,
    PythonSide? PythonInfo,
    string? Warning,
    string Method,
    string FlopCount,
    IReadOnlyList<TrainStepModelResult> Models,
    TrainStepTargets Targets);

/// <summary>
/// Full SFT training steps (<see cref="SftTrainer.TrainStep"/>: forward, cross-entropy, backward,
/// clipping, AdamW) of each model, side by side with the same step in python3-torch
/// (bench/python/train_step_ref.py, a child process): after warm-up, step i runs C# then Python when i
/// is even, Python then C# when odd, so load on a shared machine hits both alike. Reported per side:
/// median seconds per step, tokens/s, MFU against the fp32 GEMM peak measured at the start of the run.
/// </summary>
internal sealed class TrainStepBenchmark(TrainStepBenchSettings settings, Action<string>? progress = null)
{
    public const double RatioTarget = 1.0;
    public const double RatioGoal = 1.2;

    private PythonTorch? _python;
    private readonly List<string> _warnings = [];

    public TrainStepReport Run()
    {
        foreach (var m in settings.Models) m.Validate();
        var idle0 = Diagnostics.CpuTimes.Read();
        Thread.Sleep(500);
        var start = Diagnostics.CpuTimes.Read();
        var busyBefore = Diagnostics.CpuTimes.BusyShare(idle0, start);
        var previousThreads = torch.get_num_threads();
        torch.set_num_threads(settings.Threads);
        var configuration = Diagnostics.BuildInfo.Configuration;
        if (configuration != "Release") _warnings.Add(Diagnostics.BuildInfo.DebugWarning);
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not "PASSIVE" and not "passive")
            _warnings.Add("OMP_WAIT_POLICY is not PASSIVE: libtorch's OpenMP workers spin against OpenBLAS's threads (20-30% of a step on 2 cores); run with OMP_WAIT_POLICY=PASSIVE as ./mola does");
        try
        {
            if (settings.Python is not null)
            {
                // The child inherits our environment (OMP_WAIT_POLICY included), so both sides run alike.
                _python = PythonTorch.TryStart(settings.Python, settings.Threads, PythonTorch.TrainStepResourceName, out var problem);
                if (problem is not null) _warnings.Add(problem);
                else if (_python!.Info.Threads != settings.Threads) _warnings.Add($"Python runs {_python.Info.Threads} threads, asked for {settings.Threads}");
            }
            var pythonInfo = _python is null ? null
                : new PythonSide(_python.Info.Executable, _python.Info.PythonVersion, _python.Info.TorchVersion, _python.Info.Threads);

            progress?.Invoke("fp32 GEMM peak");
            var (peak, peakN) = GemmPeak();
            var results = settings.Models.Select(m => RunModel(m, peak)).ToList();
            var steal = Diagnostics.CpuTimes.StealShare(start, Diagnostics.CpuTimes.Read());
            if (busyBefore > OpsBenchmark.BusyWarningShare)
                _warnings.Add($"other processes kept {busyBefore:P0} of the CPUs busy just before the run: expect noisy figures");
            if (steal > OpsBenchmark.StealWarningShare)
                _warnings.Add($"the hypervisor stole {steal:P0} of the CPU time during the run: expect noisy figures");
            var ratios = results.Select(r => r.TokensPerSecondRatio).ToList();
            bool? met = ratios.Any(r => r is null) || ratios.Count == 0 ? null : ratios.All(r => r >= RatioTarget);
            bool? goal = met is null ? null : ratios.All(r => r >= RatioGoal);
            return new TrainStepReport(
                settings.Threads, settings.Steps, settings.Warmup, configuration, torch.version,
                Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"), Stats.Round(peak, 2), peakN, busyBefore, steal, pythonInfo,
                _warnings.Count == 0 ? null : string.Join("; ", _warnings),
                $"per model: {settings.Warmup} warm-up steps per side, then {settings.Steps} steps per side interleaved (step i: C# then Python " +
                "when i is even, Python then C# when odd), each timed by the wall clock around the whole step; median reported; " +
                "tokens/s = batch x sequence / median seconds; ratio = C# tokens/s / Python tokens/s (>= 1 means C# is faster), " +
                "paired_ratio = median over steps of Python seconds / C# seconds of the same step index; " +
                "cpu_ratio = Python / C# median CPU seconds per step of the whole process (all threads; steadier than wall time when the machine is shared); " +
                "mfu = model FLOPs per step / median seconds / GEMM peak (best fp32 n x n product of this run)",
                "matmul FLOPs of forward + backward, 2 per multiply-add: frozen base projections 4 T in out (forward + input gradient, " +
                "no weight gradient; layer 0's q, k, v forward only, their input needs no gradient), router 6 T in N, experts at k per token " +
                "6 T k r (in + out) (A's input gradient left out where the input needs none), attention 12 B H S^2 hd per layer (full square), " +
                "frozen LM head 4 T D V; norms, RoPE, softmax, elementwise ops, cross-entropy and AdamW not counted. " +
                "executed_* counts the experts as the chosen form multiplies them (N per token when dense-gated)",
                results,
                new TrainStepTargets(RatioTarget, RatioGoal, met, goal));
        }
        finally
        {
            _python?.Dispose();
            torch.set_num_threads(previousThreads);
        }
    }

    private (double Gflops, int N) GemmPeak()
    {
        double best = 0;
        var bestN = 0;
        foreach (var n in settings.GemmSizes)
        {
            using var gemm = new GemmBenchmark(n);
            var g = gemm.Gflops(gemm.Run(settings.GemmWarmupRuns, settings.GemmRuns).Min());
            if (g > best) (best, bestN) = (g, n);
        }
        return (best, bestN);
    }

    private TrainStepModelResult RunModel(TrainStepShape shape, double peakGflops)
    {
        var flops = TrainStepFlops.Of(shape);
        var pythonParams = SetUpPython(shape);
        var adapter = new MoeLoraAdapterConfig { Allocation = shape.ToAllocation(), LoraAlpha = TrainStepShape.Alpha, Dropout = TrainStepShape.Dropout };
        torch.manual_seed(TrainStepBenchSettings.Seed);
        using var model = new LlamaModel(shape.ToConfig());
        model.InitializeWeights();
        var attached = MoeLoraAdapter.Attach(model, adapter);
        var execution = Enumerable.Range(0, shape.Layers)
            .Select(l => attached[(l, LlamaProjection.Q)].ResolvedExecution.ToString()).ToList();
        var options = new TrainerOptions { TotalSteps = TrainStepBenchSettings.ScheduleSteps, Seed = TrainStepBenchSettings.Seed };
        using var trainer = new SftTrainer(model, adapter, [RandomBatch(shape)], options);
        var csParams = trainer.Parameters.Sum(p => p.Tensor.NumEl);
        if (pythonParams is { } pp && pp != csParams)
            _warnings.Add($"{shape.Name}: the Python model has {pp} trainable parameters, ours {csParams}: the two sides do not train the same model");

        var cs = new Samples();
        var py = new Samples();
        for (var i = 0; i < settings.Warmup; i++)
        {
            progress?.Invoke($"{shape.Name}: warm-up {i + 1}/{settings.Warmup}");
            CsStep(trainer, cs, timed: false);
            PyStep(py, timed: false);
        }
        for (var i = 0; i < settings.Steps; i++)
        {
            progress?.Invoke($"{shape.Name}: step {i + 1}/{settings.Steps}");
            if (i % 2 == 0) CsStep(trainer, cs, timed: true);
            PyStep(py, timed: true);
            if (i % 2 == 1) CsStep(trainer, cs, timed: true);
        }

        var modelGflops = flops.Model / 1e9;
        var executedGflops = flops.Executed / 1e9;
        TrainStepSide Side(Samples s, long parameters)
        {
            var median = Stats.Median(s.Wall);
            return new TrainStepSide(
                Stats.Round(median, 4), Stats.Round(s.Wall.Min(), 4), Stats.Round(shape.TokensPerStep / median, 1),
                Stats.Round(modelGflops / median / peakGflops, 4), Stats.Round(executedGflops / median / peakGflops, 4),
                Stats.Round(Stats.Median(s.Cpu), 4), parameters, Stats.Round(s.Losses[0], 5), Stats.Round(s.Losses[^1], 5),
                s.Wall.Select(x => Stats.Round(x, 4)).ToList(), s.Cpu.Select(x => Stats.Round(x, 4)).ToList());
        }
        var csSide = Side(cs, csParams);
        var pySide = _python is not null && py.Wall.Count == cs.Wall.Count ? Side(py, pythonParams ?? 0) : null;
        double? ratio = pySide is null ? null : Stats.Round(csSide.TokensPerSecond / pySide.TokensPerSecond, 3);
        double? paired = pySide is null ? null : Stats.Round(Stats.Median(py.Wall.Zip(cs.Wall, (p, c) => p / c).ToList()), 3);
        double? cpuRatio = pySide is null ? null : Stats.Round(pySide.MedianCpuSeconds / csSide.MedianCpuSeconds, 3);
        return new TrainStepModelResult(shape, shape.TokensPerStep, Stats.Round(modelGflops, 3), Stats.Round(executedGflops, 3),
            execution, csSide, pySide, ratio, paired, cpuRatio);
    }

    /// <summary>One side's timed steps: wall and process-CPU seconds, and the loss of every step (warm-up included).</summary>
    private sealed class Samples
    {
        public List<double> Wall { get; } = [];
        public List<double> Cpu { get; } = [];
        public List<double> Losses { get; } = [];
    }

    private static void CsStep(SftTrainer trainer, Samples samples, bool timed)
    {
        // CPU time of the whole process (all threads: OpenMP and OpenBLAS workers), as Python's process_time.
        var cpu0 = Environment.CpuUsage.TotalTime;
        var start = Stopwatch.GetTimestamp();
        var report = trainer.TrainStep();
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var cpu = (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds;
        if (timed)
        {
            samples.Wall.Add(elapsed);
            samples.Cpu.Add(cpu);
        }
        samples.Losses.Add(report.Loss);
    }

    private void PyStep(Samples samples, bool timed)
    {
        if (_python is null) return;
        try
        {
            var answer = _python.Request(new JsonObject { ["cmd"] = "steps", ["n"] = 1 });
            if (timed)
            {
                samples.Wall.Add(answer["seconds"]![0]!.GetValue<double>());
                samples.Cpu.Add(answer["cpu_seconds"]![0]!.GetValue<double>());
            }
            samples.Losses.Add(answer["losses"]![0]!.GetValue<double>());
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or System.Text.Json.JsonException)
        {
            DropPython($"the Python side failed ({e.Message}); C# figures only");
        }
    }

    private long? SetUpPython(TrainStepShape shape)
    {
        if (_python is null) return null;
        try
        {
            var answer = _python.Request(new JsonObject { ["cmd"] = "setup", ["config"] = shape.ToPythonConfig(TrainStepBenchSettings.Seed, TrainStepBenchSettings.ScheduleSteps) });
            return answer["trainable_parameters"]?.GetValue<long>();
        }
        catch (InvalidOperationException e)
        {
            DropPython($"the Python side could not build model '{shape.Name}' ({e.Message}); C# figures only");
            return null;
        }
    }

    private void DropPython(string why)
    {
        _warnings.Add(why);
        _python?.Dispose();
        _python = null;
    }

    /// <summary>Uniform random token ids (seeded), every position labelled, no padding.</summary>
    private static Batch RandomBatch(TrainStepShape shape)
    {
        var rng = new Random(unchecked((int)TrainStepBenchSettings.Seed));
        var n = shape.Batch * shape.Sequence;
        var ids = new int[n];
        for (var i = 0; i < n; i++) ids[i] = rng.Next(shape.Vocab);
        return new Batch(shape.Batch, shape.Sequence, ids, (int[])ids.Clone(), Enumerable.Repeat(1, n).ToArray());
    }
}
