using System.Diagnostics;
using MoLA.Model.Adapters;
using MoLA.Model.Llama;
using MoLA.Model.MoeLora;
using MoLA.Torch;
using MoLA.Torch.NN;
using MoLA.Torch.Optim;
using MoLA.Training.Data;

namespace MoLA.Training.Trainer;

/// <summary>What one optimizer step did. <see cref="Step"/> counts completed steps (1 after the first).</summary>
/// <see cref="AuxLoss"/>, <see cref="ContrastiveLoss"/> and <see cref="ZLoss"/> are the unweighted values (0 when off).
/// <see cref="ExpertTokens"/>[module][expert] counts this step's token-expert assignments, modules in <see cref="SftTrainer.Modules"/> order.
public sealed record TrainerStepReport(
    int Step, double Loss, double AuxLoss, double LearningRate, long Tokens, double GradNorm, double Seconds,
    double ContrastiveLoss = 0, double ZLoss = 0, long[][]? ExpertTokens = null);

/// <summary>One MoE-LoRA module of the trained model, in the trainer's fixed order.</summary>
public sealed record TrainedModule(int Layer, string Module, MoeLoraLinear Linear);

/// <summary>A trainable tensor with its stable name (the key of its optimizer state in checkpoints).</summary>
public sealed record TrainableParameter(string Name, Tensor Tensor);

/// <summary>
/// Supervised fine-tuning of the MoE-LoRA adapters attached to a <see cref="LlamaModel"/>.
/// <para>
/// A step consumes <see cref="TrainerOptions.MicroBatchesPerStep"/> batches from the given list, in
/// order (wrapping around when the list is exhausted; the list is the data order of the run, already
/// shuffled by the caller's seed). For each micro-batch: forward, next-token cross-entropy
/// (logits[:, :-1] against labels[:, 1:], -100 ignored), optional load-balancing aux loss, backward.
/// Then the gradients are clipped, the learning rate is set from a linear warm-up/decay schedule,
/// AdamW steps and the gradients are cleared. Everything a step allocates lives in one dispose scope.
/// </para>
/// <para>
/// Loss weighting: the step's loss is the mean over ALL labelled tokens of all its micro-batches.
/// Micro-batch i contributes sum_i(CE) / N_step, where N_step is the step's labelled-token count
/// (known before the first forward), so the accumulated gradient is exactly that of one batch holding
/// the same rows: accumulation equals one big batch (up to float rounding). The aux loss (a per
/// micro-batch mean) is weighted by the micro-batch's share of the step's tokens, N_i / N_step; being
/// non-linear in the routing statistics it is not identical to the aux loss of the big batch.
/// </para>
/// <para>
/// Determinism for resume: every step starts with torch.manual_seed(Seed + stepIndex) (stepIndex
/// 0-based), so the dropout masks of a step depend only on its index, never on what ran before. A run
/// resumed from a checkpoint therefore reproduces them without saving libtorch's generator state.
/// The data position and AdamW's moments and step count are saved, which is the rest of the state.
/// </para>
/// </summary>
public sealed class SftTrainer : IDisposable
{
    public const string CheckpointPrefix = "checkpoint-";
    public const string StateFileName = "trainer_state.json";
    public const string OptimizerFileName = "optimizer.safetensors";

    private readonly LlamaModel _model;
    private readonly MoeLoraAdapterConfig _adapterConfig;
    private readonly IReadOnlyList<Batch> _batches;
    private readonly IReadOnlyList<IReadOnlyList<MoeLoraLinear>> _layers;
    private readonly long[][] _expertTokens;
    private readonly MoeLossOptions? _auxOptions;
    private readonly LinearWarmupDecay _schedule;
    private readonly IReadOnlyList<string> _prefixes;

    public TrainerOptions Options { get; }
    public IReadOnlyList<TrainableParameter> Parameters { get; }
    /// <summary>The MoE-LoRA modules by (layer, projection).</summary>
    public IReadOnlyList<TrainedModule> Modules { get; }
    /// <summary>Token-expert assignments routed to each expert since this trainer was created, [module][expert].</summary>
    public IReadOnlyList<long[]> ExpertTokens => _expertTokens;
    public AdamW Optimizer { get; }
    /// <summary>Completed optimizer steps.</summary>
    public int Step { get; private set; }
    /// <summary>Index of the next batch to consume (absolute; the list is read modulo its length).</summary>
    public long DataPosition { get; private set; }
    /// <summary>Receives a report after every step.</summary>
    public IProgress<TrainerStepReport>? Progress { get; set; }
    /// <summary>Multi-process hooks (data/expert parallel); null = one process. Set before the first step.</summary>
    public IDistributedTrainerHooks? Distributed { get; set; }

