using MoLA.Model.ParameterCounting;
using MoLA.Torch;
using MoLA.Torch.NN;

namespace MoLA.Model.Llama;

// The LLaMA decoder, nanoGPT-style: everything the forward pass does is in this file.
//
//   ids [B,S] -> embed_tokens -> N x { h += attn(norm(h)); h += mlp(norm(h)) } -> norm -> lm_head -> logits [B,S,V]
//
//   attn(x): q,k,v = x Wq^T, x Wk^T, x Wv^T split into heads; RoPE on q and k (rotate_half, float32);
//            k,v appended to the KV cache if any; each KV head repeated for H/KV query heads (GQA);
//            softmax(q k^T / sqrt(hd) + causal/padding mask) v; heads merged; o_proj.
//   mlp(x):  down(silu(gate(x)) * up(x)).
//   norm(x): w * x * rsqrt(mean(x^2) + eps), in float32.
//
// Module names follow Hugging Face, so state_dict() keys are exactly the checkpoint's tensor names.
// The seven projections of each layer sit in replaceable slots typed Module<Tensor, Tensor>:
// MoE-LoRA wraps the frozen base Linear in place (LlamaModel.ReplaceProjection) and the model
// calls whatever the slot holds.

/// <summary>One projection slot of the model, as <see cref="LlamaModel.Projections"/> lists them.</summary>
/// <param name="Layer">Decoder layer index.</param>
/// <param name="Projection">Which of the seven projections.</param>
/// <param name="Name">Hugging Face module name: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj.</param>
/// <param name="Path">Full module path, e.g. <c>model.layers.3.self_attn.q_proj</c>.</param>
/// <param name="InFeatures">Input width the slot receives (last dimension).</param>
/// <param name="OutFeatures">Output width the slot must produce.</param>
/// <param name="Module">What the slot holds now (the base Linear, or a wrapper around it).</param>
/// <param name="Base">The frozen base projection the model was built with (weight [out, in], no bias).</param>
public sealed record LlamaProjectionSlot(
    int Layer,
    LlamaProjection Projection,
    string Name,
    string Path,
    long InFeatures,
    long OutFeatures,
    Module<Tensor, Tensor> Module,
    Linear Base);

