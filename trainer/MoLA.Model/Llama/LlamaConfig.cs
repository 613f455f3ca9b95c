using System.Globalization;
using System.Text;
using System.Text.Json;
using MoLA.Model.ParameterCounting;

namespace MoLA.Model.Llama;

/// <summary>
/// A LLaMA-family configuration is invalid. The message starts with the file (or "LlamaConfig"
/// for a programmatic config) and names the field at fault; <see cref="Field"/> holds the field's
/// JSON path (e.g. <c>num_key_value_heads</c>, <c>rope_scaling.factor</c>).
/// </summary>
public sealed class LlamaConfigException : ArgumentException
{
    private readonly string _message;

    public LlamaConfigException(string file, string field, string detail)
        : base(null, field)
    {
        File = file;
        _message = $"{file}: field '{field}': {detail}";
    }

    /// <summary>The config file path (or "LlamaConfig" for a programmatic config).</summary>
    public string File { get; }

    /// <summary>The JSON field at fault (same as <see cref="ArgumentException.ParamName"/>).</summary>
    public string Field => ParamName ?? string.Empty;

    /// <summary>"file: field 'name': what is wrong" (without ArgumentException's parameter suffix).</summary>
    public override string Message => _message;
}

/// <summary>Which RoPE frequency adjustment a checkpoint uses.</summary>
public enum LlamaRopeType
{
    /// <summary>Plain RoPE: inv_freq_i = theta^(-2i/hd).</summary>
    Default,

    /// <summary>Position interpolation: every inv_freq divided by <see cref="LlamaRopeScaling.Factor"/>.</summary>
    Linear,

    /// <summary>Llama 3.1's piecewise scaling (low frequencies divided by factor, high ones kept, a smooth blend between).</summary>
    Llama3,
}

/// <summary>
/// RoPE scaling as in config.json's <c>rope_scaling</c> (or the newer <c>rope_parameters</c>).
/// The llama3 fields are used only by <see cref="LlamaRopeType.Llama3"/>.
/// </summary>
public sealed record LlamaRopeScaling(
    LlamaRopeType Type,
    double Factor,
    double LowFreqFactor = 1.0,
    double HighFreqFactor = 4.0,
    int OriginalMaxPositionEmbeddings = 8192)
{
    public static LlamaRopeScaling Linear(double factor) => new(LlamaRopeType.Linear, factor);

    public static LlamaRopeScaling Llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) =>
        new(LlamaRopeType.Llama3, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings);

    /// <summary>The name config.json uses for this type.</summary>
    public string TypeName => Type switch
    {
        LlamaRopeType.Linear => "linear",
        LlamaRopeType.Llama3 => "llama3",
        _ => "default",
    };
}

/// <summary>
/// The architecture of a LLaMA-family model, as Hugging Face's config.json describes it.
/// Construct programmatically (tiny test and pretraining models) or with <see cref="Load"/> /
/// <see cref="FromJson"/>; either way every value is validated and errors name the file and field.
/// </summary>
public sealed class LlamaConfig
{
    /// <summary>The value used in error messages for configs that do not come from a file.</summary>
    public const string ProgrammaticSource = "LlamaConfig";