    /// <param name="model">The model with adapters attached (<see cref="MoeLoraAdapter.Attach"/>); its base is frozen.</param>
    /// <param name="adapterConfig">The config the adapters were attached with (written into checkpoints).</param>
    /// <param name="batches">The run's data order.</param>
    /// <param name="options">Hyper-parameters; validated here.</param>
    /// <param name="parameters">The trainable tensors; by default every attached adapter's router, A and B, by (layer, projection).</param>
    public SftTrainer(LlamaModel model, MoeLoraAdapterConfig adapterConfig, IReadOnlyList<Batch> batches, TrainerOptions options,
        IReadOnlyList<TrainableParameter>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(adapterConfig);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (batches.Count == 0) throw new ArgumentException("the trainer needs at least one batch", nameof(batches));
        var attached = MoeLoraAdapter.Attached(model);
        if (attached.Count == 0) throw new ArgumentException("the model has no MoE-LoRA adapters attached (MoeLoraAdapter.Attach)", nameof(model));
        _model = model;
        _adapterConfig = adapterConfig;
        _batches = batches;
        Options = options;
        var ordered = attached.OrderBy(a => a.Key.Layer).ThenBy(a => a.Key.Projection).ToList();
        Modules = ordered.Select(a => new TrainedModule(a.Key.Layer, LlamaModel.ProjectionName(a.Key.Projection), a.Value)).ToList();
        _prefixes = ordered.Select(a => MoeLoraAdapter.Prefix(a.Key.Layer, a.Key.Projection)).ToList();
        _expertTokens = Modules.Select(m => new long[m.Linear.NumExperts]).ToArray();
        _layers = ordered.GroupBy(a => a.Key.Layer).Select(g => (IReadOnlyList<MoeLoraLinear>)g.Select(a => a.Value).ToList()).ToList();
        Parameters = parameters ?? ordered.SelectMany(a =>
        {
            var prefix = MoeLoraAdapter.Prefix(a.Key.Layer, a.Key.Projection);
            return new[]
            {
                new TrainableParameter(prefix + ".router.weight", a.Value.RouterWeight),
                new TrainableParameter(prefix + ".lora_A", a.Value.LoraA),
                new TrainableParameter(prefix + ".lora_B", a.Value.LoraB),
            };
        }).ToList();
        if (Parameters.Select(p => p.Name).Distinct(StringComparer.Ordinal).Count() != Parameters.Count)
            throw new ArgumentException("trainable parameter names must be unique", nameof(parameters));
        if (options.AuxLossCoefficient != 0 || options.ContrastiveLossCoefficient != 0 || options.RouterZLossCoefficient != 0)
        {
            _auxOptions = new MoeLossOptions
            {
                LoadBalancingCoefficient = options.AuxLossCoefficient,
                ContrastiveCoefficient = options.ContrastiveLossCoefficient,
                RouterZLossCoefficient = options.RouterZLossCoefficient,
                Seed = options.Seed,
            };
            _auxOptions.ConfigureRetention(ordered.Select(a => a.Value));
        }
        _schedule = new LinearWarmupDecay(options.LearningRate, options.WarmupSteps, options.TotalSteps);
        Optimizer = new AdamW(Parameters.Select(p => p.Tensor), options.LearningRate, weightDecay: options.WeightDecay);
    }