/// <summary>
/// LLaMA causal language model (Hugging Face's LlamaForCausalLM): <see cref="Model"/> ("model")
/// and <see cref="LmHead"/> ("lm_head", absent when the config ties it to the embedding).
/// </summary>
public sealed class LlamaModel : Module<Tensor, Tensor>
{
    /// <summary>
    /// Builds the model with freshly initialised parameters in <paramref name="dtype"/> on
    /// <paramref name="device"/> (use <see cref="LlamaCheckpoint.Load"/> to read a checkpoint).
    /// </summary>
    public LlamaModel(LlamaConfig config, DType dtype = DType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!dtype.IsFloatingPoint())
            throw new ArgumentException($"LlamaModel: compute dtype must be floating point, got {dtype}", nameof(dtype));
        Config = config;
        Model = RegisterModule("model", new LlamaDecoder(config, dtype, device));
        if (!config.TieWordEmbeddings)
            LmHead = RegisterModule("lm_head", new Linear(config.HiddenSize, config.VocabSize, hasBias: false, dtype, device));
    }

    public LlamaConfig Config { get; }

    /// <summary>Embedding, decoder layers and final norm (Hugging Face's LlamaModel, named "model").</summary>
    public LlamaDecoder Model { get; }

    /// <summary>Output projection [vocab, hidden]; null when tied (the embedding matrix is used).</summary>
    public Linear? LmHead { get; }

    /// <summary>The matrix that maps final hidden states to logits ([vocab, hidden]).</summary>
    public Tensor OutputWeight => LmHead?.weight ?? Model.EmbedTokens.weight;

    /// <summary>Current compute dtype (that of the parameters).</summary>
    public DType DType => Model.EmbedTokens.weight.DType;

    public Device Device => Model.EmbedTokens.weight.Device;

    public IReadOnlyList<LlamaDecoderLayer> Layers => Model.Layers;

    // ---- forward --------------------------------------------------------------------------

    /// <summary>Logits [B, S, V] for token ids [B, S] (int64), causal attention.</summary>
    public override Tensor forward(Tensor inputIds) => forward(inputIds, attentionMask: null);

    /// <summary>
    /// Logits [B, S, V]; <paramref name="attentionMask"/> [B, S] holds 1 for real tokens and 0 for
    /// padding (keys at padded positions are never attended to; outputs at padded positions are
    /// meaningless). Positions are 0..S-1 whatever the padding, as in Hugging Face's forward.
    /// </summary>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask) =>
        Logits(Model.forward(inputIds, attentionMask, cache: null, startPos: 0));

    /// <summary>
    /// Incremental decoding: <paramref name="inputIds"/> [B, S] are the tokens at positions
    /// startPos..startPos+S-1; <paramref name="cache"/> holds keys and values of the positions
    /// before (its <see cref="LlamaKvCache.Length"/> must equal <paramref name="startPos"/>) and
    /// is extended by these. <paramref name="attentionMask"/>, if given, covers all
    /// startPos + S key positions. Use under <c>torch.no_grad()</c> for generation.
    /// </summary>
    public Tensor forward(Tensor inputIds, LlamaKvCache cache, long startPos, Tensor? attentionMask = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return Logits(Model.forward(inputIds, attentionMask, cache, startPos));
    }

    /// <summary>Final-norm hidden states [B, S, D] to logits [B, S, V].</summary>
    public Tensor Logits(Tensor hidden) => LmHead is null ? F.linear(hidden, Model.EmbedTokens.weight) : LmHead.forward(hidden);

    /// <summary>An empty KV cache for this model.</summary>
    public LlamaKvCache NewKvCache() => new(Config.NumHiddenLayers);

    // ---- projection slots (the MoE-LoRA hook) -----------------------------------------------

    /// <summary>Every projection slot, layer by layer, in the order q, k, v, o, gate, up, down.</summary>
    public IEnumerable<LlamaProjectionSlot> Projections()
    {
        for (var layer = 0; layer < Layers.Count; layer++)
            foreach (var p in LlamaShape.AllProjections)
                yield return Slot(layer, p);
    }

    /// <summary>One slot (what it holds, its base Linear, widths and path).</summary>
    public LlamaProjectionSlot Slot(int layer, LlamaProjection projection)
    {
        var l = Layer(layer);
        var (inF, outF) = Config.ToShape().Dimensions(projection);
        var name = ProjectionName(projection);
        var owner = IsAttention(projection) ? "self_attn" : "mlp";
        return new LlamaProjectionSlot(layer, projection, name, $"model.layers.{layer}.{owner}.{name}", inF, outF,
            l.GetProjection(projection), l.BaseProjection(projection));
    }

    /// <summary>What the slot holds now.</summary>
    public Module<Tensor, Tensor> GetProjection(int layer, LlamaProjection projection) => Layer(layer).GetProjection(projection);

    /// <summary>
    /// Puts <paramref name="replacement"/> in the slot and returns what was there. The replacement
    /// receives [..., in] activations in the compute dtype and must return [..., out]; it is
    /// registered under the slot's name (its parameters appear as e.g.
    /// <c>model.layers.0.self_attn.q_proj.&lt;its names&gt;</c>) and follows train/eval and Dispose.
    /// </summary>
    public Module<Tensor, Tensor> ReplaceProjection(int layer, LlamaProjection projection, Module<Tensor, Tensor> replacement) =>
        Layer(layer).ReplaceProjection(projection, replacement);

    /// <summary>As above with the name as config files give it: q_proj, q, self_attn.q_proj, mlp.down_proj, ...</summary>
    public Module<Tensor, Tensor> ReplaceProjection(int layer, string name, Module<Tensor, Tensor> replacement) =>
        ReplaceProjection(layer, LlamaShape.ParseProjection(name), replacement);

    /// <summary>The base Linear the model was built with (unchanged by replacement).</summary>
    public Linear BaseProjection(int layer, LlamaProjection projection) => Layer(layer).BaseProjection(projection);

    public static string ProjectionName(LlamaProjection p) => p switch
    {
        LlamaProjection.Q => "q_proj",
        LlamaProjection.K => "k_proj",
        LlamaProjection.V => "v_proj",
        LlamaProjection.O => "o_proj",
        LlamaProjection.Gate => "gate_proj",
        LlamaProjection.Up => "up_proj",
        LlamaProjection.Down => "down_proj",
        _ => throw new ArgumentOutOfRangeException(nameof(p), p, "unknown projection"),
    };

    internal static bool IsAttention(LlamaProjection p) => p is LlamaProjection.Q or LlamaProjection.K or LlamaProjection.V or LlamaProjection.O;

    private LlamaDecoderLayer Layer(int layer) =>
        layer >= 0 && layer < Layers.Count
            ? Layers[layer]
            : throw new ArgumentOutOfRangeException(nameof(layer), layer, $"the model has {Layers.Count} layers");

    // ---- base weights ---------------------------------------------------------------------------

    /// <summary>
    /// The base model's tensors by Hugging Face name (what a checkpoint holds), whatever the slots
    /// hold now: embedding, per layer norms and the seven base projections, final norm, lm_head.
    /// </summary>
    public IEnumerable<(string Name, Tensor Tensor)> BaseParameters()
    {
        yield return ("model.embed_tokens.weight", Model.EmbedTokens.weight);
        for (var i = 0; i < Layers.Count; i++)
        {
            var layer = Layers[i];
            var prefix = $"model.layers.{i}.";
            yield return (prefix + "input_layernorm.weight", layer.InputLayernorm.weight);
            foreach (var p in LlamaShape.AllProjections)
            {
                if (p == LlamaProjection.Gate)
                    yield return (prefix + "post_attention_layernorm.weight", layer.PostAttentionLayernorm.weight);
                yield return (prefix + (IsAttention(p) ? "self_attn." : "mlp.") + ProjectionName(p) + ".weight", layer.BaseProjection(p).weight);
            }
        }
        yield return ("model.norm.weight", Model.Norm.weight);
        if (LmHead is not null) yield return ("lm_head.weight", LmHead.weight);
    }

    /// <summary>Stops gradients to every base weight (fine-tuning trains adapters only).</summary>
    public void FreezeBaseWeights()
    {
        foreach (var (_, t) in BaseParameters())
            if (t.RequiresGrad) t.RequiresGrad = false;
    }

    /// <summary>Fresh init as Hugging Face: projections and embedding N(0, std), norms 1 (std defaults to initializer_range).</summary>
    public void InitializeWeights(double? std = null)
    {
        var s = std ?? Config.InitializerRange;
        using var _ = torch.no_grad();
        foreach (var (name, t) in BaseParameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) t.fill_(1.0);
            else t.normal_(0, s);
        }
    }
}

