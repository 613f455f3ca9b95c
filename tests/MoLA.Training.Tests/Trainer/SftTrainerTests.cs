using MoLA.Training;
using MoLA.Model.Adapters;
using MoLA.Model.Allocation;
using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Training.Data;
using MoLA.Training.Tokenizers;
using MoLA.Training.Trainer;

namespace MoLA.Training.Tests.Trainer;

/// <summary>
/// The SFT trainer on a tiny LLaMA (hidden 32, 2 layers, 4 heads, byte-level vocabulary of 259) with a
/// MoLA "24" adapter, on short statements of the embedded benchmark. All tests are in this one class
/// so xunit runs them one at a time: libtorch's generator is process-wide.
/// </summary>
public sealed class SftTrainerTests : IDisposable
{
    private const int SeqLen = 24;
    private const ulong ModelSeed = 7;

    private static readonly LlamaConfig Config = new(hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4,
        vocabSize: ByteLevelTokenizer.Size, numKeyValueHeads: 2, maxPositionEmbeddings: 64);

    private static readonly IReadOnlyList<TokenizedExample> Examples = MakeExamples(16);

    private readonly string _root = Directory.CreateTempSubdirectory("mola-trainer-tests-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }

    private static IReadOnlyList<TokenizedExample> MakeExamples(int count)
    {
        var bench = EmbeddedBenchmark.Generate(seed: 99, trainPerTask: 8, testPerTask: 1);
        var sft = new SftTokenizer(new ByteLevelTokenizer(), options: new SftTokenizerOptions(CutoffLength: SeqLen));
        var statements = bench.Train.Items.Select(i => i.Statement).Where(s => s.Length >= SeqLen).ToList();
        var order = DeterministicShuffle.Shuffle(statements, 5);
        return order.Take(count).Select(sft.TokenizeDocument).ToList();
    }

    private static List<Batch> Batches(int batchSize) =>
        Batcher.MakeBatches(Examples, batchSize, ByteLevelTokenizer.Pad, padToMultipleOf: SeqLen).ToList();

    private static MoeLoraAdapterConfig AdapterConfig(double dropout) => new()
    {
        Allocation = ExpertAllocation.FromShape("24", Config.NumHiddenLayers),
        Dropout = dropout,
    };

    /// <summary>
    /// Equivalences (masked = causal, accumulated = one batch, checkpointed = plain backward) run in float64: the two
    /// sides sum the same terms in another order, ~1e-16 relative per sum, and AdamW turns a gradient difference dg
    /// into an update difference of at most lr * dg / eps (eps 1e-8): ~5e-11 per step at lr 5e-3, so 1e-9 bounds
    /// every adapter element and loss over these 4-5 steps whatever kernels the CPU's BLAS picks. A real error is far
    /// above it: one micro-batch weighted 1e-8 too high already moves the step's loss by ~3e-8, and a lost layer's
    /// aux loss or gradient moves losses and elements by 1e-4 and more.
    /// </summary>
    private const double Float64Tolerance = 1e-9;

    /// <summary>The same base weights and initial adapter for the same seed, as a fresh process would build them.</summary>
    private static LlamaModel BuildModel(MoeLoraAdapterConfig adapter, DType dtype = DType.Float32)
    {
        torch.manual_seed(ModelSeed);
        var model = new LlamaModel(Config, dtype);
        MoeLoraAdapter.Attach(model, adapter);
        return model;
    }

    // Every adapter element, as doubles (exact for a float32 adapter).
    private static double[] AdapterValues(LlamaModel model)
    {
        using var scope = torch.NewDisposeScope();
        var values = new List<double>();
        foreach (var (_, a) in MoeLoraAdapter.Attached(model).OrderBy(a => a.Key.Layer).ThenBy(a => a.Key.Projection))
            foreach (var t in new[] { a.RouterWeight, a.LoraA, a.LoraB })
                values.AddRange(t.detach().to(DType.Float64).contiguous().ToArray<double>());
        return values.ToArray();
    }

    private static void AssertClose(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tolerance, $"max |difference| {worst} > {tolerance}");
    }

