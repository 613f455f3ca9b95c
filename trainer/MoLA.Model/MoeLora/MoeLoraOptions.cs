namespace MoLA.Model.MoeLora;

/// <summary>
/// How a <see cref="MoeLoraLinear"/> computes its experts. All three forms compute the same function
/// of the same parameters (methods.md section 1) and agree in outputs and gradients to fp32 rounding
/// when dropout is off; they differ only in speed.
/// </summary>
public enum MoeExecution
{
    /// <summary>
    /// <see cref="DenseGated"/> while the local expert width N*r is at most
    /// <see cref="MoeLoraOptions.AutoDenseMaxWidth"/> or every token uses every expert (k &gt;= N),
    /// otherwise <see cref="Grouped"/>.
    /// </summary>
    Auto = 0,

    /// <summary>
    /// The reference implementation's per-expert loop (index_select the expert's tokens, run it,
    /// index_add the result back). Slow; kept as the test oracle. Draws an independent dropout mask
    /// per expert, as the reference does.
    /// </summary>
    Loop = 1,

    /// <summary>
    /// u = dropout(x) A_all^T (one GEMM), r-wide blocks of u multiplied by the sparse gate weights
    /// times scaling, one GEMM with B_all that also adds the base output. Two GEMMs whatever N is;
    /// N/k times the FLOPs of the sparse form. One dropout mask per token, shared by its experts.
    /// </summary>
    DenseGated = 2,

    /// <summary>
    /// Token-expert assignments sorted by expert, each expert's segment padded to whole chunks of 16
    /// or 32 rows, the chunks' GEMMs batched (bmm with each chunk's expert), results scattered back
    /// with one index_add. FLOPs of the sparse form plus a gather and a scatter of the assigned rows.
    /// One dropout mask per token, shared by its experts.
    /// </summary>
    Grouped = 3,
}

/// <summary>The experts of one module that this process holds: global ids [First, First + Count).</summary>
public readonly record struct ExpertShard(int First, int Count)
{
    public int End => First + Count;
    public bool Contains(int expert) => expert >= First && expert < End;
    public override string ToString() => $"[{First}, {End})";
}

/// <summary>
/// Hyper-parameters of one MoE-LoRA module. Defaults follow MoLA: r 8, alpha 16 (scaling 2),
/// dropout 0.05 on the expert input, top-2 routing. <see cref="NumExperts"/> has no default.
/// </summary>
public sealed record MoeLoraOptions
{
    /// <summary>
    /// Crossover of <see cref="MoeExecution.Auto"/>, measured with MoeLayerBenchmark on the project's
    /// 2-core CPU machines (d_in = d_out = 1024, 2048 tokens, r 8, top-2, forward + backward): dense-gated
    /// is faster up to N*r = 128 (N = 16: 180 vs 211 ms, and 115 vs 124 ms with OMP_WAIT_POLICY=PASSIVE);
    /// at N*r = 256 grouped wins by 15% with libgomp's default spinning and loses by 4% with passive
    /// waiting; from N*r = 512 grouped wins clearly (N = 64: 224 vs 368 ms). GPUs will differ: measure
    /// there and set <see cref="AutoDenseMaxWidth"/>.
    /// </summary>
    public const int DefaultAutoDenseMaxWidth = 128;

    /// <summary>Experts N of this module (all ranks together). Required, at least 1.</summary>
    public required int NumExperts { get; init; }

    /// <summary>Experts per token k. k &gt;= N makes the layer a dense soft mixture of all N experts.</summary>
    public int TopK { get; init; } = 2;

    /// <summary>LoRA rank r of each expert.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>LoRA alpha; the expert output is scaled by alpha / r.</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>Dropout probability on the expert input (the router and the base see the undropped x).</summary>
    public double Dropout { get; init; } = 0.05;

    public MoeExecution Execution { get; init; } = MoeExecution.Auto;

    /// <summary>Largest local N*r for which <see cref="MoeExecution.Auto"/> picks the dense-gated form.</summary>
    public int AutoDenseMaxWidth { get; init; } = DefaultAutoDenseMaxWidth;

    /// <summary>
    /// The experts this process holds (expert parallelism); null = all of them. The router always
    /// covers all N experts.
    /// </summary>
    public ExpertShard? Shard { get; init; }

    /// <summary>Keep the last forward's router logits (with their graph) for the load-balancing or z-loss.</summary>
    public bool RetainRouterLogits { get; init; }

    /// <summary>Keep the last forward's expert input and routing for the contrastive loss.</summary>
    public bool RetainExpertInputs { get; init; }

    public double Scaling => Alpha / Rank;

    /// <summary>min(k, N): the number of experts each token actually uses.</summary>
    public int EffectiveTopK => Math.Min(TopK, NumExperts);

    public ExpertShard LocalExperts => Shard ?? new ExpertShard(0, NumExperts);

    /// <summary>Throws <see cref="ArgumentException"/> naming the module and the field when a value is out of range.</summary>
    public void Validate(string moduleName)
    {
        var where = string.IsNullOrEmpty(moduleName) ? "MoE-LoRA module" : $"MoE-LoRA module '{moduleName}'";
        if (NumExperts < 1)
            throw new ArgumentOutOfRangeException(nameof(NumExperts), NumExperts, $"{where}: number of experts must be at least 1, got {NumExperts}");
        if (TopK < 1)
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, $"{where}: top-k must be at least 1, got {TopK}");
        if (Rank < 1)
            throw new ArgumentOutOfRangeException(nameof(Rank), Rank, $"{where}: LoRA rank r must be at least 1, got {Rank}");
        if (!(Alpha > 0) || double.IsInfinity(Alpha))
            throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, $"{where}: LoRA alpha must be a positive finite number, got {Alpha}");
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, $"{where}: dropout must be in [0, 1), got {Dropout}");
        if (!Enum.IsDefined(Execution))
            throw new ArgumentOutOfRangeException(nameof(Execution), Execution, $"{where}: unknown execution mode {(int)Execution}");
        if (AutoDenseMaxWidth < 0)
            throw new ArgumentOutOfRangeException(nameof(AutoDenseMaxWidth), AutoDenseMaxWidth, $"{where}: the Auto threshold must not be negative, got {AutoDenseMaxWidth}");
        if (Shard is { } s && (s.First < 0 || s.Count < 1 || s.End > NumExperts))
            throw new ArgumentOutOfRangeException(nameof(Shard), s, $"{where}: expert shard {s} is not a non-empty range inside [0, {NumExperts})");
    }

    /// <summary>The form <see cref="MoeExecution.Auto"/> resolves to for a module holding <paramref name="localExperts"/> experts.</summary>
    public MoeExecution Resolve(MoeExecution requested, int localExperts)
    {
        if (requested != MoeExecution.Auto) return requested;
        if (EffectiveTopK >= NumExperts) return MoeExecution.DenseGated;
        return (long)localExperts * Rank <= AutoDenseMaxWidth ? MoeExecution.DenseGated : MoeExecution.Grouped;
    }
}