/// <summary>Embedding, decoder layers and final norm (Hugging Face's LlamaModel).</summary>
public sealed class LlamaDecoder : Module
{
    internal LlamaDecoder(LlamaConfig config, DType dtype, Device? device)
    {
        Config = config;
        EmbedTokens = RegisterModule("embed_tokens", new Embedding(config.VocabSize, config.HiddenSize, dtype, device));
        Layers = RegisterModule("layers", new LlamaLayerList(config, dtype, device));
        Norm = RegisterModule("norm", new RMSNorm(config.HiddenSize, config.RmsNormEps, dtype, device));
        Rotary = new LlamaRotaryEmbedding(config);
    }

    public LlamaConfig Config { get; }
    public Embedding EmbedTokens { get; }
    public LlamaLayerList Layers { get; }
    public RMSNorm Norm { get; }

    /// <summary>cos/sin tables (not parameters, not in the state dict).</summary>
    public LlamaRotaryEmbedding Rotary { get; }

    public override void Dispose()
    {
        base.Dispose();
        Rotary.Dispose();
    }

    /// <summary>Final-norm hidden states [B, S, D]; see <see cref="LlamaModel"/>'s forward overloads for the arguments.</summary>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask, LlamaKvCache? cache, long startPos)
    {
        if (inputIds.Dim != 2)
            throw new ArgumentException($"input_ids must be [batch, seq], got [{string.Join(", ", inputIds.Shape)}]", nameof(inputIds));
        if (inputIds.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"input_ids must be int64 (or int32), got {inputIds.DType}", nameof(inputIds));
        long batch = inputIds.size(0), seq = inputIds.size(1);
        if (seq == 0) throw new ArgumentException("input_ids has no positions (seq = 0)", nameof(inputIds));
        if (startPos < 0) throw new ArgumentOutOfRangeException(nameof(startPos), startPos, "startPos must be >= 0");
        if (cache is null && startPos != 0)
            throw new ArgumentException($"startPos {startPos} needs a KV cache holding the earlier positions", nameof(startPos));
        if (cache is not null)
        {
            if (cache.NumLayers != Layers.Count)
                throw new ArgumentException($"KV cache has {cache.NumLayers} layers, the model {Layers.Count}", nameof(cache));
            if (cache.Length != startPos)
                throw new ArgumentException($"KV cache holds {cache.Length} positions but startPos is {startPos}; they must be equal (Truncate the cache to rewind)", nameof(startPos));
        }
        long total = startPos + seq;
        if (Config.SlidingWindow is int window && total > window)
            throw new NotSupportedException($"{total} positions exceed sliding_window {window}; sliding-window attention is not implemented");
        if (attentionMask is not null && (attentionMask.Dim != 2 || attentionMask.size(0) != batch || attentionMask.size(1) != total))
            throw new ArgumentException(
                $"attention_mask has shape [{string.Join(", ", attentionMask.Shape)}], expected [{batch}, {total}] (batch, past + new positions)", nameof(attentionMask));

        var context = Context(inputIds.Device, attentionMask, cache, startPos, seq);

        try
        {
            var h = EmbedTokens.forward(inputIds);
            for (var i = 0; i < Layers.Count; i++)
                h = Layers[i].forward(h, context, i);
            cache?.Advance(seq);
            return Norm.forward(h);
        }
        catch when (cache is not null)
        {
            cache.Truncate(startPos); // leave no half-appended step behind
            throw;
        }
    }

