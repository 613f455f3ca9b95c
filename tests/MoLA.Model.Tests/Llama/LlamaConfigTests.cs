using MoLA.Model.Llama;

namespace MoLA.Model.Tests.Llama;

public sealed class LlamaConfigTests
{
    // Llama 3.1 8B's config.json as published (trimmed of generation fields).
    private const string Llama31 = """
    {
      "architectures": ["LlamaForCausalLM"],
      "attention_bias": false,
      "attention_dropout": 0.0,
      "bos_token_id": 128000,
      "eos_token_id": 128001,
      "hidden_act": "silu",
      "hidden_size": 4096,
      "initializer_range": 0.02,
      "intermediate_size": 14336,
      "max_position_embeddings": 131072,
      "mlp_bias": false,
      "model_type": "llama",
      "num_attention_heads": 32,
      "num_hidden_layers": 32,
      "num_key_value_heads": 8,
      "pretraining_tp": 1,
      "rms_norm_eps": 1e-05,
      "rope_scaling": {
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3"
      },
      "rope_theta": 500000.0,
      "tie_word_embeddings": false,
      "torch_dtype": "bfloat16",
      "transformers_version": "4.43.0.dev0",
      "use_cache": true,
      "vocab_size": 128256
    }
    """;

    private const string Minimal = """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100}""";

    [Fact]
    public void Parses_a_published_llama_3_1_config()
    {
        var c = LlamaConfig.FromJson(Llama31, "llama31/config.json");

        Assert.Equal((4096, 14336, 32, 32, 8, 128, 128256), (c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.VocabSize));
        Assert.Equal(1e-5, c.RmsNormEps);
        Assert.Equal(500000.0, c.RopeTheta);
        Assert.Equal(131072, c.MaxPositionEmbeddings);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal(LlamaRopeScaling.Llama3(8, 1, 4, 8192), c.RopeScaling);
        Assert.Equal(4, c.KvGroups);
        Assert.Equal("llama31/config.json", c.Source);
    }

    [Fact]
    public void Missing_optional_fields_take_hugging_face_defaults()
    {
        var c = LlamaConfig.FromJson(Minimal);

        Assert.Equal(4, c.NumKeyValueHeads);     // = heads
        Assert.Equal(16, c.HeadDim);             // = hidden / heads
        Assert.Equal(10000.0, c.RopeTheta);
        Assert.Equal(1e-6, c.RmsNormEps);
        Assert.Null(c.RopeScaling);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal(2048, c.MaxPositionEmbeddings);
        Assert.Null(c.SlidingWindow);
    }

    [Fact]
    public void Nulls_count_as_absent()
    {
        var c = LlamaConfig.FromJson("""{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "num_key_value_heads": null, "head_dim": null, "rope_scaling": null, "sliding_window": null}""");
        Assert.Equal((4, 16), (c.NumKeyValueHeads, c.HeadDim));
        Assert.Null(c.RopeScaling);
    }

    [Fact]
    public void Reads_the_newer_rope_parameters_block()
    {
        var c = LlamaConfig.FromJson(Minimal[..^1] + """, "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}""");
        Assert.Equal(500000.0, c.RopeTheta);
        Assert.Equal(LlamaRopeScaling.Llama3(32, 1, 4, 8192), c.RopeScaling);

        var plain = LlamaConfig.FromJson(Minimal[..^1] + """, "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}}""");
        Assert.Equal(1000000.0, plain.RopeTheta);
        Assert.Null(plain.RopeScaling);
    }

    [Fact]
    public void Reads_linear_scaling_with_the_old_type_key()
    {
        var c = LlamaConfig.FromJson(Minimal[..^1] + """, "rope_scaling": {"type": "linear", "factor": 2.0}}""");
        Assert.Equal(LlamaRopeScaling.Linear(2), c.RopeScaling);
    }

    [Fact]
    public void To_json_round_trips()
    {
        var c = LlamaConfig.FromJson(Llama31);
        var again = LlamaConfig.FromJson(c.ToJson("bfloat16"));
        Assert.Equal(c.ToString(), again.ToString());
        Assert.Equal((c.RopeTheta, c.RmsNormEps, c.RopeScaling, c.MaxPositionEmbeddings, c.HeadDim), (again.RopeTheta, again.RmsNormEps, again.RopeScaling, again.MaxPositionEmbeddings, again.HeadDim));
        Assert.Contains("\"torch_dtype\": \"bfloat16\"", c.ToJson("bfloat16"));
    }

