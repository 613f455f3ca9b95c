using System.Text;

namespace MoLA.Model.Allocation;

/// <summary>What to do when a layer's requested top-k exceeds its expert count.</summary>
public enum TopKOverflow
{
    /// <summary>Clamp top-k to N_l and record a warning in <see cref="ExpertAllocation.Warnings"/> (default).</summary>
    Clamp,

    /// <summary>Throw an <see cref="AllocationException"/> naming the layer.</summary>
    Reject,
}

/// <summary>
/// Per-layer MoE-LoRA configuration of a model with L decoder layers: expert count N_l,
/// top-k_l and LoRA rank r_l, plus how it was chosen (<see cref="Provenance"/>).
/// Immutable and always valid: every N_l, k_l, r_l is positive and k_l &lt;= N_l.
/// </summary>
/// <remarks>
/// Layers are indexed from 0 as in Hugging Face parameter names (<c>model.layers.{L}</c>).
/// Shape strings follow <see cref="AllocationShape"/> (one digit per block, comma lists per
/// layer or per block; the first <c>L mod B</c> blocks get one extra layer).
/// </remarks>
public sealed class ExpertAllocation
{
    /// <summary>MoLA's default top-k.</summary>
    public const int DefaultTopK = 2;

    /// <summary>MoLA's default LoRA rank.</summary>
    public const int DefaultRank = 8;

    private readonly int[] _experts;
    private readonly int[] _topK;
    private readonly int[] _ranks;
    private readonly IReadOnlyList<int> _expertsView;
    private readonly IReadOnlyList<int> _topKView;
    private readonly IReadOnlyList<int> _ranksView;

    private ExpertAllocation(int[] experts, int[] topK, int[] ranks, AllocationProvenance provenance, string[] warnings)
    {
        _experts = experts;
        _topK = topK;
        _ranks = ranks;
        _expertsView = Array.AsReadOnly(experts);
        _topKView = Array.AsReadOnly(topK);
        _ranksView = Array.AsReadOnly(ranks);
        Provenance = provenance;
        Warnings = Array.AsReadOnly(warnings);
        long total = 0;
        foreach (int n in experts)
        {
            total += n;
        }

        if (total > int.MaxValue)
        {
            throw new AllocationException("experts", $"experts: total expert count {total} is too large.");
        }

        TotalExperts = (int)total;
    }

    /// <summary>Number of decoder layers L.</summary>
    public int Layers => _experts.Length;

    /// <summary>Expert count N_l per layer.</summary>
    public IReadOnlyList<int> Experts => _expertsView;

    /// <summary>Top-k_l per layer (already clamped to N_l).</summary>
    public IReadOnlyList<int> TopK => _topKView;

    /// <summary>LoRA rank r_l per layer.</summary>
    public IReadOnlyList<int> Ranks => _ranksView;

    /// <summary>Sum of N_l over layers (the "E" of the parameter count E x 660,224 for LLaMA-2-7B).</summary>
    public int TotalExperts { get; }

    /// <summary>How the allocation was produced, for adapter_config.json.</summary>
    public AllocationProvenance Provenance { get; }

    /// <summary>
    /// Adjustments made while building the allocation (e.g. top-k clamped to N_l). Never
    /// silent: callers should log these; empty when nothing was adjusted.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>N_l of one layer.</summary>
    public int ExpertsAt(int layer) => _experts[layer];

    /// <summary>Top-k of one layer.</summary>
    public int TopKAt(int layer) => _topK[layer];

    /// <summary>Rank of one layer.</summary>
    public int RankAt(int layer) => _ranks[layer];

    /// <summary>Same N_l, top-k and rank in every layer.</summary>
    /// <exception cref="AllocationException">Non-positive layers, experts, top-k or rank, or
    /// top-k &gt; experts with <see cref="TopKOverflow.Reject"/>.</exception>
    public static ExpertAllocation Uniform(
        int layers,
        int experts,
        int topK = DefaultTopK,
        int rank = DefaultRank,
        TopKOverflow overflow = TopKOverflow.Clamp)
    {
        if (layers < 1)
        {
            throw new AllocationException(nameof(layers), $"layers: must be at least 1, got {layers}.");
        }

        if (experts < 1)
        {
            throw new AllocationException(nameof(experts), $"experts: expert count must be positive, got {experts}.");
        }

        int[] counts = Filled(layers, experts);
        return Build(
            counts,
            Filled(layers, RequirePositive(topK, nameof(topK))),
            Filled(layers, RequirePositive(rank, nameof(rank))),
            new AllocationProvenance(AllocationStrategies.Uniform, Shape: AllocationShape.Format(counts)),
            overflow);
    }

    /// <summary>
    /// From a MoLA shape string (<c>2468</c>, <c>8228</c>, <c>2,3,5,16</c>, or a per-layer comma
    /// list) with one top-k and rank for every layer. See <see cref="AllocationShape"/>.
    /// </summary>
    public static ExpertAllocation FromShape(
        string shape,
        int layers,
        int topK = DefaultTopK,
        int rank = DefaultRank,
        TopKOverflow overflow = TopKOverflow.Clamp)
    {
        int[] experts = AllocationShape.ParseExpertCounts(shape, layers);
        return Build(
            experts,
            Filled(layers, RequirePositive(topK, nameof(topK))),
            Filled(layers, RequirePositive(rank, nameof(rank))),
            new AllocationProvenance(AllocationStrategies.Shape, Shape: shape.Trim()),
            overflow);
    }