    /// <summary>
    /// What every layer needs for <paramref name="seq"/> new positions after <paramref name="startPos"/>: RoPE
    /// tables and the attention mask. Public so that layer-wise execution (activation checkpointing) can run
    /// <see cref="Layers"/> one at a time exactly as <see cref="forward"/> does.
    /// </summary>
    public LlamaAttentionContext Context(Device device, Tensor? attentionMask, LlamaKvCache? cache, long startPos, long seq)
    {
        var ropeDType = EmbedTokens.weight.DType == DType.Float64 ? DType.Float64 : DType.Float32;
        var (cos, sin) = Rotary.Slice(startPos, seq, device, ropeDType);
        var (mask, isCausal) = AttentionMask(attentionMask, startPos, seq, device);
        return new LlamaAttentionContext(cos, sin, mask, isCausal, cache);
    }

    /// <summary>
    /// The attention mask for queries at startPos..startPos+S-1 over keys 0..startPos+S-1.
    /// Plain causal prefill uses the fused causal path (no mask tensor); a single new token with no
    /// padding attends to everything; otherwise a boolean [1|B, 1, S, T] mask (true = attend):
    /// causal AND key not padded, OR the query's own position, so no row is empty (an empty row
    /// would give NaN, and NaN times a zero weight still poisons later layers).
    /// </summary>
    private static (Tensor? Mask, bool IsCausal) AttentionMask(Tensor? padding, long startPos, long seq, Device device)
    {
        long total = startPos + seq;
        if (padding is null)
        {
            if (startPos == 0) return (null, seq > 1);
            if (seq == 1) return (null, false);
        }
        var queryPos = torch.arange(startPos, total, 1, DType.Int64, device).view(seq, 1);
        var keyPos = torch.arange(0, total, 1, DType.Int64, device).view(1, total);
        var allowed = keyPos.le(queryPos).view(1, 1, seq, total);
        if (padding is not null)
        {
            var keyIsReal = padding.ne(0).view(padding.size(0), 1, 1, total);
            allowed = allowed.logical_and(keyIsReal).logical_or(keyPos.eq(queryPos).view(1, 1, seq, total));
        }
        return (allowed, false);
    }
}

/// <summary>What every layer's attention needs for one forward call.</summary>
public readonly record struct LlamaAttentionContext(Tensor Cos, Tensor Sin, Tensor? Mask, bool IsCausal, LlamaKvCache? Cache);

/// <summary>The decoder layers, registered as "0", "1", ... (Hugging Face's ModuleList).</summary>
public sealed class LlamaLayerList : Module, IReadOnlyList<LlamaDecoderLayer>
{
    private readonly List<LlamaDecoderLayer> _layers = [];

    internal LlamaLayerList(LlamaConfig config, DType dtype, Device? device)
    {
        for (var i = 0; i < config.NumHiddenLayers; i++)
            _layers.Add(RegisterModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), new LlamaDecoderLayer(config, dtype, device)));
    }

    public LlamaDecoderLayer this[int index] => _layers[index];
    public int Count => _layers.Count;
    public IEnumerator<LlamaDecoderLayer> GetEnumerator() => _layers.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Pre-norm transformer block: h += attn(norm(h)); h += mlp(norm(h)).</summary>