    /// <summary>Runs steps until <paramref name="stopAtStep"/> (default <see cref="TrainerOptions.TotalSteps"/>) steps are complete.</summary>
    /// <param name="cancellation">Checked between steps: a cancelled run stops after the step in progress (the caller then
    /// saves a checkpoint; see `mola train`'s Ctrl-C handling).</param>
    public IReadOnlyList<TrainerStepReport> Train(int? stopAtStep = null, CancellationToken cancellation = default)
    {
        var stop = stopAtStep ?? Options.TotalSteps;
        if (stop < 0 || stop > Options.TotalSteps)
            throw new ArgumentOutOfRangeException(nameof(stopAtStep), stop, $"must be in [0, TotalSteps={Options.TotalSteps}]");
        var reports = new List<TrainerStepReport>();
        while (Step < stop && !cancellation.IsCancellationRequested)
        {
            reports.Add(TrainStep());
            // Every rank takes part (expert shards are gathered); only the writing rank writes.
            if (Options.CheckpointEvery > 0 && Step % Options.CheckpointEvery == 0) SaveCheckpoint();
        }
        return reports;
    }

    /// <summary>One optimizer step over the next <see cref="TrainerOptions.MicroBatchesPerStep"/> batches.</summary>
    public TrainerStepReport TrainStep()
    {
        if (Step >= Options.TotalSteps) throw new InvalidOperationException($"the run is complete ({Options.TotalSteps} steps)");
        var watch = Stopwatch.StartNew();
        var stepIndex = Step;
        torch.manual_seed(unchecked(Options.Seed + (ulong)stepIndex));
        _model.train();
        var micro = new Batch[Options.MicroBatchesPerStep];
        for (var i = 0; i < micro.Length; i++) micro[i] = _batches[(int)((DataPosition + i) % _batches.Count)];
        var tokens = micro.Select(ShiftedLabelledTokens).ToArray();
        long stepTokens = Distributed?.SumTokens(tokens.Sum()) ?? tokens.Sum();
        if (stepTokens == 0)
            throw new TrainerException($"step {stepIndex + 1}: its {micro.Length} batch(es) from data position {DataPosition} have no labelled tokens after the shift");
        double loss = 0, aux = 0, contrastive = 0, zLoss = 0;
        var stepExperts = Modules.Select(m => new long[m.Linear.NumExperts]).ToArray();
        double gradNorm;
        var lr = _schedule.At(stepIndex);
        using (var scope = torch.NewDisposeScope())
        {
            Optimizer.zero_grad();
            Distributed?.BeginStep(Parameters);
            for (var i = 0; i < micro.Length; i++)
            {
                if (tokens[i] == 0 && _auxOptions is null && Distributed is null) continue;
                using var microScope = torch.NewDisposeScope();
                var terms = Options.ActivationCheckpointing
                    ? CheckpointedMicroBatch(micro[i], stepTokens, tokens[i], stepIndex, i)
                    : MicroBatch(micro[i], stepTokens, tokens[i], stepIndex);
                loss += terms.Loss;
                aux += terms.Aux;
                contrastive += terms.Contrastive;
                zLoss += terms.Z;
                CountExperts(stepExperts);
                foreach (var layer in _layers) foreach (var m in layer) m.ReleaseRetained();
            }
            gradNorm = Distributed?.SynchronizeAndClip(Parameters, Options.MaxGradNorm)
                ?? GradClip.clip_grad_norm_(Parameters.Select(p => p.Tensor), Options.MaxGradNorm);
            if (!double.IsFinite(gradNorm))
            {
                Optimizer.zero_grad();
                throw new TrainerException($"step {stepIndex + 1}: the gradient norm is {gradNorm} (loss {loss}); stopping rather than corrupting the adapter");
            }
            Optimizer.LearningRate = lr;
            Optimizer.step();
            Optimizer.zero_grad();
        }
        if (Distributed is not null) (loss, aux) = Distributed.ReduceMetrics(loss, aux);
        DataPosition += micro.Length;
        Step++;
        var report = new TrainerStepReport(Step, loss, aux, lr, stepTokens, gradNorm, watch.Elapsed.TotalSeconds,
            contrastive, zLoss, stepExperts);
        Progress?.Report(report);
        return report;
    }

    // A micro-batch's contribution to the step: loss = cross-entropy sum / stepTokens (its share of the step's mean)
    // plus the aux terms weighted by its share of the step's tokens; the aux values reported are unweighted.
    private readonly record struct MicroTerms(double Loss, double Aux, double Contrastive, double Z);