    public LlamaConfig(
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int vocabSize,
        int? numKeyValueHeads = null,
        int? headDim = null,
        double rmsNormEps = 1e-6,
        double ropeTheta = 10000.0,
        LlamaRopeScaling? ropeScaling = null,
        bool tieWordEmbeddings = false,
        int maxPositionEmbeddings = 2048,
        int? slidingWindow = null,
        double initializerRange = 0.02,
        string modelType = "llama",
        string source = ProgrammaticSource)
    {
        Source = source;
        HiddenSize = RequirePositive(hiddenSize, "hidden_size");
        IntermediateSize = RequirePositive(intermediateSize, "intermediate_size");
        NumHiddenLayers = RequirePositive(numHiddenLayers, "num_hidden_layers");
        NumAttentionHeads = RequirePositive(numAttentionHeads, "num_attention_heads");
        VocabSize = RequirePositive(vocabSize, "vocab_size");
        NumKeyValueHeads = RequirePositive(numKeyValueHeads ?? numAttentionHeads, "num_key_value_heads");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw Error("num_key_value_heads", $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads})");
        if (headDim is int hd)
        {
            HeadDim = RequirePositive(hd, "head_dim");
        }
        else
        {
            if (HiddenSize % NumAttentionHeads != 0)
                throw Error("head_dim", $"hidden_size ({HiddenSize}) is not divisible by num_attention_heads ({NumAttentionHeads}); give head_dim explicitly");
            HeadDim = HiddenSize / NumAttentionHeads;
        }
        if (HeadDim % 2 != 0)
            throw Error("head_dim", $"head dimension {HeadDim} must be even for rotary embeddings");
        if (!(rmsNormEps > 0) || double.IsInfinity(rmsNormEps))
            throw Error("rms_norm_eps", $"must be a positive number, got {Format(rmsNormEps)}");
        RmsNormEps = rmsNormEps;
        if (!(ropeTheta > 0) || double.IsInfinity(ropeTheta))
            throw Error("rope_theta", $"must be a positive number, got {Format(ropeTheta)}");
        RopeTheta = ropeTheta;
        MaxPositionEmbeddings = RequirePositive(maxPositionEmbeddings, "max_position_embeddings");
        if (slidingWindow is int w) SlidingWindow = RequirePositive(w, "sliding_window");
        if (!(initializerRange > 0) || double.IsInfinity(initializerRange))
            throw Error("initializer_range", $"must be a positive number, got {Format(initializerRange)}");
        InitializerRange = initializerRange;
        TieWordEmbeddings = tieWordEmbeddings;
        if (modelType is not ("llama" or "mistral"))
            throw Error("model_type", $"'{modelType}' is not supported (expected 'llama' or 'mistral')");
        ModelType = modelType;
        RopeScaling = ropeScaling is null || ropeScaling.Type == LlamaRopeType.Default ? null : ValidateScaling(ropeScaling, source, "rope_scaling");
    }

    /// <summary>Where the config came from (a file path, or <see cref="ProgrammaticSource"/>).</summary>
    public string Source { get; }

    public int HiddenSize { get; }
    public int IntermediateSize { get; }
    public int NumHiddenLayers { get; }
    public int NumAttentionHeads { get; }
    /// <summary>KV heads (GQA); equals <see cref="NumAttentionHeads"/> for multi-head attention.</summary>
    public int NumKeyValueHeads { get; }
    /// <summary>Per-head dimension: config's head_dim or hidden_size / num_attention_heads.</summary>
    public int HeadDim { get; }
    public int VocabSize { get; }
    public double RmsNormEps { get; }
    public double RopeTheta { get; }
    /// <summary>Null for plain RoPE.</summary>
    public LlamaRopeScaling? RopeScaling { get; }
    /// <summary>True when lm_head shares the embedding matrix (no lm_head.weight in the checkpoint).</summary>
    public bool TieWordEmbeddings { get; }
    public int MaxPositionEmbeddings { get; }
    /// <summary>Mistral's sliding attention window; sequences longer than it are refused (not implemented).</summary>
    public int? SlidingWindow { get; }
    /// <summary>Standard deviation of the normal init for fresh (pretraining) models.</summary>
    public double InitializerRange { get; }
    public string ModelType { get; }

    /// <summary>Query heads per KV head.</summary>
    public int KvGroups => NumAttentionHeads / NumKeyValueHeads;

    /// <summary>The dimensions parameter counting and allocation use.</summary>
    public LlamaShape ToShape() => new(HiddenSize, IntermediateSize, NumHiddenLayers, NumAttentionHeads, NumKeyValueHeads, HeadDim);

    // ---- JSON -----------------------------------------------------------------------------------

    /// <summary>Reads config.json; <paramref name="path"/> may be the file or the checkpoint directory.</summary>
    public static LlamaConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = Directory.Exists(path) ? Path.Combine(path, "config.json") : path;
        if (!System.IO.File.Exists(file))
            throw new FileNotFoundException($"{file}: config file not found", file);
        return FromJson(System.IO.File.ReadAllText(file), file);
    }

    /// <summary>Parses Hugging Face config.json text; <paramref name="source"/> names the file in errors.</summary>
    public static LlamaConfig FromJson(string json, string source = "config.json")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new LlamaConfigException(source, "(document)", $"not valid JSON: {e.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new LlamaConfigException(source, "(document)", $"must be a JSON object, found {root.ValueKind}");
            var r = new Reader(root, source, "");

            var modelType = r.String("model_type") ?? "llama";
            var act = r.String("hidden_act");
            if (act is not null && act != "silu")
                throw new LlamaConfigException(source, "hidden_act", $"'{act}' is not supported (LLaMA uses 'silu')");
            if (r.Bool("attention_bias") == true)
                throw new LlamaConfigException(source, "attention_bias", "true is not supported (LLaMA projections have no bias)");
            if (r.Bool("mlp_bias") == true)
                throw new LlamaConfigException(source, "mlp_bias", "true is not supported (LLaMA projections have no bias)");

            double ropeTheta = r.Number("rope_theta") ?? 10000.0;
            LlamaRopeScaling? scaling;
            if (r.Object("rope_parameters") is { } ropeParams)
            {
                // Newer transformers: theta and the scaling type live together.
                var rp = new Reader(ropeParams, source, "rope_parameters.");
                ropeTheta = rp.Number("rope_theta") ?? ropeTheta;
                scaling = ParseScaling(rp, requireType: false);
            }
            else if (r.Object("rope_scaling") is { } ropeScaling)
            {
                scaling = ParseScaling(new Reader(ropeScaling, source, "rope_scaling."), requireType: true);
            }
            else
            {
                scaling = null;
            }

            return new LlamaConfig(
                hiddenSize: r.RequiredInt("hidden_size"),
                intermediateSize: r.RequiredInt("intermediate_size"),
                numHiddenLayers: r.RequiredInt("num_hidden_layers"),
                numAttentionHeads: r.RequiredInt("num_attention_heads"),
                vocabSize: r.RequiredInt("vocab_size"),
                numKeyValueHeads: r.Int("num_key_value_heads"),
                headDim: r.Int("head_dim"),
                rmsNormEps: r.Number("rms_norm_eps") ?? 1e-6,
                ropeTheta: ropeTheta,
                ropeScaling: scaling,
                tieWordEmbeddings: r.Bool("tie_word_embeddings") ?? false,
                maxPositionEmbeddings: r.Int("max_position_embeddings") ?? 2048,
                slidingWindow: r.Int("sliding_window"),
                initializerRange: r.Number("initializer_range") ?? 0.02,
                modelType: modelType,
                source: source);
        }
    }

    private static LlamaRopeScaling? ParseScaling(Reader r, bool requireType)
    {
        // HF accepts "rope_type" and, from older configs, "type".
        var typeField = r.Has("rope_type") ? "rope_type" : "type";
        var type = r.String(typeField);
        if (type is null)
        {
            if (requireType) throw r.Error("rope_type", "missing (expected 'default', 'linear' or 'llama3')");
            return null;
        }
        switch (type)
        {
            case "default":
                return null;
            case "linear":
                return ValidateScaling(new LlamaRopeScaling(LlamaRopeType.Linear, r.RequiredNumber("factor")), r.Source, r.Prefix.TrimEnd('.'));
            case "llama3":
                return ValidateScaling(new LlamaRopeScaling(
                    LlamaRopeType.Llama3,
                    r.RequiredNumber("factor"),
                    r.RequiredNumber("low_freq_factor"),
                    r.RequiredNumber("high_freq_factor"),
                    r.RequiredInt("original_max_position_embeddings")), r.Source, r.Prefix.TrimEnd('.'));
            default:
                throw r.Error(typeField, $"unsupported RoPE type '{type}' (supported: 'default', 'linear', 'llama3')");
        }
    }

    private static LlamaRopeScaling ValidateScaling(LlamaRopeScaling s, string source, string field)
    {
        LlamaConfigException Error(string f, string detail) => new(source, f, detail);
        if (!(s.Factor > 0) || double.IsInfinity(s.Factor))
            throw Error($"{field}.factor", $"must be a positive number, got {Format(s.Factor)}");
        if (s.Type == LlamaRopeType.Llama3)
        {
            if (!(s.LowFreqFactor > 0) || double.IsInfinity(s.LowFreqFactor))
                throw Error($"{field}.low_freq_factor", $"must be a positive number, got {Format(s.LowFreqFactor)}");
            if (!(s.HighFreqFactor > s.LowFreqFactor) || double.IsInfinity(s.HighFreqFactor))
                throw Error($"{field}.high_freq_factor", $"must be greater than low_freq_factor ({Format(s.LowFreqFactor)}), got {Format(s.HighFreqFactor)}");
            if (s.OriginalMaxPositionEmbeddings <= 0)
                throw Error($"{field}.original_max_position_embeddings", $"must be a positive integer, got {s.OriginalMaxPositionEmbeddings}");
        }
        else if (s.Type != LlamaRopeType.Linear)
        {
            throw Error($"{field}.rope_type", $"unsupported RoPE type value {(int)s.Type}");
        }
        return s;
    }

    /// <summary>
    /// Writes Hugging Face config.json text (LlamaForCausalLM); <paramref name="storedDType"/> is
    /// recorded as torch_dtype (e.g. "float32", "bfloat16").
    /// </summary>
    public string ToJson(string storedDType = "float32")
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("architectures");
            w.WriteStringValue(ModelType == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM");
            w.WriteEndArray();
            w.WriteString("model_type", ModelType);
            w.WriteString("hidden_act", "silu");
            w.WriteNumber("hidden_size", HiddenSize);
            w.WriteNumber("intermediate_size", IntermediateSize);
            w.WriteNumber("num_hidden_layers", NumHiddenLayers);
            w.WriteNumber("num_attention_heads", NumAttentionHeads);
            w.WriteNumber("num_key_value_heads", NumKeyValueHeads);
            w.WriteNumber("head_dim", HeadDim);
            w.WriteNumber("rms_norm_eps", RmsNormEps);
            w.WriteNumber("rope_theta", RopeTheta);
            if (RopeScaling is { } s)
            {
                w.WriteStartObject("rope_scaling");
                w.WriteString("rope_type", s.TypeName);
                w.WriteNumber("factor", s.Factor);
                if (s.Type == LlamaRopeType.Llama3)
                {
                    w.WriteNumber("low_freq_factor", s.LowFreqFactor);
                    w.WriteNumber("high_freq_factor", s.HighFreqFactor);
                    w.WriteNumber("original_max_position_embeddings", s.OriginalMaxPositionEmbeddings);
                }
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("rope_scaling");
            }
            w.WriteNumber("vocab_size", VocabSize);
            w.WriteBoolean("tie_word_embeddings", TieWordEmbeddings);
            w.WriteNumber("max_position_embeddings", MaxPositionEmbeddings);
            if (SlidingWindow is int sw) w.WriteNumber("sliding_window", sw);
            w.WriteNumber("initializer_range", InitializerRange);
            w.WriteBoolean("attention_bias", false);
            w.WriteBoolean("mlp_bias", false);
            w.WriteString("torch_dtype", storedDType);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    public override string ToString() =>
        $"LlamaConfig(hidden {HiddenSize}, mlp {IntermediateSize}, layers {NumHiddenLayers}, heads {NumAttentionHeads}/{NumKeyValueHeads} x {HeadDim}, vocab {VocabSize}{(TieWordEmbeddings ? ", tied" : "")})";

    // ---- helpers -------------------------------------------------------------------------------

    private int RequirePositive(int value, string field) =>
        value > 0 ? value : throw Error(field, $"must be a positive integer, got {value}");

    private LlamaConfigException Error(string field, string detail) => new(Source, field, detail);

    private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Typed, optional-aware access to one JSON object's fields, with errors naming the field path.</summary>
    private readonly struct Reader(JsonElement obj, string source, string prefix)
    {
        public string Source => source;
        public string Prefix => prefix;

        public LlamaConfigException Error(string field, string detail) => new(source, prefix + field, detail);

        public bool Has(string field) => obj.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null;

        private JsonElement? Get(string field) =>
            obj.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

        public int? Int(string field)
        {
            if (Get(field) is not { } v) return null;
            if (v.ValueKind != JsonValueKind.Number)
                throw Error(field, $"must be an integer, found {Describe(v)}");
            if (v.TryGetInt32(out var i)) return i;
            if (v.TryGetDouble(out var d) && d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue) return (int)d;
            throw Error(field, $"must be an integer, found {v.GetRawText()}");
        }

        public int RequiredInt(string field) => Int(field) ?? throw Error(field, "missing (required)");

        public double? Number(string field)
        {
            if (Get(field) is not { } v) return null;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d))
                throw Error(field, $"must be a number, found {Describe(v)}");
            return d;
        }

        public double RequiredNumber(string field) => Number(field) ?? throw Error(field, "missing (required)");

        public bool? Bool(string field)
        {
            if (Get(field) is not { } v) return null;
            return v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Error(field, $"must be true or false, found {Describe(v)}"),
            };
        }

        public string? String(string field)
        {
            if (Get(field) is not { } v) return null;
            return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Error(field, $"must be a string, found {Describe(v)}");
        }

        public JsonElement? Object(string field)
        {
            if (Get(field) is not { } v) return null;
            return v.ValueKind == JsonValueKind.Object ? v : throw Error(field, $"must be an object or null, found {Describe(v)}");
        }

        private static string Describe(JsonElement v)
        {
            var raw = v.GetRawText();
            if (raw.Length > 40) raw = raw[..37] + "...";
            return $"{v.ValueKind.ToString().ToLowerInvariant()} {raw}";
        }
    }
}
