namespace MoLA.Model.ParameterCounting;

/// <summary>The seven linear projections of a LLaMA decoder layer that MoE-LoRA can wrap.</summary>
public enum LlamaProjection
{
    /// <summary><c>self_attn.q_proj</c>: hidden -> heads x head_dim.</summary>
    Q,

    /// <summary><c>self_attn.k_proj</c>: hidden -> kv_heads x head_dim.</summary>
    K,

    /// <summary><c>self_attn.v_proj</c>: hidden -> kv_heads x head_dim.</summary>
    V,

    /// <summary><c>self_attn.o_proj</c>: heads x head_dim -> hidden.</summary>
    O,

    /// <summary><c>mlp.gate_proj</c>: hidden -> intermediate.</summary>
    Gate,

    /// <summary><c>mlp.up_proj</c>: hidden -> intermediate.</summary>
    Up,

    /// <summary><c>mlp.down_proj</c>: intermediate -> hidden.</summary>
    Down,
}

/// <summary>
/// The dimensions of a LLaMA-family model that parameter counting needs (a subset of
/// config.json). <see cref="HeadDim"/> null means hidden_size / num_attention_heads, as
/// Hugging Face does when config.json has no head_dim.
/// </summary>
public sealed record LlamaShape(
    int HiddenSize,
    int IntermediateSize,
    int NumHiddenLayers,
    int NumAttentionHeads,
    int NumKeyValueHeads,
    int? HeadDim = null)
{
    /// <summary>All seven projections, in decoder order (q, k, v, o, gate, up, down): MoLA's default targets.</summary>
    public static IReadOnlyList<LlamaProjection> AllProjections { get; } = Array.AsReadOnly(new[]
    {
        LlamaProjection.Q, LlamaProjection.K, LlamaProjection.V, LlamaProjection.O,
        LlamaProjection.Gate, LlamaProjection.Up, LlamaProjection.Down,
    });

    /// <summary>LLaMA-2-7B: d 4096, MLP 11008, 32 layers, 32 heads (MHA).</summary>
    public static LlamaShape Llama2_7B { get; } = new(4096, 11008, 32, 32, 32);

    /// <summary>Head dimension actually used: <see cref="HeadDim"/> or hidden / heads.</summary>
    public int EffectiveHeadDim => HeadDim ?? (NumAttentionHeads > 0 ? HiddenSize / NumAttentionHeads : 0);

    /// <summary>
    /// Checks every dimension is positive, heads divide evenly into KV groups, and the head
    /// dimension is well defined.
    /// </summary>
    /// <exception cref="ArgumentException">The offending field is named.</exception>
    public void Validate()
    {
        RequirePositive(HiddenSize, "hidden_size");
        RequirePositive(IntermediateSize, "intermediate_size");
        RequirePositive(NumHiddenLayers, "num_hidden_layers");
        RequirePositive(NumAttentionHeads, "num_attention_heads");
        RequirePositive(NumKeyValueHeads, "num_key_value_heads");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
        {
            throw new ArgumentException(
                $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads}).",
                "num_key_value_heads");
        }

        if (HeadDim is int hd)
        {
            RequirePositive(hd, "head_dim");
        }
        else if (HiddenSize % NumAttentionHeads != 0)
        {
            throw new ArgumentException(
                $"hidden_size ({HiddenSize}) is not divisible by num_attention_heads ({NumAttentionHeads}); give head_dim explicitly.",
                "head_dim");
        }
    }

    /// <summary>(in, out) features of a projection's weight, which is stored as [out, in].</summary>
    public (int In, int Out) Dimensions(LlamaProjection projection)
    {
        int hd = EffectiveHeadDim;
        return projection switch
        {
            LlamaProjection.Q => (HiddenSize, NumAttentionHeads * hd),
            LlamaProjection.K or LlamaProjection.V => (HiddenSize, NumKeyValueHeads * hd),
            LlamaProjection.O => (NumAttentionHeads * hd, HiddenSize),
            LlamaProjection.Gate or LlamaProjection.Up => (HiddenSize, IntermediateSize),
            LlamaProjection.Down => (IntermediateSize, HiddenSize),
            _ => throw new ArgumentOutOfRangeException(nameof(projection), projection, "unknown projection"),
        };
    }

    /// <summary>
    /// Parses a target-module name: <c>q</c>, <c>q_proj</c>, <c>self_attn.q_proj</c>,
    /// <c>gate</c>, <c>mlp.down_proj</c>, ... (case-insensitive).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the accepted ones.</exception>
    public static LlamaProjection ParseProjection(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string s = name.Trim().ToLowerInvariant();
        int dot = s.LastIndexOf('.');
        if (dot >= 0)
        {
            s = s[(dot + 1)..];
        }

        if (s.EndsWith("_proj", StringComparison.Ordinal))
        {
            s = s[..^"_proj".Length];
        }

        return s switch
        {
            "q" => LlamaProjection.Q,
            "k" => LlamaProjection.K,
            "v" => LlamaProjection.V,
            "o" => LlamaProjection.O,
            "gate" => LlamaProjection.Gate,
            "up" => LlamaProjection.Up,
            "down" => LlamaProjection.Down,
            _ => throw new ArgumentException(
                $"target module '{name}' is not a LLaMA projection (expected q, k, v, o, gate, up or down, optionally with _proj).",
                nameof(name)),
        };
    }

    private static void RequirePositive(int value, string field)
    {
        if (value < 1)
        {
            throw new ArgumentException($"{field} must be positive, got {value}.", field);
        }
    }
}