public sealed class LlamaDecoderLayer : Module
{
    internal LlamaDecoderLayer(LlamaConfig config, DType dtype, Device? device)
    {
        SelfAttn = RegisterModule("self_attn", new LlamaAttention(config, dtype, device));
        Mlp = RegisterModule("mlp", new LlamaMlp(config, dtype, device));
        InputLayernorm = RegisterModule("input_layernorm", new RMSNorm(config.HiddenSize, config.RmsNormEps, dtype, device));
        PostAttentionLayernorm = RegisterModule("post_attention_layernorm", new RMSNorm(config.HiddenSize, config.RmsNormEps, dtype, device));
    }

    public LlamaAttention SelfAttn { get; }
    /// <summary>Alias of <see cref="SelfAttn"/>.</summary>
    public LlamaAttention Attention => SelfAttn;
    public LlamaMlp Mlp { get; }
    public RMSNorm InputLayernorm { get; }
    public RMSNorm PostAttentionLayernorm { get; }

    public Tensor forward(Tensor hidden, in LlamaAttentionContext context, int layerIndex)
    {
        var h = hidden + SelfAttn.forward(InputLayernorm.forward(hidden), context, layerIndex);
        return h + Mlp.forward(PostAttentionLayernorm.forward(h));
    }

    public Module<Tensor, Tensor> GetProjection(LlamaProjection p) => p switch
    {
        LlamaProjection.Q => SelfAttn.QProj,
        LlamaProjection.K => SelfAttn.KProj,
        LlamaProjection.V => SelfAttn.VProj,
        LlamaProjection.O => SelfAttn.OProj,
        LlamaProjection.Gate => Mlp.GateProj,
        LlamaProjection.Up => Mlp.UpProj,
        LlamaProjection.Down => Mlp.DownProj,
        _ => throw new ArgumentOutOfRangeException(nameof(p), p, "unknown projection"),
    };

    /// <summary>Puts <paramref name="replacement"/> in the slot; returns the previous occupant.</summary>
    public Module<Tensor, Tensor> ReplaceProjection(LlamaProjection p, Module<Tensor, Tensor> replacement)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        var previous = GetProjection(p);
        switch (p)
        {
            case LlamaProjection.Q: SelfAttn.QProj = replacement; break;
            case LlamaProjection.K: SelfAttn.KProj = replacement; break;
            case LlamaProjection.V: SelfAttn.VProj = replacement; break;
            case LlamaProjection.O: SelfAttn.OProj = replacement; break;
            case LlamaProjection.Gate: Mlp.GateProj = replacement; break;
            case LlamaProjection.Up: Mlp.UpProj = replacement; break;
            case LlamaProjection.Down: Mlp.DownProj = replacement; break;
            default: throw new ArgumentOutOfRangeException(nameof(p), p, "unknown projection");
        }
        return previous;
    }

    public Linear BaseProjection(LlamaProjection p) =>
        LlamaModel.IsAttention(p) ? SelfAttn.BaseProjection(p) : Mlp.BaseProjection(p);
}

/// <summary>Multi-head attention with RoPE and grouped-query KV heads; projections without bias.</summary>
public sealed class LlamaAttention : Module
{
    private readonly Linear[] _base;
    private Module<Tensor, Tensor> _q, _k, _v, _o;

    internal LlamaAttention(LlamaConfig config, DType dtype, Device? device)
    {
        NumHeads = config.NumAttentionHeads;
        NumKeyValueHeads = config.NumKeyValueHeads;
        HeadDim = config.HeadDim;
        long d = config.HiddenSize, q = (long)NumHeads * HeadDim, kv = (long)NumKeyValueHeads * HeadDim;
        _base =
        [
            new Linear(d, q, hasBias: false, dtype, device),
            new Linear(d, kv, hasBias: false, dtype, device),
            new Linear(d, kv, hasBias: false, dtype, device),
            new Linear(q, d, hasBias: false, dtype, device),
        ];
        _q = RegisterModule("q_proj", _base[0]);
        _k = RegisterModule("k_proj", _base[1]);
        _v = RegisterModule("v_proj", _base[2]);
        _o = RegisterModule("o_proj", _base[3]);
    }

    public int NumHeads { get; }
    public int NumKeyValueHeads { get; }
    public int HeadDim { get; }