    private MicroTerms MicroBatch(Batch batch, long stepTokens, long microTokens, int stepIndex)
    {
        var (ids, mask, modelMask, target) = Tensors(batch, microTokens);
        Tensor loss;
        double auxValue = 0, contrastive = 0, z = 0;
        // Autocast covers forward and losses only; the backward follows the recorded dtypes by itself.
        using (Options.AutocastDType is { } dtype ? torch.autocast(dtype) : null)
        {
            loss = HeadLoss(_model.forward(ids, modelMask), target, stepTokens, batch);
            if (_auxOptions is not null)
            {
                var auxLosses = MoeLosses.Compute(_layers, _auxOptions, mask, stepIndex);
                auxValue = auxLosses.LoadBalancing?.item() ?? 0;
                contrastive = auxLosses.Contrastive?.item() ?? 0;
                z = auxLosses.RouterZLoss?.item() ?? 0;
                loss = loss.add(auxLosses.Total, (double)microTokens / stepTokens);
            }
        }
        if (Distributed is null) loss.backward();
        else Distributed.Backward(loss);
        return new MicroTerms(loss.item(), auxValue, contrastive, z);
    }

    private MicroTerms CheckpointedMicroBatch(Batch batch, long stepTokens, long microTokens, int stepIndex, int microIndex)
    {
        if (Distributed is not null)
            throw new TrainerException("activation checkpointing is not supported with a distributed engine yet (its backward replays the graph itself)");
        var (ids, mask, modelMask, target) = Tensors(batch, microTokens);
        double auxValue = 0, z = 0, auxWeighted = 0;
        Func<int, Tensor?>? layerLoss = null;
        if (_auxOptions is not null)
        {
            var weight = (double)microTokens / stepTokens;
            layerLoss = layer =>
            {
                var terms = MoeLosses.Compute([_layers[layer]], _auxOptions, mask, stepIndex);
                auxValue += terms.LoadBalancing?.item() ?? 0;
                z += terms.RouterZLoss?.item() ?? 0;
                var weighted = terms.Total.mul(weight);
                auxWeighted += weighted.item();
                return weighted;
            };
        }
        var layerSeed = MoeLosses.MixSeed(Options.Seed, stepIndex, microIndex);
        var ce = ActivationCheckpointing.ForwardBackward(_model, ids, modelMask, layerSeed,
            logits => HeadLoss(logits, target, stepTokens, batch), layerLoss);
        return new MicroTerms(ce + auxWeighted, auxValue, 0, z);
    }

    // Ids, the token mask (for the aux losses), what the model gets as its attention mask (ModelMask), targets.
    private (Tensor Ids, Tensor Mask, Tensor? ModelMask, Tensor? Target) Tensors(Batch batch, long microTokens)
    {
        var b = batch.BatchSize;
        var s = batch.SequenceLength;
        var device = _model.Device;
        var ids = torch.tensor(batch.InputIds.Select(x => (long)x).ToArray(), b, s).to(device);
        var mask = torch.tensor(batch.AttentionMask.Select(x => (long)x).ToArray(), b, s).to(device);
        var modelMask = ModelMask(batch, mask);
        if (microTokens == 0) return (ids, mask, modelMask, null);
        var targets = new long[b * (s - 1)];
        for (var r = 0; r < b; r++)
            for (var c = 1; c < s; c++) targets[r * (s - 1) + c - 1] = batch.Labels[r * s + c];
        return (ids, mask, modelMask, torch.tensor(targets, b * (s - 1)).to(device));
    }

    /// <summary>
    /// The attention mask the model gets: null (plain causal attention, no [B, 1, S, S] mask built and expanded in
    /// every layer) when every row is right-padded, i.e. ones then zeros, as <see cref="Batcher"/> pads. That is
    /// exact for every real position: under causal attention a real query only sees keys before it, which are all
    /// real. Only pad positions attend differently, and they carry no label and are masked out of the aux losses
    /// (which keep the real mask). Any other padding pattern passes the mask through.
    /// </summary>
    internal static Tensor? ModelMask(Batch batch, Tensor mask)
    {
        var s = batch.SequenceLength;
        var m = batch.AttentionMask;
        for (var r = 0; r < batch.BatchSize; r++)
        {
            var row = r * s;
            var c = 0;
            while (c < s && m[row + c] != 0) c++;
            if (c == 0) return mask; // an all-pad row: keep the explicit mask (each position attends to itself)
            for (; c < s; c++)
                if (m[row + c] != 0) return mask;
        }
        return null;
    }