    /// <summary>
    /// From user strings, as the CLI and config files give them: a shape string for the expert
    /// counts, and optional top-k / rank strings (one integer, or a comma list per layer or per
    /// block). Null top-k / rank mean the defaults (2 and 8).
    /// </summary>
    public static ExpertAllocation Parse(
        string shape,
        int layers,
        string? topK = null,
        string? rank = null,
        TopKOverflow overflow = TopKOverflow.Clamp)
    {
        int[] experts = AllocationShape.ParseExpertCounts(shape, layers);
        int[] k = topK is null ? Filled(layers, DefaultTopK) : AllocationShape.ParseLayerValues(topK, layers, "topK");
        int[] r = rank is null ? Filled(layers, DefaultRank) : AllocationShape.ParseLayerValues(rank, layers, "rank");
        return Build(experts, k, r, new AllocationProvenance(AllocationStrategies.Shape, Shape: shape.Trim()), overflow);
    }

    /// <summary>
    /// From explicit per-layer lists. <paramref name="topK"/> and <paramref name="ranks"/> may
    /// be null (defaults 2 and 8) and otherwise must have one entry per layer.
    /// </summary>
    /// <param name="experts">N_l per layer; its length defines L.</param>
    /// <param name="topK">Top-k per layer, or null for 2.</param>
    /// <param name="ranks">Rank per layer, or null for 8.</param>
    /// <param name="overflow">What to do when top-k exceeds N_l.</param>
    /// <param name="provenance">Provenance to record; defaults to <see cref="AllocationStrategies.Explicit"/>.</param>
    public static ExpertAllocation FromLayers(
        IReadOnlyList<int> experts,
        IReadOnlyList<int>? topK = null,
        IReadOnlyList<int>? ranks = null,
        TopKOverflow overflow = TopKOverflow.Clamp,
        AllocationProvenance? provenance = null)
    {
        ArgumentNullException.ThrowIfNull(experts);
        int layers = experts.Count;
        if (layers == 0)
        {
            throw new AllocationException(nameof(experts), "experts: empty list (expected one expert count per layer).");
        }

        int[] n = CopyPositive(experts, layers, nameof(experts), "expert count");
        int[] k = topK is null ? Filled(layers, DefaultTopK) : CopyPositive(topK, layers, nameof(topK), "top-k");
        int[] r = ranks is null ? Filled(layers, DefaultRank) : CopyPositive(ranks, layers, nameof(ranks), "rank");
        return Build(n, k, r, provenance ?? new AllocationProvenance(AllocationStrategies.Explicit), overflow);
    }

    /// <summary>
    /// The shortest shape string that parses back to <see cref="Experts"/> for this many layers
    /// (e.g. <c>2468</c> for MoLA's inverted triangle on 32 layers, <c>5</c> for uniform 5), or
    /// null when the grammar cannot express it. See <see cref="AllocationShape.Format"/>.
    /// </summary>
    public string? ToShapeString() => AllocationShape.Format(_experts);

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("ExpertAllocation(").Append(Provenance.Strategy)
          .Append(", ").Append(Layers).Append(" layers, ").Append(TotalExperts).Append(" experts: ")
          .Append(ToShapeString() ?? string.Join(",", _experts)).Append(')');
        return sb.ToString();
    }

    private static ExpertAllocation Build(int[] experts, int[] topK, int[] ranks, AllocationProvenance provenance, TopKOverflow overflow)
    {
        List<string>? clamped = null;
        for (int l = 0; l < experts.Length; l++)
        {
            if (topK[l] <= experts[l])
            {
                continue;
            }

            if (overflow == TopKOverflow.Reject)
            {
                throw new AllocationException(
                    "topK",
                    $"topK: layer {l} has top-k {topK[l]} but only {experts[l]} expert(s) (top-k must not exceed the expert count).");
            }

            (clamped ??= new List<string>()).Add($"layer {l} ({topK[l]} -> {experts[l]})");
            topK[l] = experts[l];
        }

        string[] warnings = clamped is null
            ? Array.Empty<string>()
            : new[]
            {
                $"top-k exceeds the expert count in {clamped.Count} layer(s); clamped to N_l (dense mixture there): {string.Join(", ", clamped)}.",
            };
        return new ExpertAllocation(experts, topK, ranks, provenance, warnings);
    }

    private static int[] Filled(int layers, int value)
    {
        var a = new int[layers];
        Array.Fill(a, value);
        return a;
    }

    private static int RequirePositive(int value, string field)
    {
        if (value < 1)
        {
            throw new AllocationException(field, $"{field}: must be positive, got {value}.");
        }

        return value;
    }

    private static int[] CopyPositive(IReadOnlyList<int> values, int layers, string field, string what)
    {
        if (values.Count != layers)
        {
            throw new AllocationException(field, $"{field}: wrong list length: expected {layers} (one per layer), got {values.Count}.");
        }

        var a = new int[layers];
        for (int l = 0; l < layers; l++)
        {
            int v = values[l];
            if (v < 1)
            {
                throw new AllocationException(field, $"{field}: layer {l}: {what} must be positive, got {v}.");
            }

            a[l] = v;
        }

        return a;
    }
}