    public Module<Tensor, Tensor> QProj { get => _q; set => _q = ReplaceModule("q_proj", value); }
    public Module<Tensor, Tensor> KProj { get => _k; set => _k = ReplaceModule("k_proj", value); }
    public Module<Tensor, Tensor> VProj { get => _v; set => _v = ReplaceModule("v_proj", value); }
    public Module<Tensor, Tensor> OProj { get => _o; set => _o = ReplaceModule("o_proj", value); }

    public Linear BaseProjection(LlamaProjection p) => p switch
    {
        LlamaProjection.Q => _base[0],
        LlamaProjection.K => _base[1],
        LlamaProjection.V => _base[2],
        LlamaProjection.O => _base[3],
        _ => throw new ArgumentOutOfRangeException(nameof(p), p, "not an attention projection"),
    };

    public Tensor forward(Tensor x, in LlamaAttentionContext context, int layerIndex)
    {
        long b = x.size(0), s = x.size(1);
        // [B, S, heads * hd] -> [B, heads, S, hd]
        var q = QProj.forward(x).reshape(b, s, NumHeads, HeadDim).transpose(1, 2);
        var k = KProj.forward(x).reshape(b, s, NumKeyValueHeads, HeadDim).transpose(1, 2);
        var v = VProj.forward(x).reshape(b, s, NumKeyValueHeads, HeadDim).transpose(1, 2);

        q = LlamaRotaryEmbedding.Apply(q, context.Cos, context.Sin);
        k = LlamaRotaryEmbedding.Apply(k, context.Cos, context.Sin);
        if (context.Cache is not null) (k, v) = context.Cache.Append(layerIndex, k, v);

        // GQA: KV head j serves query heads j*g .. j*g+g-1.
        var groups = NumHeads / NumKeyValueHeads;
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, 1);
            v = v.repeat_interleave(groups, 1);
        }

        var y = F.scaled_dot_product_attention(q, k, v, context.Mask, 0, context.IsCausal);
        y = y.transpose(1, 2).reshape(b, s, (long)NumHeads * HeadDim);
        return OProj.forward(y);
    }

    public override void Dispose()
    {
        base.Dispose();
        foreach (var l in _base) l.Dispose(); // a wrapper need not own the base it replaced
    }
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) * up(x)); projections without bias.</summary>
public sealed class LlamaMlp : Module<Tensor, Tensor>
{
    private readonly Linear[] _base;
    private Module<Tensor, Tensor> _gate, _up, _down;

    internal LlamaMlp(LlamaConfig config, DType dtype, Device? device)
    {
        long d = config.HiddenSize, m = config.IntermediateSize;
        _base =
        [
            new Linear(d, m, hasBias: false, dtype, device),
            new Linear(d, m, hasBias: false, dtype, device),
            new Linear(m, d, hasBias: false, dtype, device),
        ];
        _gate = RegisterModule("gate_proj", _base[0]);
        _up = RegisterModule("up_proj", _base[1]);
        _down = RegisterModule("down_proj", _base[2]);
    }

    public Module<Tensor, Tensor> GateProj { get => _gate; set => _gate = ReplaceModule("gate_proj", value); }
    public Module<Tensor, Tensor> UpProj { get => _up; set => _up = ReplaceModule("up_proj", value); }
    public Module<Tensor, Tensor> DownProj { get => _down; set => _down = ReplaceModule("down_proj", value); }

    public Linear BaseProjection(LlamaProjection p) => p switch
    {
        LlamaProjection.Gate => _base[0],
        LlamaProjection.Up => _base[1],
        LlamaProjection.Down => _base[2],
        _ => throw new ArgumentOutOfRangeException(nameof(p), p, "not an MLP projection"),
    };

    public override Tensor forward(Tensor x) => DownProj.forward(GateProj.forward(x).silu() * UpProj.forward(x));

    public override void Dispose()
    {
        base.Dispose();
        foreach (var l in _base) l.Dispose();
    }
}

/// <summary>
/// Rotary position embedding tables. inv_freq_i = theta^(-2i/hd) (adjusted by linear or llama3
/// scaling); cos/sin [positions, hd] hold angle p * inv_freq_(j mod hd/2), so dimension j pairs with
/// j + hd/2 (rotate_half). Computed and stored in double precision (a float64 model uses them as they are; other
/// dtypes get a rounded copy per device and dtype), extended on demand beyond the initial length; kept outside the
/// state dict (they are not checkpoint tensors).
/// </summary>
public sealed class LlamaRotaryEmbedding : IDisposable
{
    private const int InitialPositions = 4096;
    private readonly int _headDim;
    private long _length;
    // CPU float64 masters: float32 tables would cap a float64 model at ~6e-8 relative (and make its scores depend on
    // absolute positions at that level); the float32 copies are the same values as before (each double rounded once).
    private Tensor? _cos, _sin;
    private readonly Dictionary<(Device, DType), (Tensor Cos, Tensor Sin)> _copies = [];

