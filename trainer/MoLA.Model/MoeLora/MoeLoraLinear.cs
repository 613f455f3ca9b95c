using MoLA.Torch;
using MoLA.Torch.NN;

namespace MoLA.Model.MoeLora;

/// <summary>
/// A frozen linear module with a mixture of LoRA experts and a per-module router (methods.md section 1):
/// <code>
/// h = W0 x + sum_{i in TopK(p)} S_i * (alpha / r) * B_i A_i dropout(x),   p = softmax(Wr x) (float32),
/// S_i = p_i / sum_{j in TopK} p_j
/// </code>
/// <para>
/// Storage: the experts are stacked so all three execution forms use them without copies:
/// <c>lora_A_all</c> [N*r, in] (A_e = rows e*r .. e*r+r-1), <c>lora_B_all</c> [out, N*r]
/// (B_e = columns e*r .. e*r+r-1), <c>router_weight</c> [N, in]. <see cref="ExpertTensors"/> and
/// <see cref="AdapterTensors"/> give per-expert views under MoLA's reference names
/// (<c>lora_A_{e}.weight</c>, <c>lora_B_{e}.weight</c>, <c>router.router.weight</c>); B views are strided.
/// Under expert parallelism (<see cref="MoeLoraOptions.Shard"/>) the stacks hold the local experts only.
/// </para>
/// <para>
/// Init: A and Wr Kaiming-uniform (a = sqrt 5: U(-1/sqrt(in), 1/sqrt(in))), router first, then each
/// expert's A in expert order (experts of other shards are drawn and discarded, so every rank gets the
/// weights a single process would); B = 0, so the output at step 0 is the base output exactly. The base
/// module's parameters are frozen (requires_grad off) and it is registered as the submodule
/// <c>base_layer</c> (PEFT's name). A plain-LoRA baseline is N = 1 with the router skipped:
/// <see cref="PlainLoraLinear"/>.
/// </para>
/// </summary>
public sealed class MoeLoraLinear : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> _base;
    private Tensor? _lastIndices;
    private long[]? _lastCounts;
    private Tensor? _lastLogits;
    private Tensor? _lastInput;

    /// <summary>Wraps <paramref name="baseLayer"/>; in/out features come from its rank-2 <c>weight</c> unless given.</summary>
    public MoeLoraLinear(Module<Tensor, Tensor> baseLayer, MoeLoraOptions options, string name = "", long? inFeatures = null, long? outFeatures = null)
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        options.Validate(name);
        Options = options;
        Execution = options.Execution;
        RetainRouterLogits = options.RetainRouterLogits;
        RetainExpertInputs = options.RetainExpertInputs;
        var weight = baseLayer.named_parameters(recurse: false).Where(p => p.Name == "weight" && p.Parameter.Dim == 2).Select(p => p.Parameter).FirstOrDefault();
        var reference = weight ?? baseLayer.parameters().FirstOrDefault();
        InFeatures = inFeatures ?? weight?.size(1)
            ?? throw new ArgumentException($"MoE-LoRA module '{name}': the base module {baseLayer.GetType().Name} has no [out, in] 'weight'; pass inFeatures and outFeatures", nameof(inFeatures));
        OutFeatures = outFeatures ?? weight?.size(0)
            ?? throw new ArgumentException($"MoE-LoRA module '{name}': the base module {baseLayer.GetType().Name} has no [out, in] 'weight'; pass inFeatures and outFeatures", nameof(outFeatures));
        if (weight is not null && (weight.size(1) != InFeatures || weight.size(0) != OutFeatures))
            throw new ArgumentException($"MoE-LoRA module '{name}': given features in {InFeatures} / out {OutFeatures} disagree with the base weight [{string.Join(", ", weight.Shape)}]");
        if (InFeatures < 1 || OutFeatures < 1)
            throw new ArgumentException($"MoE-LoRA module '{name}': in ({InFeatures}) and out ({OutFeatures}) features must be positive");
        foreach (var p in baseLayer.parameters()) if (p.RequiresGrad) p.RequiresGrad = false;
        _base = RegisterModule("base_layer", baseLayer);
        (RouterWeight, LoraA, LoraB) = CreateParameters(reference?.DType ?? DType.Float32, reference?.Device ?? Device.CPU);
    }

    /// <summary>
    /// Wraps a frozen weight [out, in] (and optional bias [out]); the layer takes ownership of them and
    /// registers them as the frozen parameters <c>weight</c> and <c>bias</c>.
    /// </summary>
    public MoeLoraLinear(Tensor baseWeight, MoeLoraOptions options, string name = "", Tensor? baseBias = null)
        : this(new FrozenLinear(baseWeight, baseBias, name), options, name)
    {
    }

    /// <summary>Module path used in error messages (e.g. model.layers.3.self_attn.q_proj).</summary>
    public string Name { get; }
    public MoeLoraOptions Options { get; }
    public long InFeatures { get; }
    public long OutFeatures { get; }
    public int NumExperts => Options.NumExperts;
    public int TopK => Options.EffectiveTopK;
    public int Rank => Options.Rank;
    public double Scaling => Options.Scaling;
    public double DropoutP => Options.Dropout;
    public ExpertShard LocalExperts => Options.LocalExperts;
    public bool HoldsAllExperts => LocalExperts.Count == NumExperts;

    /// <summary>The wrapped frozen module.</summary>
    public Module<Tensor, Tensor> BaseLayer => _base;

    /// <summary>Router Wr [N, in], no bias (all N experts, also under expert parallelism).</summary>
    public Tensor RouterWeight { get; }

    /// <summary>Stacked A of the local experts, [n*r, in].</summary>
    public Tensor LoraA { get; }

    /// <summary>Stacked B of the local experts, [out, n*r].</summary>
    public Tensor LoraB { get; }

    /// <summary>The execution form asked for; <see cref="ResolvedExecution"/> is what runs.</summary>
    public MoeExecution Execution { get; set; }

    public MoeExecution ResolvedExecution => Options.Resolve(Execution, LocalExperts.Count);

    public IExpertDispatcher Dispatcher { get; set; } = LocalExpertDispatcher.Instance;

    /// <summary>Keep the last forward's router logits (graph included) for the aux and z losses.</summary>
    public bool RetainRouterLogits { get; set; }

    /// <summary>Keep the last forward's input and routing for the contrastive loss.</summary>
    public bool RetainExpertInputs { get; set; }

    /// <summary>Router logits [T, N] of the last forward when <see cref="RetainRouterLogits"/> is on; owned by the layer.</summary>
    public Tensor? LastRouterLogits => _lastLogits;

    /// <summary>Chosen experts [T, k] (global ids) of the last forward; owned by the layer.</summary>
    public Tensor? LastExpertIndices => _lastIndices;

    /// <summary>Module input [T, in] of the last forward when <see cref="RetainExpertInputs"/> is on; owned by the layer.</summary>
    public Tensor? LastInput => _lastInput;

    /// <summary>
    /// Token-expert assignments per expert (length N, summing to T*k) of the last forward, or null
    /// before the first. Computed on first request after a forward (one host synchronisation).
    /// </summary>
    public long[]? LastExpertCounts
    {
        get
        {
            if (_lastCounts is not null || _lastIndices is null) return _lastCounts;
            using var flat = _lastIndices.reshape(-1);
            using var counts = flat.bincount(null, NumExperts);
            using var host = counts.Device.IsCuda ? counts.cpu() : counts.alias();
            return _lastCounts = host.ToArray<long>();
        }
    }

    private (Tensor Router, Tensor A, Tensor B) CreateParameters(DType dtype, Device device)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var shard = LocalExperts;
        var r = Rank;
        var router = init.kaiming_uniform_(torch.empty([NumExperts, InFeatures], dtype, device), Math.Sqrt(5));
        var a = torch.empty([(long)shard.Count * r, InFeatures], dtype, device);
        var parts = a.split(r, 0);
        Tensor? discard = null;
        for (var e = 0; e < NumExperts; e++)
        {
            // Each expert draws from the generator in turn, so a shard's experts equal the unsharded ones.
            var target = shard.Contains(e) ? parts[e - shard.First] : discard ??= torch.empty([r, InFeatures], dtype, device);
            init.kaiming_uniform_(target, Math.Sqrt(5));
        }
        var b = torch.zeros([OutFeatures, (long)shard.Count * r], dtype, device);
        return (
            RegisterParameter("router_weight", router.MoveToOuterScope()),
            RegisterParameter("lora_A_all", a.MoveToOuterScope()),
            RegisterParameter("lora_B_all", b.MoveToOuterScope()));
    }

    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var shape = input.Shape;
        if (shape.Length == 0 || shape[^1] != InFeatures)
            throw new ArgumentException(
                $"MoE-LoRA module '{Name}': input of shape [{string.Join(", ", shape)}] has last dimension {(shape.Length == 0 ? "(none)" : shape[^1].ToString())}, expected in_features {InFeatures}",
                nameof(input));
        ReleaseRetained();
        using var scope = torch.NewDisposeScope();
        var baseOut = _base.forward(input);
        var x = shape.Length == 2 ? input : input.reshape(-1, InFeatures);
        var acc = baseOut.Dim == 2 ? baseOut : baseOut.reshape(-1, OutFeatures);
        var routing = MoeExpertKernels.Route(x, RouterWeight, TopK);
        _lastIndices = routing.Indices.detach().DetachFromScope();
        if (RetainRouterLogits) _lastLogits = routing.Logits.alias().DetachFromScope();
        if (RetainExpertInputs) _lastInput = x.alias().DetachFromScope();
        var y = x.size(0) == 0 ? acc.alias() : Dispatcher.Dispatch(this, x, routing.Indices, routing.Weights, acc);
        var result = shape.Length == 2 ? y : y.view(baseOut.Shape);
        return result.MoveToOuterScope();
    }

    /// <summary>
    /// The local experts' contribution added to <paramref name="baseOutput"/>, in this layer's
    /// execution form: what a dispatcher calls. <paramref name="localIndices"/> are ids into the local
    /// stack (global id - <see cref="LocalExperts"/>.First), [M, k].
    /// </summary>
    public Tensor ComputeLocalExperts(Tensor input, Tensor localIndices, Tensor weights, Tensor baseOutput) =>
        MoeExpertKernels.Run(ResolvedExecution, input, localIndices, weights, LoraA, LoraB, Rank, Scaling, DropoutP, training, baseOutput);

    /// <summary>Views (sharing storage with the parameters) of expert <paramref name="expert"/>'s A [r, in] and B [out, r].</summary>
    public (Tensor A, Tensor B) ExpertTensors(int expert)
    {
        var shard = LocalExperts;
        if (expert < 0 || expert >= NumExperts)
            throw new ArgumentOutOfRangeException(nameof(expert), expert, $"MoE-LoRA module '{Name}' has experts 0 .. {NumExperts - 1}");
        if (!shard.Contains(expert))
            throw new ArgumentOutOfRangeException(nameof(expert), expert, $"MoE-LoRA module '{Name}' holds experts {shard} here, not {expert}");
        long local = expert - shard.First;
        return (LoraA.narrow(0, local * Rank, Rank), LoraB.narrow(1, local * Rank, Rank));
    }

    /// <summary>
    /// The trainable tensors under MoLA's reference names, as views: <c>{prefix}.lora_A_{e}.weight</c>
    /// [r, in], <c>{prefix}.lora_B_{e}.weight</c> [out, r] for the local experts and
    /// <c>{prefix}.router.router.weight</c> [N, in]. Dispose the returned views when done.
    /// </summary>
    public List<KeyValuePair<string, Tensor>> AdapterTensors(string prefix) =>
        NamedAdapterTensors(prefix, RouterWeight, LoraA, LoraB, Rank, LocalExperts.First);

    /// <summary>
    /// <see cref="AdapterTensors"/> for stacks held outside a module (e.g. experts gathered from expert-parallel
    /// ranks): <paramref name="loraA"/> [n*r, in] and <paramref name="loraB"/> [out, n*r] hold experts
    /// <paramref name="firstExpert"/> .. firstExpert + n - 1. Returns views; dispose them when done.
    /// </summary>
    public static List<KeyValuePair<string, Tensor>> NamedAdapterTensors(string prefix, Tensor router, Tensor loraA, Tensor loraB, int rank, int firstExpert)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(loraA);
        ArgumentNullException.ThrowIfNull(loraB);
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        var rows = loraA.size(0);
        if (rows % rank != 0 || loraB.size(1) != rows)
            throw new ArgumentException($"'{prefix}': lora_A [{string.Join(", ", loraA.Shape)}] and lora_B [{string.Join(", ", loraB.Shape)}] are not stacks of rank-{rank} experts");
        var p = string.IsNullOrEmpty(prefix) ? "" : prefix + ".";
        var count = (int)(rows / rank);
        var result = new List<KeyValuePair<string, Tensor>>(2 * count + 1);
        for (var i = 0; i < count; i++)
        {
            var e = firstExpert + i;
            result.Add(new($"{p}lora_A_{e}.weight", loraA.narrow(0, (long)i * rank, rank)));
            result.Add(new($"{p}lora_B_{e}.weight", loraB.narrow(1, (long)i * rank, rank)));
        }
        result.Add(new($"{p}router.router.weight", router.alias()));
        return result;
    }

    /// <summary>
    /// Copies tensors named as <see cref="AdapterTensors"/> names them into the parameters. Checks every
    /// name and shape first (strict: none missing) and copies nothing when one is wrong.
    /// </summary>
    public void LoadAdapterTensors(IReadOnlyDictionary<string, Tensor> source, string prefix, bool strict = true)
    {
        var targets = AdapterTensors(prefix);
        try
        {
            var errors = new List<string>();
            foreach (var (name, target) in targets)
            {
                if (!source.TryGetValue(name, out var value))
                {
                    if (strict) errors.Add($"missing tensor '{name}'");
                    continue;
                }
                if (!value.Shape.SequenceEqual(target.Shape))
                    errors.Add($"tensor '{name}' has shape [{string.Join(", ", value.Shape)}], expected [{string.Join(", ", target.Shape)}]");
            }
            if (errors.Count > 0)
                throw new ArgumentException($"MoE-LoRA module '{Name}': cannot load adapter tensors: {string.Join("; ", errors)}", nameof(source));
            using var _ = torch.no_grad();
            foreach (var (name, target) in targets)
                if (source.TryGetValue(name, out var value)) target.copy_(value);
        }
        finally
        {
            foreach (var (_, t) in targets) t.Dispose();
        }
    }

    /// <summary>Releases what the last forward kept (router logits, input, indices) and their graphs.</summary>
    public void ReleaseRetained()
    {
        _lastIndices?.Dispose();
        _lastIndices = null;
        _lastCounts = null;
        _lastLogits?.Dispose();
        _lastLogits = null;
        _lastInput?.Dispose();
        _lastInput = null;
    }

    public override void Dispose()
    {
        ReleaseRetained();
        base.Dispose();
    }

    /// <summary>A frozen y = x W^T + b over a caller's weight tensor.</summary>
    private sealed class FrozenLinear : Module<Tensor, Tensor>
    {
        private readonly Tensor _weight;
        private readonly Tensor? _bias;

        public FrozenLinear(Tensor weight, Tensor? bias, string name)
        {
            ArgumentNullException.ThrowIfNull(weight);
            if (weight.Dim != 2)
                throw new ArgumentException($"MoE-LoRA module '{name}': base weight must be [out, in], got [{string.Join(", ", weight.Shape)}]", nameof(weight));
            if (bias is not null && (bias.Dim != 1 || bias.size(0) != weight.size(0)))
                throw new ArgumentException($"MoE-LoRA module '{name}': base bias must be [{weight.size(0)}], got [{string.Join(", ", bias.Shape)}]", nameof(bias));
            _weight = RegisterParameter("weight", weight, requiresGrad: false);
            if (bias is not null) _bias = RegisterParameter("bias", bias, requiresGrad: false);
        }

        public override Tensor forward(Tensor input) => F.linear(input, _weight, _bias);
    }
}
