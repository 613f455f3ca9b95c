using System.Diagnostics;
using MoLA.Model.Adapters;
using MoLA.Model.Llama;
using MoLA.Model.ParameterCounting;
using MoLA.Model.MoeLora;
using MoLA.Torch;
using MoLA.Torch.Distributed;
using MoLA.Training.Trainer;

namespace MoLA.Parallel;

/// <summary>How one step's wall time split into communication (time inside collectives) and the rest.</summary>
public sealed record StepTiming(double TotalSeconds, double CommunicationSeconds)
{
    public double ComputeSeconds => Math.Max(0, TotalSeconds - CommunicationSeconds);
}

/// <summary>
/// Data- and expert-parallel training for <see cref="SftTrainer"/> (set it as the trainer's
/// <see cref="SftTrainer.Distributed"/>). Every rank trains on its own batches; each rank's loss is its
/// cross-entropy sum divided by the step's labelled tokens over ALL ranks, so the gradients of all ranks
/// add up to the gradient of one process holding all the batches: replicated trainables (routers, and
/// experts when EP = 1) are summed over the world, experts over their expert-data-parallel group (the DP
/// replicas of the same experts). This is the usual "average over ranks, experts scaled by the full DP
/// size" rule with the per-rank token counts made exact, which padding and label masking would otherwise
/// break. The gradient norm for clipping counts replicated tensors once and every expert once.
/// </summary>
public sealed class ParallelTrainingEngine : IDistributedTrainerHooks, IDisposable
{
    private readonly ParallelGroups _groups;
    private readonly HashSet<Tensor> _expertParams = new(ReferenceEqualityComparer.Instance);
    // Expert-sharded tensors (EP > 1 only): how each is split over the EP group, for checkpoints.
    private readonly Dictionary<Tensor, ExpertShardLayout> _layouts = new(ReferenceEqualityComparer.Instance);
    private readonly long _bucketBytes;
    private GradientBuckets? _replicated;
    private GradientBuckets? _experts;
    private IReadOnlyList<TrainableParameter>? _parameters;
    private long _stepStart;
    private double _stepCommStart;

    private ParallelTrainingEngine(ParallelGroups groups, ExpertParallelDispatcher? dispatcher, long bucketBytes)
    {
        _groups = groups;
        Dispatcher = dispatcher;
        _bucketBytes = bucketBytes;
    }

    public ParallelGroups Groups => _groups;
    public ExpertParallelDispatcher? Dispatcher { get; }
    public CollectiveStats Stats => _groups.Stats;
    public StepTiming? LastStep { get; private set; }

    /// <summary>
    /// Where collective time/bytes by operation (as they happen) and, after every step, this rank's
    /// per-expert token counts go; null = nowhere.
    /// </summary>
    public MoLA.Telemetry.TrainingMetrics? Metrics
    {
        get => Stats.Metrics;
        set => Stats.Metrics = value;
    }
    public int GradientBucketCount => (_replicated?.Count ?? 0) + (_experts?.Count ?? 0);

    /// <summary>World rank 0 writes checkpoints and adapters; under EP > 1 it first gathers the experts (<see cref="GatherForWrite"/>).</summary>
    public bool WritesCheckpoints => _groups.Rank == 0;

