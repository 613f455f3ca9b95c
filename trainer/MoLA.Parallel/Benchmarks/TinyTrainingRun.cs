using MoLA.Training;
using System.Diagnostics;
using MoLA.Model.Adapters;
using MoLA.Model.Allocation;
using MoLA.Model.Llama;
using MoLA.Model.MoeLora;
using MoLA.Torch;
using MoLA.Training.Data;
using MoLA.Training.Tokenizers;
using MoLA.Training.Trainer;

namespace MoLA.Parallel.Benchmarks;

/// <summary>What a run is: the same for every rank of a job, and for the one-process reference.</summary>
public sealed record TinyRunOptions
{
    public int Steps { get; init; } = 20;
    /// <summary>Rows of one global batch (all ranks together); each rank gets GlobalBatch / world consecutive rows.</summary>
    public int GlobalBatch { get; init; } = 4;
    public int MicroBatches { get; init; } = 1;
    public double LearningRate { get; init; } = 2e-3;
    public int Hidden { get; init; } = 32;
    public int SeqLen { get; init; } = 24;
    /// <summary>Experts per layer (layer count = length).</summary>
    public int[] Experts { get; init; } = [4, 6];
    public int[] TopK { get; init; } = [2, 1];
    public int Layers => Experts.Length;
    /// <summary>Checkpoint every N steps into <see cref="OutputDir"/> (0 = never).</summary>
    public int CheckpointEvery { get; init; }
    public string? OutputDir { get; init; }
    /// <summary>Stop after this many completed steps (default <see cref="Steps"/>, the schedule's length).</summary>
    public int? StopAtStep { get; init; }
    /// <summary>Resume from the newest checkpoint in <see cref="OutputDir"/> first.</summary>
    public bool Resume { get; init; }
    /// <summary>Sleep per step (ms), so a test can kill a rank mid-run.</summary>
    public int SleepMs { get; init; }
    /// <summary>Where the model trains; it is built on the CPU (same initial weights everywhere) and then moved.</summary>
    public Device Device { get; init; } = Device.CPU;
    /// <summary>The parameters' dtype: Float64 for equivalence tests (tight whatever the CPU's kernels), Float32 as trained.</summary>
    public DType DType { get; init; } = DType.Float32;
}

/// <summary>What a rank reports: per-step losses and norms, its adapter tensors by name, expert loads and timings.</summary>
public sealed record TinyRunResult(
    int Rank, int WorldSize, List<double> Losses, List<double> GradNorms, Dictionary<string, double[]> Tensors,
    Dictionary<string, List<long[]>> ReceivedTokens, Dictionary<string, double> CollectiveSeconds,
    Dictionary<string, long> CollectiveBytes, List<double> StepSeconds, List<double> CommSeconds, int Buckets);