    // Sum of next-token cross-entropy over labelled positions, divided by the step's labelled tokens.
    private Tensor HeadLoss(Tensor logits, Tensor? target, long stepTokens, Batch batch)
    {
        if (target is null) return logits.sum().mul(0.0); // keeps the graph connected, contributes nothing
        var vocab = logits.size(2);
        var shifted = logits.narrow(1, 0, batch.SequenceLength - 1).reshape(-1, vocab);
        // Half-precision logits are upcast; float64 ones stay float64 (a float32 loss would cap a float64 run's precision).
        var wide = shifted.DType is DType.Float32 or DType.Float64 ? shifted : shifted.to(DType.Float32);
        return F.cross_entropy(wide, target, SftTokenizer.IgnoreIndex, F.Reduction.Sum).div(stepTokens);
    }

    // One bincount and one host copy for all modules (expert ids offset per module), instead of one of each per
    // module: per-module counting cost about 5% of a tiny model's step in host work (bench train-step).
    private void CountExperts(long[][] step)
    {
        using var scope = torch.NewDisposeScope();
        var parts = new List<Tensor>(Modules.Count);
        var offsets = new int[Modules.Count];
        var total = 0;
        for (var m = 0; m < Modules.Count; m++)
        {
            offsets[m] = total;
            total += Modules[m].Linear.NumExperts;
            if (Modules[m].Linear.LastExpertIndices is { } indices)
                parts.Add(offsets[m] == 0 ? indices.reshape(-1) : indices.reshape(-1).add(torch.tensor(new long[] { offsets[m] }, 1).to(indices.Device)));
        }
        if (parts.Count == 0) return;
        var all = torch.cat(parts).bincount(null, total);
        var host = (all.Device.IsCuda ? all.cpu() : all).ToArray<long>();
        for (var m = 0; m < Modules.Count; m++)
            for (var e = 0; e < Modules[m].Linear.NumExperts; e++)
            {
                var c = host[offsets[m] + e];
                step[m][e] += c;
                _expertTokens[m][e] += c;
            }
    }

    /// <summary>Labelled positions of labels[:, 1:] (those the shifted loss counts).</summary>
    public static long ShiftedLabelledTokens(Batch batch)
    {
        long n = 0;
        for (var r = 0; r < batch.BatchSize; r++)
            for (var c = 1; c < batch.SequenceLength; c++)
                if (batch.Labels[r * batch.SequenceLength + c] != SftTokenizer.IgnoreIndex) n++;
        return n;
    }

    /// <summary>
    /// Writes checkpoint-{Step}/ into <see cref="TrainerOptions.OutputDir"/> (atomically) and prunes old ones. With a
    /// distributed engine every rank must call it (expert shards are gathered); the writing rank returns the path,
    /// the others null.
    /// </summary>
    public string? SaveCheckpoint()
    {
        var dir = Options.OutputDir ?? throw new InvalidOperationException("TrainerOptions.OutputDir is not set");
        var adapter = GatherAdapterTensors();
        var moments = new List<(Tensor ExpAvg, Tensor ExpAvgSq)>();
        try
        {
            for (var i = 0; i < Parameters.Count; i++)
            {
                var avg = Gather(Parameters[i].Tensor, Optimizer.States[i].ExpAvg);
                var sq = Gather(Parameters[i].Tensor, Optimizer.States[i].ExpAvgSq);
                if (avg is not null && sq is not null) moments.Add((avg, sq));
                else if (adapter is not null) throw new InvalidOperationException($"the engine gathered no optimizer state for '{Parameters[i].Name}' on the writing rank");
                else { avg?.Dispose(); sq?.Dispose(); }
            }
            if (adapter is null) return null;
            var path = TrainerCheckpoint.Write(dir, Step, adapter, _adapterConfig, moments,
                new TrainerState(Step, DataPosition, Optimizer.StepCount, Options.Seed, Options.TrajectoryHash(), Parameters.Select(p => p.Name).ToList()));
            if (Options.KeepLastCheckpoints > 0) TrainerCheckpoint.Prune(dir, Options.KeepLastCheckpoints);
            return path;
        }
        finally
        {
            if (adapter is not null) foreach (var (_, t) in adapter) t.Dispose();
            foreach (var (a, b) in moments) { a.Dispose(); b.Dispose(); }
        }
    }