    /// <summary>
    /// Replicated tensors: an alias on rank 0. Expert shards (a module's A or B, or their AdamW moments): gathered
    /// to EP rank 0 of EP group 0, which is world rank 0, by <see cref="ExpertGather.ToFirstRank"/>. The other EP
    /// groups hold copies of the same experts (their EDP replicas), so they skip the gather.
    /// </summary>
    public Tensor? GatherForWrite(Tensor parameter, Tensor local)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(local);
        if (!_layouts.TryGetValue(parameter, out var layout))
        {
            if (!WritesCheckpoints) return null;
            using var _ = torch.no_grad();
            return local.detach();
        }
        if (_groups.Topology.EpGroupOf(_groups.Rank) != 0) return null;
        var whole = ExpertGather.ToFirstRank(_groups.ExpertParallel, local, layout);
        if (WritesCheckpoints) return whole;
        whole?.Dispose();
        return null;
    }

    /// <summary>This EP rank's experts of a whole saved expert tensor; replicated tensors whole (every rank reads the full checkpoint).</summary>
    public Tensor LocalPart(Tensor parameter, Tensor full)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(full);
        if (_layouts.TryGetValue(parameter, out var layout))
            return ExpertGather.LocalPart(full, layout, _groups.EpRank, parameter.Shape);
        if (!full.Shape.SequenceEqual(parameter.Shape))
            throw new ArgumentException($"has shape [{string.Join(", ", full.Shape)}], expected [{string.Join(", ", parameter.Shape)}]");
        return full.alias();
    }

    /// <summary>
    /// Prepares <paramref name="model"/> (adapters attached on every rank from the same seed): under EP > 1
    /// shards the experts by <paramref name="placement"/> (default contiguous) and installs the all-to-all
    /// dispatcher; then makes every rank's trainables equal to rank 0's (broadcast).
    /// </summary>
    public static ParallelTrainingEngine Attach(ParallelGroups groups, LlamaModel model, ExpertPlacement? placement = null,
        long bucketBytes = GradientBuckets.DefaultBucketBytes) => Attach(groups, model, placement, bucketBytes, alwaysDispatch: false);

    /// <param name="alwaysDispatch">Use the all-to-all dispatcher also for EP = 1 (tests: the staged backward on one rank).</param>
    internal static ParallelTrainingEngine Attach(ParallelGroups groups, LlamaModel model, ExpertPlacement? placement, long bucketBytes, bool alwaysDispatch)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(model);
        var ep = groups.Topology.ExpertParallel;
        if (placement is not null && placement.ExpertParallel != ep)
            throw new ParallelConfigException("placement", $"{placement.Source} is for ep = {placement.ExpertParallel}, the job has ep = {ep}");
        ExpertParallelDispatcher? dispatcher = null;
        IReadOnlyDictionary<(int, LlamaProjection), MoeLoraLinear> adapters;
        placement ??= ExpertPlacement.Contiguous(ep);
        if (ep > 1 || alwaysDispatch)
        {
            dispatcher = new ExpertParallelDispatcher(groups.ExpertParallel, groups.Device);
            adapters = ExpertSharding.Apply(model, placement, groups.EpRank, dispatcher);
        }
        else
        {
            adapters = MoeLoraAdapter.Attached(model);
        }
        var engine = new ParallelTrainingEngine(groups, dispatcher, bucketBytes);
        using (torch.no_grad())
            foreach (var ((layer, _), a) in adapters.OrderBy(a => a.Key.Item1).ThenBy(a => a.Key.Item2))
            {
                groups.World.Broadcast(a.RouterWeight, 0);
                var expertGroup = ep > 1 ? groups.ExpertDataParallel : (ICollectives)groups.World;
                expertGroup.Broadcast(a.LoraA, 0);
                expertGroup.Broadcast(a.LoraB, 0);
                if (ep > 1)
                {
                    engine._expertParams.Add(a.LoraA);
                    engine._expertParams.Add(a.LoraB);
                    var ranges = placement.RangesFor(layer, a.NumExperts, a.Name);
                    engine._layouts[a.LoraA] = new ExpertShardLayout(0, a.Rank, ranges, a.Name + ".lora_A");
                    engine._layouts[a.LoraB] = new ExpertShardLayout(1, a.Rank, ranges, a.Name + ".lora_B");
                }
            }
        return engine;
    }

    public long SumTokens(long localTokens)
    {
        _stepStart = Stopwatch.GetTimestamp();
        _stepCommStart = Stats.PendingSeconds;
        using var t = OnGroupDevice(torch.tensor(new[] { localTokens }));
        _groups.World.AllReduce(t, ReduceOp.Sum);
        return t.ToArray<long>()[0];
    }

    public void BeginStep(IReadOnlyList<TrainableParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (_parameters is null)
        {
            _parameters = parameters;
            var experts = parameters.Where(p => _expertParams.Contains(p.Tensor)).Select(p => p.Tensor).ToList();
            var replicated = parameters.Where(p => !_expertParams.Contains(p.Tensor)).Select(p => p.Tensor).ToList();
            _replicated = new GradientBuckets(replicated, _groups.World, _bucketBytes);
            if (experts.Count > 0) _experts = new GradientBuckets(experts, _groups.ExpertDataParallel, _bucketBytes);
        }
        else if (!ReferenceEquals(parameters, _parameters))
        {
            throw new InvalidOperationException("the engine serves one trainer: its trainable parameters changed");
        }
        Dispatcher?.ClearTape();
        _replicated!.Attach();
        _experts?.Attach();
    }

    public void Backward(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (Dispatcher is not null) Dispatcher.Backward(loss);
        else if (loss.RequiresGrad) loss.backward();
    }

    public double SynchronizeAndClip(IReadOnlyList<TrainableParameter> parameters, double maxNorm)
    {
        if (_replicated is null) throw new InvalidOperationException("BeginStep was not called");
        _replicated.AllReduce();
        _experts?.AllReduce();
        var squares = _replicated.SumOfSquares();
        if (_experts is not null)
        {
            // Each EP rank holds different experts: their squares add up over the EP group.
            using var t = OnGroupDevice(torch.tensor(new[] { _experts.SumOfSquares() }));
            _groups.ExpertParallel.AllReduce(t, ReduceOp.Sum);
            squares += t.ToArray<double>()[0];
        }
        var norm = Math.Sqrt(squares);
        if (!double.IsFinite(norm)) return norm;
        var coef = maxNorm / (norm + 1e-6);  // as GradClip.clip_grad_norm_
        if (coef < 1)
        {
            _replicated.Scale(coef);
            _experts?.Scale(coef);
        }
        return norm;
    }

    public (double Loss, double Aux) ReduceMetrics(double loss, double aux)
    {
        using var t = OnGroupDevice(torch.tensor(new[] { loss, aux }));
        _groups.World.AllReduce(t, ReduceOp.Sum);
        var v = t.ToArray<double>();
        var total = Stopwatch.GetElapsedTime(_stepStart).TotalSeconds;
        LastStep = new StepTiming(total, Stats.PendingSeconds - _stepCommStart);
        return (v[0], v[1] / _groups.Topology.WorldSize);
    }

    /// <summary>
    /// Element-wise sum of <paramref name="local"/> over every rank of the world (a collective: every rank calls it).
    /// Each rank routes its own tokens, so the expert counts of the whole job are the sum of the ranks' counts.
    /// </summary>
    public long[] SumOverWorld(long[] local)
    {
        ArgumentNullException.ThrowIfNull(local);
        if (local.Length == 0) return [];
        using var t = OnGroupDevice(torch.tensor(local, local.Length));
        _groups.World.AllReduce(t, ReduceOp.Sum);
        using var host = t.Device.IsCuda ? t.cpu() : null;
        return (host ?? t).ToArray<long>();
    }

    /// <summary>Small host values go to the groups' device (the GPU under NCCL); the CPU copy is released.</summary>
    private Tensor OnGroupDevice(Tensor host)
    {
        if (!_groups.Device.IsCuda) return host;
        using (host) return host.to(_groups.Device);
    }

    public void Dispose()
    {
        Dispatcher?.Dispose();
        _replicated?.Dispose();
        _experts?.Dispose();
    }
}