    [Fact]
    public void ExamplesFillTheSequenceLength()
    {
        Assert.Equal(16, Examples.Count);
        Assert.All(Batches(4), b => Assert.Equal(SeqLen, b.SequenceLength));
    }

    [Fact]
    public void LossDecreasesOverThirtySteps()
    {
        var adapter = AdapterConfig(0.05);
        using var model = BuildModel(adapter);
        var options = new TrainerOptions { LearningRate = 1e-2, WarmupSteps = 3, TotalSteps = 30, Seed = 11 };
        using var trainer = new SftTrainer(model, adapter, Batches(4), options);
        var seen = new List<TrainerStepReport>();
        trainer.Progress = new InlineProgress<TrainerStepReport>(seen.Add);
        var reports = trainer.Train();
        Assert.Equal(30, reports.Count);
        Assert.Equal(reports, seen);
        Assert.Equal(Enumerable.Range(1, 30), reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.True(double.IsFinite(r.Loss) && r.GradNorm > 0 && r.Tokens > 0 && r.Seconds >= 0));
        Assert.Equal(options.LearningRate / 3, reports[0].LearningRate, 12);
        Assert.Equal(30, trainer.DataPosition);
        var first = reports.Take(4).Average(r => r.Loss);   // one pass over the 4 batches
        var last = reports.TakeLast(4).Average(r => r.Loss);
        Assert.True(last < first - 0.3, $"loss went from {first} to {last}");
    }