    /// <summary>
    /// Writes the adapter (adapter_model.safetensors, adapter_config.json) into <paramref name="directory"/>, the same
    /// files for any number of ranks. With a distributed engine every rank must call it; only the writing rank writes
    /// (returns true).
    /// </summary>
    public bool SaveAdapter(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var adapter = GatherAdapterTensors();
        if (adapter is null) return false;
        try
        {
            MoeLoraAdapter.Save(adapter, _adapterConfig, directory);
            return true;
        }
        finally
        {
            foreach (var (_, t) in adapter) t.Dispose();
        }
    }

    /// <summary>
    /// Every module's router and all its experts under the reference names, whole (expert shards gathered), on the
    /// writing rank; null on the others. The caller disposes the tensors. Collective with a distributed engine.
    /// </summary>
    public List<KeyValuePair<string, Tensor>>? GatherAdapterTensors()
    {
        var writes = Distributed?.WritesCheckpoints ?? true;
        var result = new List<KeyValuePair<string, Tensor>>();
        for (var m = 0; m < Modules.Count; m++)
        {
            var linear = Modules[m].Linear;
            using var router = Gather(linear.RouterWeight, linear.RouterWeight);
            using var a = Gather(linear.LoraA, linear.LoraA);
            using var b = Gather(linear.LoraB, linear.LoraB);
            if (router is null || a is null || b is null)
            {
                if (!writes) continue;
                foreach (var (_, t) in result) t.Dispose();
                throw new InvalidOperationException($"the engine gathered no tensors for '{_prefixes[m]}' on the writing rank");
            }
            // Views keep the gathered storage alive after these handles are disposed.
            result.AddRange(MoeLoraLinear.NamedAdapterTensors(_prefixes[m], router, a, b, linear.Rank, 0));
        }
        return writes ? result : null;
    }

    private Tensor? Gather(Tensor parameter, Tensor local)
    {
        if (Distributed is not null) return Distributed.GatherForWrite(parameter, local);
        using var _ = torch.no_grad();
        return local.detach();
    }

    /// <summary>
    /// Restores the newest complete checkpoint under <paramref name="outputDir"/> (default
    /// <see cref="TrainerOptions.OutputDir"/>): adapter tensors (copied into the attached adapters),
    /// AdamW moments and step count, step and data position. Returns its path, or null when there is none.
    /// </summary>
    public string? Resume(string? outputDir = null)
    {
        var dir = outputDir ?? Options.OutputDir ?? throw new InvalidOperationException("TrainerOptions.OutputDir is not set and no directory was given");
        var checkpoint = TrainerCheckpoint.FindLatest(dir);
        if (checkpoint is null) return null;
        ResumeFrom(checkpoint);
        return checkpoint;
    }

    /// <summary>Restores the given checkpoint directory (see <see cref="Resume"/>).</summary>
    public void ResumeFrom(string checkpoint)
    {
        var state = TrainerCheckpoint.ReadState(checkpoint);
        if (state.OptionsHash != Options.TrajectoryHash())
            throw new TrainerException($"{Path.Combine(checkpoint, StateFileName)}: written with different trainer options (hash {state.OptionsHash}, this run {Options.TrajectoryHash()})");
        if (!state.ParameterNames.SequenceEqual(Parameters.Select(p => p.Name), StringComparer.Ordinal))
            throw new TrainerException($"{Path.Combine(checkpoint, StateFileName)}: its {state.ParameterNames.Count} parameters do not match this trainer's {Parameters.Count}");
        if (state.Step > Options.TotalSteps)
            throw new TrainerException($"{checkpoint}: step {state.Step} is beyond TotalSteps={Options.TotalSteps}");
        TrainerCheckpoint.LoadAdapter(checkpoint, _model);
        TrainerCheckpoint.LoadOptimizer(checkpoint, Optimizer, Parameters,
            Distributed is null ? null : (i, full) => Distributed.LocalPart(Parameters[i].Tensor, full));
        Optimizer.StepCount = state.OptimizerStepCount;
        Step = state.Step;
        DataPosition = state.DataPosition;
    }

    public void Dispose() => Optimizer.Dispose();
}