    public LlamaRotaryEmbedding(LlamaConfig config)
    {
        _headDim = config.HeadDim;
        InverseFrequencies = ComputeInverseFrequencies(config);
        _length = Math.Min(config.MaxPositionEmbeddings, InitialPositions);
    }

    /// <summary>inv_freq [hd/2], scaling applied.</summary>
    public IReadOnlyList<double> InverseFrequencies { get; }

    /// <summary>Hugging Face's inv_freq for the config (default, linear or llama3), in double precision.</summary>
    public static double[] ComputeInverseFrequencies(LlamaConfig config)
    {
        int half = config.HeadDim / 2;
        var inv = new double[half];
        for (var i = 0; i < half; i++)
            inv[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / config.HeadDim);
        var s = config.RopeScaling;
        if (s is null) return inv;
        if (s.Type == LlamaRopeType.Linear)
        {
            for (var i = 0; i < half; i++) inv[i] /= s.Factor;
            return inv;
        }
        // llama3: wavelengths longer than original_context / low_freq_factor are slowed by factor,
        // those shorter than original_context / high_freq_factor kept, the band between blended.
        double lowFreqWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        double highFreqWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        for (var i = 0; i < half; i++)
        {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowFreqWavelen)
            {
                inv[i] /= s.Factor;
            }
            else if (wavelen >= highFreqWavelen)
            {
                double smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                inv[i] = (1 - smooth) * inv[i] / s.Factor + smooth * inv[i];
            }
        }
        return inv;
    }

    /// <summary>cos and sin for positions start..start+length-1 ([length, hd], views valid in the current scope).</summary>
    public (Tensor Cos, Tensor Sin) Slice(long start, long length, Device device, DType dtype = DType.Float32)
    {
        if (start + length > _length || _cos is null) Build(Math.Max(start + length, _cos is null ? _length : 2 * _length));
        if (!_copies.TryGetValue((device, dtype), out var tables))
        {
            tables = device == Device.CPU && dtype == DType.Float64
                ? (_cos!.alias().DetachFromScope(), _sin!.alias().DetachFromScope())
                : (_cos!.to(dtype, device).DetachFromScope(), _sin!.to(dtype, device).DetachFromScope());
            _copies[(device, dtype)] = tables;
        }
        return (tables.Cos.narrow(0, start, length), tables.Sin.narrow(0, start, length));
    }

    private void Build(long positions)
    {
        DisposeTables();
        int half = _headDim / 2;
        var cos = new double[positions * _headDim];
        var sin = new double[positions * _headDim];
        for (long p = 0; p < positions; p++)
        {
            long row = p * _headDim;
            for (var i = 0; i < half; i++)
            {
                double angle = p * InverseFrequencies[i];
                double c = Math.Cos(angle), sn = Math.Sin(angle);
                cos[row + i] = cos[row + i + half] = c;
                sin[row + i] = sin[row + i + half] = sn;
            }
        }
        _cos = torch.tensor(cos, positions, _headDim).DetachFromScope();
        _sin = torch.tensor(sin, positions, _headDim).DetachFromScope();
        _length = positions;
    }

    /// <summary>x * cos + rotate_half(x) * sin in the tables' dtype (float32, or float64 for a float64 model), returned in x's dtype. x: [B, H, S, hd].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        var dtype = x.DType;
        var xf = dtype == cos.DType ? x : x.to(cos.DType);
        long half = xf.size(-1) / 2;
        var rotated = torch.cat([xf.narrow(-1, half, half).neg(), xf.narrow(-1, 0, half)], -1);
        var y = xf * cos + rotated * sin;
        return y.DType == dtype ? y : y.to(dtype);
    }

    private void DisposeTables()
    {
        _cos?.Dispose();
        _sin?.Dispose();
        _cos = _sin = null;
        foreach (var (c, s) in _copies.Values)
        {
            c.Dispose();
            s.Dispose();
        }
        _copies.Clear();
    }

    public void Dispose() => DisposeTables();
}