/// <summary>
/// A small LLaMA (default 2 layers, hidden 32, byte vocabulary) with MoE-LoRA adapters trained by
/// <see cref="SftTrainer"/> on statements of the embedded benchmark, dropout off (masks would differ per
/// rank), fp32. With <paramref name="groups"/> the run is one rank of a DP x EP job.
/// </summary>
public static class TinyTrainingRun
{
    public static TinyRunResult Run(TinyRunOptions o, ParallelGroups? groups, ExpertPlacement? placement, Action<int>? onStep = null,
        bool forceDispatcher = false, MoLA.Telemetry.TrainingMetrics? metrics = null)
    {
        var world = groups?.Topology.WorldSize ?? 1;
        var rank = groups?.Rank ?? 0;
        if (o.GlobalBatch % world != 0)
            throw new ArgumentException($"--batch {o.GlobalBatch} is not divisible by the world size {world}");
        var config = new LlamaConfig(hiddenSize: o.Hidden, intermediateSize: o.Hidden * 3 / 2, numHiddenLayers: o.Experts.Length,
            numAttentionHeads: 4, vocabSize: ByteLevelTokenizer.Size, numKeyValueHeads: 2, maxPositionEmbeddings: 64);
        var adapter = new MoeLoraAdapterConfig
        {
            Allocation = ExpertAllocation.FromLayers(o.Experts, o.TopK),
            Dropout = 0,
        };
        torch.manual_seed(7);
        using var model = new LlamaModel(config);
        MoeLoraAdapter.Attach(model, adapter);
        if (o.DType != DType.Float32) model.to(o.DType);
        if (o.Device.IsCuda) model.to(o.Device);
        using var engine = groups is null ? null : ParallelTrainingEngine.Attach(groups, model, placement, GradientBuckets.DefaultBucketBytes, forceDispatcher);
        if (engine is not null) engine.Metrics = metrics;
        var batches = Batches(o, config, rank, world);
        var options = new TrainerOptions
        {
            LearningRate = o.LearningRate, TotalSteps = o.Steps, MicroBatchesPerStep = o.MicroBatches, MaxGradNorm = 1.0, Seed = 11,
            CheckpointEvery = o.CheckpointEvery, OutputDir = o.OutputDir, KeepLastCheckpoints = 0,
        };
        using var trainer = new SftTrainer(model, adapter, batches, options) { Distributed = engine };
        var losses = new List<double>();
        var norms = new List<double>();
        var stepSeconds = new List<double>();
        var commSeconds = new List<double>();
        var received = new Dictionary<string, List<long[]>>();
        if (o.Resume) trainer.Resume();
        var watch = Stopwatch.StartNew();
        onStep?.Invoke(trainer.Step);
        // Train() steps and checkpoints (every rank gathers, rank 0 writes); the progress callback runs after each step.
        trainer.Progress = new InlineProgress<TrainerStepReport>(report =>
        {
            losses.Add(report.Loss);
            metrics?.RecordExpertTokens(trainer, report);
            norms.Add(report.GradNorm);
            stepSeconds.Add(engine?.LastStep?.TotalSeconds ?? watch.Elapsed.TotalSeconds);
            commSeconds.Add(engine?.LastStep?.CommunicationSeconds ?? 0);
            if (engine?.Dispatcher is { } d)
                foreach (var (name, counts) in d.ReceivedTokens)
                {
                    if (!received.TryGetValue(name, out var list)) received[name] = list = [];
                    list.Add(counts);
                }
            if (o.SleepMs > 0) Thread.Sleep(o.SleepMs);
            if (report.Step < (o.StopAtStep ?? o.Steps)) onStep?.Invoke(report.Step);
            watch.Restart();
        });
        trainer.Train(o.StopAtStep);
        var stats = engine?.Stats;
        return new TinyRunResult(rank, world, losses, norms, AdapterTensors(model), received,
            stats?.ByOperation.ToDictionary(kv => kv.Key, kv => kv.Value.Seconds) ?? [],
            stats?.ByOperation.ToDictionary(kv => kv.Key, kv => kv.Value.Bytes) ?? [], stepSeconds, commSeconds,
            engine?.GradientBucketCount ?? 0);
    }

    /// <summary>Global batches of GlobalBatch rows (all the same length), this rank's slice of each, in order.</summary>
    public static List<Batch> Batches(TinyRunOptions o, LlamaConfig config, int rank, int world)
    {
        var bench = EmbeddedBenchmark.Generate(seed: 99, trainPerTask: 8, testPerTask: 1);
        var sft = new SftTokenizer(new ByteLevelTokenizer(), options: new SftTokenizerOptions(CutoffLength: o.SeqLen));
        // Statements of varying length: padding makes the labelled-token counts differ between rows and ranks.
        var examples = DeterministicShuffle.Shuffle(bench.Train.Items.Select(i => i.Statement).ToList(), 5).Take(32)
            .Select(sft.TokenizeDocument).ToList();
        var global = Batcher.MakeBatches(examples, o.GlobalBatch, ByteLevelTokenizer.Pad, padToMultipleOf: o.SeqLen, dropLast: true).ToList();
        var per = o.GlobalBatch / world;
        return global.Select(b => b.Rows(rank * per, per)).ToList();
    }

    /// <summary>Router and per-expert A/B of every module under "{module}.router", "{module}.A{e}", "{module}.B{e}".</summary>
    public static Dictionary<string, double[]> AdapterTensors(LlamaModel model)
    {
        using var scope = torch.NewDisposeScope();
        var result = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var (_, a) in MoeLoraAdapter.Attached(model))
        {
            result[$"{a.Name}.router"] = Values(a.RouterWeight);
            for (var e = a.LocalExperts.First; e < a.LocalExperts.End; e++)
            {
                var (ta, tb) = a.ExpertTensors(e);
                result[$"{a.Name}.A{e}"] = Values(ta);
                result[$"{a.Name}.B{e}"] = Values(tb);
            }
        }
        return result;
    }

    /// <summary>A tensor's values as doubles (float32 values convert exactly).</summary>
    private static double[] Values(Tensor t) => t.detach().to(DType.Float64).cpu().contiguous().ToArray<double>();
}