    [Theory]
    [InlineData("hidden_size", """{"intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100}""", "missing (required)")]
    [InlineData("vocab_size", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}""", "missing (required)")]
    [InlineData("num_hidden_layers", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": -2, "num_attention_heads": 4, "vocab_size": 100}""", "must be a positive integer, got -2")]
    [InlineData("intermediate_size", """{"hidden_size": 64, "intermediate_size": 0, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100}""", "must be a positive integer, got 0")]
    [InlineData("hidden_size", """{"hidden_size": "big", "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100}""", "must be an integer, found string \"big\"")]
    [InlineData("hidden_size", """{"hidden_size": 64.5, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100}""", "must be an integer, found 64.5")]
    [InlineData("num_key_value_heads", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 3, "vocab_size": 100}""", "num_attention_heads (4) must be a multiple of num_key_value_heads (3)")]
    [InlineData("num_key_value_heads", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": -1, "vocab_size": 100}""", "must be a positive integer, got -1")]
    [InlineData("head_dim", """{"hidden_size": 66, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100}""", "hidden_size (66) is not divisible by num_attention_heads (4)")]
    [InlineData("head_dim", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "head_dim": 7, "vocab_size": 100}""", "must be even")]
    [InlineData("rms_norm_eps", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "rms_norm_eps": -1e-6}""", "must be a positive number")]
    [InlineData("rope_theta", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "rope_theta": 0}""", "must be a positive number")]
    [InlineData("tie_word_embeddings", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "tie_word_embeddings": "yes"}""", "must be true or false")]
    [InlineData("rope_scaling.rope_type", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}}""", "unsupported RoPE type 'yarn' (supported: 'default', 'linear', 'llama3')")]
    [InlineData("rope_scaling.type", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "rope_scaling": {"type": "dynamic", "factor": 4.0}}""", "unsupported RoPE type 'dynamic'")]
    [InlineData("rope_parameters.rope_type", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "rope_parameters": {"rope_type": "longrope", "rope_theta": 10000.0}}""", "unsupported RoPE type 'longrope'")]
    [InlineData("rope_scaling.rope_type", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "rope_scaling": {"factor": 4.0}}""", "missing")]
    [InlineData("rope_scaling.low_freq_factor", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}""", "missing (required)")]
    [InlineData("rope_scaling.high_freq_factor", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}""", "must be greater than low_freq_factor")]
    [InlineData("rope_parameters.factor", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "rope_parameters": {"rope_type": "linear", "factor": -2}}""", "must be a positive number")]
    [InlineData("rope_scaling", """{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "rope_scaling": 8}""", "must be an object or null")]
    [InlineData("model_type", """{"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100}""", "'qwen2' is not supported")]
    [InlineData("hidden_act", """{"hidden_act": "gelu", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100}""", "'gelu' is not supported")]
    [InlineData("attention_bias", """{"attention_bias": true, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100}""", "true is not supported")]
    [InlineData("(document)", """{"hidden_size": 64,""", "not valid JSON")]
    [InlineData("(document)", """[1, 2]""", "must be a JSON object")]
    public void Validation_errors_name_the_file_and_field(string field, string json, string detail)
    {
        var e = Assert.Throws<LlamaConfigException>(() => LlamaConfig.FromJson(json, "/ckpt/config.json"));

        Assert.Equal(field, e.Field);
        Assert.Equal("/ckpt/config.json", e.File);
        Assert.StartsWith($"/ckpt/config.json: field '{field}': ", e.Message);
        Assert.Contains(detail, e.Message);
        Assert.DoesNotContain("(Parameter", e.Message);
    }

    [Fact]
    public void Programmatic_configs_are_validated_too()
    {
        var e = Assert.Throws<LlamaConfigException>(() => new LlamaConfig(32, 48, 2, 4, 64, numKeyValueHeads: 3));
        Assert.Equal("LlamaConfig: field 'num_key_value_heads': num_attention_heads (4) must be a multiple of num_key_value_heads (3)", e.Message);

        var scaling = Assert.Throws<LlamaConfigException>(() => new LlamaConfig(32, 48, 2, 4, 64, ropeScaling: LlamaRopeScaling.Llama3(8, 2, 1, 8192)));
        Assert.Equal("rope_scaling.high_freq_factor", scaling.Field);

        var tiny = new LlamaConfig(hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4, vocabSize: 64, numKeyValueHeads: 2);
        Assert.Equal((8, 2), (tiny.HeadDim, tiny.KvGroups));
    }

    [Fact]
    public void Load_reads_a_directory_or_a_file_and_reports_a_missing_one()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mola-llama-config-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var missing = Assert.Throws<FileNotFoundException>(() => LlamaConfig.Load(dir));
            Assert.Contains(Path.Combine(dir, "config.json"), missing.Message);

            File.WriteAllText(Path.Combine(dir, "config.json"), Minimal.Replace("\"vocab_size\": 100", "\"vocab_size\": -5"));
            var bad = Assert.Throws<LlamaConfigException>(() => LlamaConfig.Load(dir));
            Assert.Equal(Path.Combine(dir, "config.json"), bad.File);
            Assert.Equal("vocab_size", bad.Field);

            File.WriteAllText(Path.Combine(dir, "config.json"), Minimal);
            Assert.Equal(64, LlamaConfig.Load(Path.Combine(dir, "config.json")).HiddenSize);
            Assert.Equal(64, LlamaConfig.Load(dir).HiddenSize);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
