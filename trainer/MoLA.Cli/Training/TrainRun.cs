using System.Globalization;
using MoLA.Cli.Configuration;
using MoLA.Cli.Output;
using MoLA.Model.Adapters;
using MoLA.Model.Allocation;
using MoLA.Model.Llama;
using MoLA.Parallel;
using MoLA.Telemetry;
using MoLA.Torch;
using MoLA.Torch.IO;
using MoLA.Training;
using MoLA.Training.Data;
using MoLA.Training.Runs;
using MoLA.Training.Trainer;

namespace MoLA.Cli.Training;

/// <summary>How a `mola train` run ended.</summary>
public sealed record TrainResult(
    string RunDir,
    string Name,
    string Method,
    AllocationSummary Allocation,
    long TrainableParameters,
    int Steps,
    int TotalSteps,
    bool Interrupted,
    double FinalLoss,
    double TokensPerSecond,
    double? Mfu,
    double Seconds,
    EvaluationSummary? Evaluation,
    string? MetricsUrl,
    string? Checkpoint);

/// <summary>
/// One fine-tuning run from validated settings to a run directory: base model and tokenizer, data, adapters with
/// the configured allocation, <see cref="SftTrainer"/>, then the final adapter, expert load and evaluation. Per step
/// it appends to metrics.jsonl, updates Prometheus instruments and the progress display. Cancellation (Ctrl-C)
/// stops after the step in progress and writes a checkpoint that `--resume` continues exactly.
/// </summary>
public sealed class TrainRun(TrainSettings settings, TextWriter log, bool interactive, IRunEvaluator evaluator)
{
    /// <summary>Runs to the end (or to cancellation). Throws <see cref="SettingException"/> for bad input before any write.</summary>
    public TrainResult Execute(CancellationToken cancel = default)
    {
        var s = settings;
        var started = DateTime.UtcNow;
        torch.set_num_threads(s.Threads);
        AgentProgress.ExitWithAgent(log);
        var device = s.Device == "cuda" ? RequireCuda() : Device.CPU;

        // Under `mola launch` (or RANK/WORLD_SIZE/MASTER_* from Kubernetes) this process is one rank of a dp x ep job:
        // every rank trains on its slice of each global micro-batch; under ep > 1 each holds a shard of every module's
        // experts. Rank 0 alone writes the run directory (checkpoints and the adapter gather the experts to it first).
        var rendezvous = RendezvousInfo.IsPresent() ? RendezvousInfo.FromEnvironment() : null;
        var rank = rendezvous?.Rank ?? 0;
        var world = rendezvous?.Topology.WorldSize ?? 1;
        var expertParallel = rendezvous?.Topology.ExpertParallel ?? 1;
        var placement = rendezvous?.PlacementFile is { } placementFile ? ExpertPlacement.Load(placementFile, expertParallel) : null;
        if (s.MicroBatchSize % world != 0)
            throw new SettingException($"micro-batch-size: {s.MicroBatchSize} must be divisible by the {world} data-parallel ranks");
        if (world > 1 && s.ActivationCheckpointing)
            throw new SettingException("activation-checkpointing: not supported with data-parallel ranks yet");
        var writer = rank == 0;

        // Everything that can be wrong with the input is checked before the run directory is touched.
        var baseDir = ModelResolver.ResolveBaseModel(s.BaseModel);
        var tokenizer = ModelResolver.LoadTokenizer(baseDir);
        var data = RunData.Load(s);
        var run = new RunDirectory(s.Out);
        // auto (a cluster rank, relaunched after a silo or node restart): resume exactly when a complete checkpoint
        // exists, else start over. Every rank decides alike: a fresh run cannot have written a checkpoint before all
        // of its ranks joined the rendezvous.
        var resume = s.Resume || (s.ResumeAuto && TrainerCheckpoint.List(run.Path).Count > 0);
        // The metrics server starts before anything is written, so a busy port fails the run cleanly.
        var runName = s.Name ?? Path.GetFileName(run.Path.TrimEnd(Path.DirectorySeparatorChar));
        using var metrics = new TrainingMetrics(TrainingMetrics.MeterName, runName, rank);
        using var endpoint = StartMetricsServer(s, metrics, rendezvous is null ? 0 : LocalRank(rank));
        if (endpoint is not null) log.WriteLine($"metrics: {endpoint.Url}");
        if (device.Type == DeviceType.CUDA) GpuMemory.TryObserve(metrics.Meter, metrics.Labels);
        if (writer && run.IsRun && !resume && !s.ResumeAuto)
            throw new SettingException($"out: {run.Path} already holds a run (run.json); pass --resume to continue it, or choose another directory");
        if (s.Resume && !run.IsRun) throw new SettingException($"resume: {run.Path} holds no run to resume");
        var baseConfig = LlamaConfig.Load(baseDir);
        var allocation = BuildAllocation(s, baseConfig.NumHiddenLayers);

        var sft = new SftTokenizer(tokenizer, PromptTemplate.Named(s.PromptTemplate), new SftTokenizerOptions(s.CutoffLength, s.LossOn));
        var tokenized = Tokenize(sft, data.Train, writer).Examples;
        if (tokenized.Count == 0)
            throw new SettingException($"cutoff-len: {s.CutoffLength} tokens cut off the answer of every training example; raise it");
        var accumulation = s.BatchSize / s.MicroBatchSize;
        var totalSteps = s.Steps ?? Math.Max(1, (int)Math.Ceiling(s.Epochs * tokenized.Count / s.BatchSize));
        var warmup = s.WarmupSteps ?? Math.Min(100, totalSteps / 10);
        if (warmup > totalSteps) throw new SettingException($"warmup-steps: {warmup} is more than the run's {totalSteps} steps");
        var batches = BuildBatches(tokenized, s.MicroBatchSize, (long)totalSteps * accumulation, s.Seed, tokenizer.PadId ?? 0);
        if (world > 1) batches = batches.Select(b => b.Rows(rank * b.BatchSize / world, b.BatchSize / world)).ToList();

        var loadOptions = new LlamaLoadOptions { Device = device, FreezeBaseWeights = true, DType = s.DType == "float64" ? DType.Float64 : DType.Float32 };
        using var model = LlamaCheckpoint.Load(baseDir, loadOptions);
        var adapterConfig = new MoeLoraAdapterConfig
        {
            Allocation = allocation,
            TargetModules = s.TargetModules,
            LoraAlpha = s.LoraAlpha,
            Dropout = s.Dropout,
            BaseModel = baseDir,
        };
        torch.manual_seed(s.Seed);
        MoeLoraAdapter.Attach(model, adapterConfig);
        var options = new TrainerOptions
        {
            LearningRate = s.LearningRate,
            WarmupSteps = warmup,
            TotalSteps = totalSteps,
            WeightDecay = s.WeightDecay,
            MaxGradNorm = s.MaxGradNorm,
            MicroBatchesPerStep = accumulation,
            Seed = s.Seed,
            AuxLossCoefficient = s.AuxLossCoefficient,
            ContrastiveLossCoefficient = s.ContrastiveLossCoefficient,
            RouterZLossCoefficient = s.ZLossCoefficient,
            ActivationCheckpointing = s.ActivationCheckpointing,
            AutocastDType = s.Bf16 ? DType.BFloat16 : null,
            CheckpointEvery = s.CheckpointEvery,
            KeepLastCheckpoints = s.KeepLast,
            OutputDir = run.Path,
        };
        using var groups = rendezvous is null ? null : ParallelGroups.Join(rendezvous, modelDevice: model.Device);
        using var engine = groups is null ? null : ParallelTrainingEngine.Attach(groups, model, placement);
        using var trainer = new SftTrainer(model, adapterConfig, batches, options) { Distributed = engine };
        using var evalModels = new EvaluationModel(model, expertParallel > 1, writer, () =>
            LlamaCheckpoint.Load(baseDir, loadOptions), adapterConfig);
        // Counted from the modules' shapes: under ep > 1 a rank's own tensors hold only its experts.
        var trainable = trainer.Modules.Sum(m => m.Linear.RouterWeight.NumEl + (long)m.Linear.NumExperts * m.Linear.Rank * (m.Linear.InFeatures + m.Linear.OutFeatures));
        var name = runName;
        var allocationSummary = Summary(s, allocation);

        var previousLoad = new long[trainer.Modules.Count][];
        if (resume)
        {
            var checkpoint = trainer.Resume() ?? throw new SettingException($"resume: {run.Path} has no complete checkpoint-N directory");
            log.WriteLine($"resumed from {checkpoint} at step {trainer.Step}/{totalSteps}");
            if (writer) run.ResetSteps(trainer.Step);
            var load = run.ReadExpertLoad();
            for (var m = 0; m < trainer.Modules.Count; m++)
                previousLoad[m] = load?.Modules.FirstOrDefault(x => x.Layer == trainer.Modules[m].Layer && x.Module == trainer.Modules[m].Module)?.Tokens
                    ?? new long[trainer.Modules[m].Linear.NumExperts];
        }
        else
        {
            for (var m = 0; m < trainer.Modules.Count; m++) previousLoad[m] = new long[trainer.Modules[m].Linear.NumExperts];
            if (writer) run.ResetSteps();
        }
        if (writer) run.WriteManifest(new RunManifest(name, s.Method, started.ToString("O", CultureInfo.InvariantCulture), baseDir, allocationSummary,
            trainable, totalSteps, s.Raw));

        var peak = s.PeakGflops ?? MeasurePeakGflops();
        var flopsPerToken = TrainingFlops.PerToken(model, trainer.Modules.Select(m => m.Linear), s.CutoffLength);
        if (engine is not null) engine.Metrics = metrics;
        metrics.RecordProgress(trainer.Step, totalSteps);
        var progress = new ProgressDisplay(log, interactive, totalSteps, s.LogEvery);
        double lastLoss = double.NaN, tokens = 0, seconds = 0;
        double? lastMfu = null;
        trainer.Progress = new InlineProgress<TrainerStepReport>(r =>
        {
            var tps = r.Tokens / Math.Max(r.Seconds, 1e-9);
            var mfu = peak > 0 ? TrainingFlops.Mfu(r.Tokens, flopsPerToken, r.Seconds, peak, world) : (double?)null;
            if (writer) run.AppendStep(new StepRecord(r.Step, r.Loss, r.AuxLoss, r.LearningRate, r.Tokens, tps, r.GradNorm, r.Seconds, mfu));
            metrics.RecordStep(r.Tokens, r.Seconds, r.Loss, r.LearningRate, mfu ?? 0);
            if (s.AuxLossCoefficient != 0) metrics.RecordAux("aux", r.AuxLoss);
            if (s.ContrastiveLossCoefficient != 0) metrics.RecordAux("contrastive", r.ContrastiveLoss);
            if (s.ZLossCoefficient != 0) metrics.RecordAux("z", r.ZLoss);
            metrics.RecordExpertTokens(trainer, r);
            metrics.RecordProgress(r.Step, totalSteps);
            progress.Step(r.Step, r.Loss, tps, r.LearningRate);
            AgentProgress.Step(r.Step, totalSteps, r.Loss, tps);
            lastLoss = r.Loss;
            lastMfu = mfu;
            tokens += r.Tokens;
            seconds += r.Seconds;
        });

        while (trainer.Step < totalSteps && !cancel.IsCancellationRequested)
        {
            var stop = NextEvaluation(s, trainer.Step, totalSteps);
            trainer.Train(stop, cancel);
            var load = JobExpertTokens(trainer, engine); // every rank: a collective under dp/ep
            if (writer) WriteExpertLoad(run, trainer, load, previousLoad);
            // Decided alike on every rank (no rank test): under ep > 1 the evaluation model needs every rank's experts.
            if (trainer.Step == stop && stop < totalSteps && !cancel.IsCancellationRequested && data.Eval.Count > 0
                && evalModels.For(trainer) is { } evalModel)
            {
                var interim = evaluator.Evaluate(evalModel, tokenizer, data.Eval, s);
                progress.Message($"eval at step {trainer.Step}: " + string.Join("  ", interim.Rows.Where(r => r.Task == "all")
                    .Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Format} {r.Accuracy:P1} [{r.CiLow:P1}, {r.CiHigh:P1}]"))));
                if (writer) AgentProgress.Evaluation(trainer.Step, interim);
            }
        }
        progress.EndLine();

        // Checkpoints and the adapter: every rank takes part (experts are gathered), rank 0 writes.
        string? checkpointPath = null;
        var interrupted = trainer.Step < totalSteps;
        if (interrupted)
        {
            checkpointPath = trainer.SaveCheckpoint();
            if (writer) progress.Message($"interrupted at step {trainer.Step}/{totalSteps}: checkpoint written to {checkpointPath}; continue with --resume");
        }
        else if (s.CheckpointEvery > 0 && trainer.Step % s.CheckpointEvery != 0)
        {
            checkpointPath = trainer.SaveCheckpoint();
        }

        EvaluationSummary? evaluation = null;
        if (!interrupted)
        {
            WriteAdapterAtomically(trainer, run.AdapterPath);
            if (data.Eval.Count > 0 && evalModels.For(trainer) is { } evalModel)
            {
                evaluation = evaluator.Evaluate(evalModel, tokenizer, data.Eval, s);
                run.WriteEvaluation(evaluation);
                if (writer) AgentProgress.Evaluation(trainer.Step, evaluation);
            }
        }
        var tokensPerSecond = seconds > 0 ? tokens / seconds : 0;
        return new TrainResult(run.Path, name, s.Method, allocationSummary, trainable, trainer.Step, totalSteps, interrupted, lastLoss,
            tokensPerSecond, lastMfu, (DateTime.UtcNow - started).TotalSeconds, evaluation, endpoint?.Url.ToString(), checkpointPath);
    }

    /// <summary>The step the loop trains to next: the next multiple of eval-every or eval-at step, else the end.</summary>
    internal static int NextEvaluation(TrainSettings s, long step, int totalSteps)
    {
        var stop = s.EvalEvery > 0 ? (int)Math.Min(totalSteps, (step / s.EvalEvery + 1) * s.EvalEvery) : totalSteps;
        foreach (var at in s.EvalAt)
            if (at > step) return Math.Min(stop, Math.Min(at, totalSteps));
        return stop;
    }

    /// <summary>The experts per layer the settings ask for (plain LoRA: one expert, top-1, no routing choice).</summary>
    public static ExpertAllocation BuildAllocation(TrainSettings s, int layers)
    {
        try
        {
            if (s.Method == "lora")
                return ExpertAllocation.FromLayers(Enumerable.Repeat(1, layers).ToArray(), Enumerable.Repeat(1, layers).ToArray(),
                    AllocationShape.ParseLayerValues(s.Rank, layers, "rank"), provenance: new AllocationProvenance("lora"));
            return s.Strategy switch
            {
                "mola" => ExpertAllocation.Parse(s.Shape, layers, s.TopK, s.Rank),
                "uniform" => Uniform(s, layers),
                _ => ExpertAllocation.FromLayers(AllocationShape.ParseLayerValues(s.Experts, layers, "experts"),
                    AllocationShape.ParseLayerValues(s.TopK, layers, "top-k"), AllocationShape.ParseLayerValues(s.Rank, layers, "rank")),
            };
        }
        catch (ArgumentException e)
        {
            var field = e is AllocationException { Field: var f } && f.Length > 0 ? (f == "topK" ? "top-k" : f)
                : s.Method == "lora" ? "rank" : s.Strategy == "mola" ? "shape" : "experts";
            if (!TrainSettings.Specs.Any(spec => spec.Name == field)) field = s.Strategy == "mola" ? "shape" : "experts";
            // The allocation's messages start with the field's name; the origin prefix names it already.
            var message = e.Message;
            foreach (var name in new[] { field, (e as AllocationException)?.Field })
                if (name is { Length: > 0 } && message.StartsWith(name + " ", StringComparison.Ordinal)) message = message[(name.Length + 1)..];
            throw s.Invalid(field, $"{message} (the base model has {layers} layers)");
        }
    }

    /// <summary>Tokenizes the training set on all cores, logging progress about every 10 % (rank 0 only).</summary>
    private TokenizationResult Tokenize(SftTokenizer sft, IReadOnlyList<SftExample> train, bool writer)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int step = Math.Max(1, train.Count / 10), next = step;
        var progress = writer ? new InlineProgress<int>(done =>
        {
            if (done < next && done < train.Count) return;
            next = done + step;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"tokenizing: {done}/{train.Count} examples ({clock.Elapsed.TotalSeconds:F1} s, {Environment.ProcessorCount} threads)"));
        }) : null;
        return sft.TokenizeAll(train, progress);
    }

    private static ExpertAllocation Uniform(TrainSettings s, int layers)
    {
        if (s.Experts.Contains(',')) throw new ArgumentException($"strategy uniform takes one expert count, got the list '{s.Experts}'");
        var a = ExpertAllocation.Parse(s.Experts, layers, s.TopK, s.Rank);
        return ExpertAllocation.FromLayers(a.Experts, a.TopK, a.Ranks, provenance: new AllocationProvenance(AllocationStrategies.Uniform));
    }

    private static AllocationSummary Summary(TrainSettings s, ExpertAllocation a) => new(
        s.Method == "lora" ? "lora" : s.Strategy,
        s.Method == "moe-lora" && s.Strategy == "mola" ? s.Shape : null,
        a.Experts.ToArray(), a.TopK.ToArray(), a.Ranks.ToArray());

    /// <summary>
    /// The run's micro-batches in data order: epoch e visits the examples in the seeded permutation (seed, e); the
    /// order is a function of the seed only, so a resumed run reads the same batches.
    /// </summary>
    public static List<Batch> BuildBatches(IReadOnlyList<TokenizedExample> examples, int microBatchSize, long microBatches, ulong seed, int padId)
    {
        var order = new List<TokenizedExample>();
        var needed = microBatches * microBatchSize;
        for (var epoch = 0; order.Count < needed; epoch++)
            foreach (var i in DeterministicShuffle.Permutation(examples.Count, seed, epoch))
                order.Add(examples[i]);
        return Batcher.MakeBatches(order.Take((int)needed).ToList(), microBatchSize, padId).ToList();
    }

    /// <summary>This process's routing counts per module, summed over all ranks of a dp x ep job (each rank routes its own tokens).</summary>
    private static long[][] JobExpertTokens(SftTrainer trainer, ParallelTrainingEngine? engine)
    {
        var local = trainer.ExpertTokens;
        if (engine is null) return local.Select(c => c.ToArray()).ToArray();
        var sum = engine.SumOverWorld(local.SelectMany(c => c).ToArray());
        var result = new long[local.Count][];
        for (int m = 0, offset = 0; m < local.Count; offset += local[m].Length, m++)
            result[m] = sum.AsSpan(offset, local[m].Length).ToArray();
        return result;
    }

    private static void WriteExpertLoad(RunDirectory run, SftTrainer trainer, long[][] counts, long[][] previous)
    {
        var modules = trainer.Modules.Select((m, i) => new ModuleExpertLoad(m.Layer, m.Module,
            previous[i].Zip(counts[i], (a, b) => a + b).ToArray())).ToList();
        run.WriteExpertLoad(new ExpertLoadReport(trainer.Step, modules));
    }

    // The adapter goes to a sibling temp directory first, so adapter/ is either the previous one or the complete new one.
    // Every rank calls this (the experts are gathered); only the writing rank writes.
    private static void WriteAdapterAtomically(SftTrainer trainer, string directory)
    {
        var tmp = directory + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            if (!trainer.SaveAdapter(tmp)) return;
            AtomicDirectory.Replace(tmp, directory);
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        }
    }

    // Ranks on one machine cannot share a port: local rank i serves PORT + i (port 0: each picks a free one).
    private static MetricsServer? StartMetricsServer(TrainSettings s, TrainingMetrics metrics, int localRank)
    {
        if (s.MetricsPort is not { } port) return null;
        var actual = port == 0 ? 0 : port + localRank;
        if (actual > ushort.MaxValue)
            throw s.Invalid("metrics-port", $"{port} + local rank {localRank} is past the last port {ushort.MaxValue}");
        try
        {
            return MetricsServer.Start(actual, metrics.Meter.Name);
        }
        catch (InvalidOperationException e)
        {
            throw s.Invalid("metrics-port", localRank == 0 ? e.Message : $"{e.Message} (local rank {localRank} serves {port} + {localRank})");
        }
    }

    private static int LocalRank(int rank) =>
        int.TryParse(Environment.GetEnvironmentVariable(RendezvousInfo.LocalRankVar), NumberStyles.None, CultureInfo.InvariantCulture, out var local) ? local : rank;

    private static double MeasurePeakGflops()
    {
        using var gemm = new Benchmarks.GemmBenchmark(1024);
        var times = gemm.Run(warmup: 2, runs: 5);
        return gemm.Gflops(times.Min());
    }

    private static Device RequireCuda()
    {
        if (!torch.cuda.is_built) throw new SettingException("device: cuda was asked for, but libmola_torch was built without CUDA (CPU libtorch)");
        if (!torch.cuda.is_available()) throw new SettingException("device: cuda was asked for, but no CUDA GPU is visible");
        return Device.CUDA(0);
    }
}

/// <summary>Evaluates a model with adapters on evaluation items, as the settings' eval-format asks.</summary>
public interface IRunEvaluator
{
    EvaluationSummary Evaluate(LlamaModel model, MoLA.Training.Tokenizers.ITokenizer tokenizer, IReadOnlyList<EvalItem> items, TrainSettings settings);
}