    [Theory]
    [InlineData(new[] { 1, 1, 1, 1, 1, 1 }, true)]     // no padding
    [InlineData(new[] { 1, 1, 1, 1, 0, 0 }, true)]     // right padding (what Batcher makes)
    [InlineData(new[] { 0, 1, 1, 1, 1, 1 }, false)]    // left padding
    [InlineData(new[] { 1, 1, 0, 1, 1, 1 }, false)]    // a hole
    [InlineData(new[] { 1, 1, 1, 0, 0, 0 }, true)]
    public void TheModelGetsNoMaskOnlyWhenEveryRowIsRightPadded(int[] secondRow, bool causalOnly)
    {
        int[] mask = [1, 1, 1, 1, 1, 1, .. secondRow];
        var batch = new Batch(2, 6, new int[12], new int[12], mask);
        using var tensor = torch.ones([2, 6], DType.Int64);
        Assert.Equal(causalOnly, SftTrainer.ModelMask(batch, tensor) is null);
        var allPadRow = new Batch(2, 6, new int[12], new int[12], [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
        Assert.NotNull(SftTrainer.ModelMask(allPadRow, tensor));
    }

    [Fact]
    public void OnRightPaddedBatchesCausalAttentionGivesTheMaskedLogitsAtEveryRealPosition()
    {
        // What ModelMask relies on: a real query of a right-padded row only sees real keys either way.
        var sft = new SftTokenizer(new ByteLevelTokenizer(), options: new SftTokenizerOptions(CutoffLength: SeqLen));
        var examples = new[] { "3 + 4 = 7.", "The largest of 1, 9 is 9.", "abc" }.Select(sft.TokenizeDocument).ToList();
        var batch = Batcher.Pad(examples, ByteLevelTokenizer.Pad);
        Assert.Contains(0, batch.AttentionMask);
        using var model = BuildModel(AdapterConfig(0), DType.Float64);
        using var scope = torch.NewDisposeScope();
        var ids = torch.tensor(batch.InputIds.Select(x => (long)x).ToArray(), batch.BatchSize, batch.SequenceLength);
        var mask = torch.tensor(batch.AttentionMask.Select(x => (long)x).ToArray(), batch.BatchSize, batch.SequenceLength);
        Assert.Null(SftTrainer.ModelMask(batch, mask));
        var masked = model.forward(ids, mask);
        var causal = model.forward(ids, attentionMask: null);
        var isPad = mask.eq(0).unsqueeze(2);
        var difference = masked.sub(causal).abs();
        var worst = difference.masked_fill(isPad, 0).max().item();
        Assert.True(worst <= Float64Tolerance, $"max |difference| at real positions {worst}");
        Assert.True(difference.max().item() > 0, "the pad positions should differ (else the test proves nothing)");
    }

    [Fact]
    public void TwoMicroBatchesOfTwoEqualOneBatchOfFour()
    {
        var adapter = AdapterConfig(0);
        double[] big, accumulated;
        TrainerStepReport[] bigReports, accReports;
        var options = new TrainerOptions { LearningRate = 5e-3, TotalSteps = 5, Seed = 3 };
        using (var model = BuildModel(adapter, DType.Float64))
        using (var trainer = new SftTrainer(model, adapter, Batches(4), options))
        {
            bigReports = trainer.Train().ToArray();
            big = AdapterValues(model);
        }
        using (var model = BuildModel(adapter, DType.Float64))
        using (var trainer = new SftTrainer(model, adapter, Batches(2), options with { MicroBatchesPerStep = 2 }))
        {
            accReports = trainer.Train().ToArray();
            accumulated = AdapterValues(model);
            Assert.Equal(10, trainer.DataPosition);
        }
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(bigReports[i].Tokens, accReports[i].Tokens);
            Assert.Equal(bigReports[i].Loss, accReports[i].Loss, Float64Tolerance);
        }
        AssertClose(big, accumulated, Float64Tolerance);
    }

    [Fact]
    public void ResumeFromACheckpointReproducesTheUninterruptedRun()
    {
        var adapter = AdapterConfig(0.05);   // dropout on: the per-step seeding must reproduce the masks
        var batches = Batches(4);
        var options = new TrainerOptions { LearningRate = 5e-3, WarmupSteps = 2, TotalSteps = 10, Seed = 21, CheckpointEvery = 4, KeepLastCheckpoints = 0 };
        double[] uninterrupted;
        using (var model = BuildModel(adapter))
        using (var trainer = new SftTrainer(model, adapter, batches, options with { OutputDir = Path.Combine(_root, "full") }))
        {
            trainer.Train();
            uninterrupted = AdapterValues(model);
        }

        var interruptedDir = Path.Combine(_root, "interrupted");
        var interruptedOptions = options with { OutputDir = interruptedDir };
        using (var model = BuildModel(adapter))
        using (var trainer = new SftTrainer(model, adapter, batches, interruptedOptions))
        {
            Assert.Equal(8, trainer.Train(stopAtStep: 8).Count);
        }
        Assert.Equal([4, 8], TrainerCheckpoint.List(interruptedDir).Select(c => c.Step));

        // A fresh start: new model from the same seed, adapters attached, and libtorch's generator moved on.
        using (var model = BuildModel(adapter))
        using (var trainer = new SftTrainer(model, adapter, batches, interruptedOptions))
        {
            torch.manual_seed(12345);
            var resumed = trainer.Resume();
            Assert.Equal(Path.Combine(interruptedDir, "checkpoint-8"), resumed);
            Assert.Equal(8, trainer.Step);
            Assert.Equal(8, trainer.DataPosition);
            Assert.Equal(8, trainer.Optimizer.StepCount);
            var rest = trainer.Train();
            Assert.Equal([9, 10], rest.Select(r => r.Step));
            // Bitwise: the resumed steps replay the same operations on the same values (adapter and AdamW moments
            // restored exactly, dropout reseeded per step) on the same machine and thread count.
            Assert.Equal(uninterrupted, AdapterValues(model));
        }
    }

    [Fact]
    public void ResumeRefusesACheckpointOfOtherOptionsAndReturnsNullWhenThereIsNone()
    {
        var adapter = AdapterConfig(0);
        var dir = Path.Combine(_root, "run");
        var options = new TrainerOptions { TotalSteps = 4, CheckpointEvery = 2, OutputDir = dir };
        using var model = BuildModel(adapter);
        using (var trainer = new SftTrainer(model, adapter, Batches(4), options))
        {
            Assert.Null(trainer.Resume());
            trainer.Train(stopAtStep: 2);
        }
        using var other = new SftTrainer(model, adapter, Batches(4), options with { LearningRate = 1e-3 });
        var e = Assert.Throws<TrainerException>(() => other.Resume());
        Assert.Contains("different trainer options", e.Message);
    }

    [Fact]
    public void KeepLastDeletesOlderCheckpointsAndIncompleteDirectoriesAreIgnored()
    {
        var adapter = AdapterConfig(0);
        var dir = Path.Combine(_root, "keep");
        Directory.CreateDirectory(Path.Combine(dir, "checkpoint-99"));   // no trainer_state.json: incomplete
        using var model = BuildModel(adapter);
        using var trainer = new SftTrainer(model, adapter, Batches(4),
            new TrainerOptions { TotalSteps = 5, CheckpointEvery = 1, KeepLastCheckpoints = 2, OutputDir = dir });
        trainer.Train();
        Assert.Equal([4, 5], TrainerCheckpoint.List(dir).Select(c => c.Step));
        Assert.Equal(Path.Combine(dir, "checkpoint-5"), TrainerCheckpoint.FindLatest(dir));
        Assert.DoesNotContain(Directory.EnumerateDirectories(dir), d => Path.GetFileName(d).StartsWith(".tmp", StringComparison.Ordinal));
        var state = TrainerCheckpoint.ReadState(Path.Combine(dir, "checkpoint-5"));
        Assert.Equal(5, state.Step);
        Assert.Equal(5, state.DataPosition);
        Assert.Equal(5, state.OptimizerStepCount);
        Assert.Equal(42UL, state.Seed);
        Assert.Equal(trainer.Parameters.Count, state.ParameterNames.Count);
        Assert.Equal(adapter.Allocation.Experts, MoeLoraAdapter.ReadConfig(Path.Combine(dir, "checkpoint-5")).Allocation.Experts);
    }

    public static TheoryData<string, TrainerOptions> InvalidOptions() => new()
    {
        { nameof(TrainerOptions.LearningRate), new TrainerOptions { LearningRate = 0 } },
        { nameof(TrainerOptions.LearningRate), new TrainerOptions { LearningRate = double.NaN } },
        { nameof(TrainerOptions.TotalSteps), new TrainerOptions { TotalSteps = 0 } },
        { nameof(TrainerOptions.WarmupSteps), new TrainerOptions { TotalSteps = 10, WarmupSteps = 11 } },
        { nameof(TrainerOptions.WarmupSteps), new TrainerOptions { WarmupSteps = -1 } },
        { nameof(TrainerOptions.WeightDecay), new TrainerOptions { WeightDecay = -0.1 } },
        { nameof(TrainerOptions.MaxGradNorm), new TrainerOptions { MaxGradNorm = 0 } },
        { nameof(TrainerOptions.MicroBatchesPerStep), new TrainerOptions { MicroBatchesPerStep = 0 } },
        { nameof(TrainerOptions.AuxLossCoefficient), new TrainerOptions { AuxLossCoefficient = -1 } },
        { nameof(TrainerOptions.CheckpointEvery), new TrainerOptions { CheckpointEvery = -1 } },
        { nameof(TrainerOptions.KeepLastCheckpoints), new TrainerOptions { KeepLastCheckpoints = -1 } },
        { nameof(TrainerOptions.OutputDir), new TrainerOptions { CheckpointEvery = 5 } },
        { nameof(TrainerOptions.ContrastiveLossCoefficient), new TrainerOptions { ContrastiveLossCoefficient = -0.5 } },
        { nameof(TrainerOptions.RouterZLossCoefficient), new TrainerOptions { RouterZLossCoefficient = double.PositiveInfinity } },
        { nameof(TrainerOptions.ActivationCheckpointing), new TrainerOptions { ActivationCheckpointing = true, ContrastiveLossCoefficient = 0.1 } },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void InvalidOptionsNameTheField(string field, TrainerOptions options)
    {
        var e = Assert.Throws<TrainerOptionsException>(options.Validate);
        Assert.Equal(field, e.ParamName);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void DefaultsAreValidAndTheHashIgnoresCheckpointing()
    {
        var defaults = new TrainerOptions();
        defaults.Validate();
        Assert.Equal(3e-4, defaults.LearningRate);
        Assert.Equal(1.0, defaults.MaxGradNorm);
        Assert.Equal(0, defaults.AuxLossCoefficient);
        Assert.Equal(defaults.TrajectoryHash(), (defaults with { OutputDir = "x", CheckpointEvery = 3, KeepLastCheckpoints = 9 }).TrajectoryHash());
        Assert.NotEqual(defaults.TrajectoryHash(), (defaults with { Seed = 1 }).TrajectoryHash());
    }

    [Fact]
    public void AuxLossIsReportedWhenOn()
    {
        var adapter = AdapterConfig(0);
        using var model = BuildModel(adapter);
        using var trainer = new SftTrainer(model, adapter, Batches(4), new TrainerOptions { TotalSteps = 2, AuxLossCoefficient = 0.01, MicroBatchesPerStep = 2 });
        var reports = trainer.Train();
        Assert.All(reports, r => Assert.True(r.AuxLoss > 0 && double.IsFinite(r.Loss)));
    }

    [Fact]
    public void ActivationCheckpointingGivesTheSameTrajectoryAsThePlainBackward()
    {
        // Dropout off: the only difference is where the graph is rebuilt and how gradients are summed, so losses and
        // adapters agree to rounding (float64, Float64Tolerance).
        var adapter = AdapterConfig(0);
        var options = new TrainerOptions { LearningRate = 5e-3, TotalSteps = 4, Seed = 5, AuxLossCoefficient = 0.01, RouterZLossCoefficient = 0.001, MicroBatchesPerStep = 2 };
        double[] plain, checkpointed;
        TrainerStepReport[] plainReports, checkpointedReports;
        using (var model = BuildModel(adapter, DType.Float64))
        using (var trainer = new SftTrainer(model, adapter, Batches(2), options))
        {
            plainReports = trainer.Train().ToArray();
            plain = AdapterValues(model);
        }
        using (var model = BuildModel(adapter, DType.Float64))
        using (var trainer = new SftTrainer(model, adapter, Batches(2), options with { ActivationCheckpointing = true }))
        {
            checkpointedReports = trainer.Train().ToArray();
            checkpointed = AdapterValues(model);
        }
        for (var i = 0; i < plainReports.Length; i++)
        {
            Assert.Equal(plainReports[i].Loss, checkpointedReports[i].Loss, Float64Tolerance);
            Assert.Equal(plainReports[i].AuxLoss, checkpointedReports[i].AuxLoss, Float64Tolerance);
            Assert.Equal(plainReports[i].ZLoss, checkpointedReports[i].ZLoss, Float64Tolerance);
            Assert.Equal(plainReports[i].GradNorm, checkpointedReports[i].GradNorm, Float64Tolerance);
        }
        Assert.True(plainReports[0].ZLoss > 0);
        AssertClose(plain, checkpointed, Float64Tolerance);
    }

    [Fact]
    public void ExpertTokensCountEveryRoutedTokenOfEveryModule()
    {
        var adapter = AdapterConfig(0);
        using var model = BuildModel(adapter);
        var batches = Batches(4);
        using var trainer = new SftTrainer(model, adapter, batches, new TrainerOptions { TotalSteps = 2 });
        var reports = trainer.Train();
        Assert.Equal(Config.NumHiddenLayers * 7, trainer.Modules.Count);
        for (var m = 0; m < trainer.Modules.Count; m++)
        {
            var linear = trainer.Modules[m].Linear;
            // Every position of the [B, S] batch is routed to top-k experts (padding included).
            long perStep = (long)batches[0].BatchSize * batches[0].SequenceLength * linear.TopK;
            Assert.Equal(perStep, reports[0].ExpertTokens![m].Sum());
            Assert.Equal(2 * perStep, trainer.ExpertTokens[m].Sum());
            Assert.Equal(linear.NumExperts, trainer.ExpertTokens[m].Length);
        }
    }

    [Fact]
    public void ACancelledRunStopsAfterTheStepInProgress()
    {
        var adapter = AdapterConfig(0);
        using var model = BuildModel(adapter);
        using var cancel = new CancellationTokenSource();
        using var trainer = new SftTrainer(model, adapter, Batches(4), new TrainerOptions { TotalSteps = 10 });
        trainer.Progress = new InlineProgress<TrainerStepReport>(r => { if (r.Step == 3) cancel.Cancel(); });
        var reports = trainer.Train(cancellation: cancel.Token);
        Assert.Equal(3, reports.Count);
        Assert.Equal(3, trainer.Step);
    }

}
