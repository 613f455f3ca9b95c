using System.Text.Json;
using MoLA.Model.Llama;
using MoLA.Torch;

namespace MoLA.Model.Tests.Llama;

/// <summary>One tiny checkpoint written by the tests, with the token ids its reference was computed for.</summary>
internal sealed record LlamaTestCase(string Name, string Directory, LlamaConfig Config, long[,] Ids, DType StoredDType, bool Sharded);

/// <summary>
/// Tiny random Hugging Face checkpoints (written once per test run into a temp directory) and their
/// logits from the independent python3-torch reference, computed in one Python run.
/// </summary>
public sealed class LlamaFixture : IDisposable
{
    private readonly Dictionary<string, (LlamaTestCase Case, float[] Logits)> _cases = new(StringComparer.Ordinal);

    public LlamaFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), $"mola-llama-tests-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);

        // GQA (4 query heads over 2 KV heads), head_dim 8, untied head.
        var gqa = new LlamaConfig(hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 3, numAttentionHeads: 4,
            vocabSize: 64, numKeyValueHeads: 2, rmsNormEps: 1e-6, ropeTheta: 10000);
        // Tied embeddings, multi-query attention (1 KV head), head_dim 12 != hidden / heads, another eps and theta.
        var tied = new LlamaConfig(hiddenSize: 32, intermediateSize: 40, numHiddenLayers: 2, numAttentionHeads: 4,
            vocabSize: 64, numKeyValueHeads: 1, headDim: 12, rmsNormEps: 1e-5, ropeTheta: 500, tieWordEmbeddings: true);
        // llama3 RoPE scaling with a short original context so all three frequency bands occur at head_dim 8.
        var llama3 = new LlamaConfig(hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4,
            vocabSize: 64, numKeyValueHeads: 2, ropeTheta: 10000,
            ropeScaling: LlamaRopeScaling.Llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64));

        Add("gqa", gqa, seed: 1, seq: 9, DType.Float32, maxShardBytes: null);
        Add("tied", tied, seed: 2, seq: 8, DType.Float32, maxShardBytes: null);
        Add("sharded", gqa, seed: 3, seq: 7, DType.Float32, maxShardBytes: 60_000);
        Add("bf16", gqa, seed: 4, seq: 9, DType.BFloat16, maxShardBytes: null);
        Add("f16", tied, seed: 5, seq: 6, DType.Float16, maxShardBytes: null);
        Add("llama3", llama3, seed: 6, seq: 24, DType.Float32, maxShardBytes: null);

        var request = new
        {
            cases = _cases.Values.Select(c => new { dir = c.Case.Directory, ids = ToJagged(c.Case.Ids) }).ToList(),
            rope = RopeConfigs.Select(r => JsonSerializer.Deserialize<JsonElement>(r)).ToList(),
        };
        var response = MoLA.TestSupport.PythonTorch.Run(LlamaPythonReference.Script, request);
        var logits = response.GetProperty("logits").EnumerateArray().ToList();
        var names = _cases.Keys.ToList();
        for (var i = 0; i < names.Count; i++)
            _cases[names[i]] = (_cases[names[i]].Case, logits[i].EnumerateArray().Select(e => (float)e.GetDouble()).ToArray());
        ReferenceInvFreq = response.GetProperty("inv_freq").EnumerateArray()
            .Select(a => a.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToList();
    }

    /// <summary>config.json texts whose inv_freq the reference computes (see <see cref="ReferenceInvFreq"/>).</summary>
    public static readonly string[] RopeConfigs =
    [
        // Llama 3.1 8B's rope settings.
        """{"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 1, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 8, "rope_theta": 500000.0, "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"}}""",
        // Llama 3.2 1B's (factor 32), head_dim 64.
        """{"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 1, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 8, "rope_theta": 500000.0, "rope_scaling": {"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"}}""",
        // Linear scaling, older "type" key.
        """{"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 8, "rope_theta": 10000.0, "rope_scaling": {"type": "linear", "factor": 4.0}}""",
        // Plain RoPE.
        """{"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 8}""",
    ];

    public string Root { get; }

    /// <summary>Reference inv_freq per entry of <see cref="RopeConfigs"/> (HF's formula in float64).</summary>
    public IReadOnlyList<double[]> ReferenceInvFreq { get; }

    internal LlamaTestCase Case(string name) => _cases[name].Case;

    /// <summary>Reference logits, flat [B, S, V].</summary>
    internal float[] ReferenceLogits(string name) => _cases[name].Logits;

    public static IEnumerable<object[]> CaseNames() => new[] { "gqa", "tied", "sharded", "bf16", "f16", "llama3" }.Select(n => new object[] { n });

    private void Add(string name, LlamaConfig config, int seed, int seq, DType stored, long? maxShardBytes)
    {
        var dir = Path.Combine(Root, name);
        WriteRandomCheckpoint(dir, config, (ulong)seed, new LlamaSaveOptions { DType = stored, MaxShardBytes = maxShardBytes });
        var ids = RandomIds(seed, batch: 2, seq, config.VocabSize);
        _cases[name] = (new LlamaTestCase(name, dir, config, ids, stored, maxShardBytes is not null), []);
    }

    /// <summary>
    /// Writes a checkpoint with weights large enough to make attention and norms matter: projections and
    /// embedding N(0, 0.3^2), norm weights 1 + N(0, 0.2^2).
    /// </summary>
    internal static void WriteRandomCheckpoint(string dir, LlamaConfig config, ulong seed, LlamaSaveOptions? options = null)
    {
        torch.manual_seed(seed);
        using var model = new LlamaModel(config);
        RandomizeWeights(model);
        LlamaCheckpoint.Save(model, dir, options);
    }

    internal static void RandomizeWeights(LlamaModel model)
    {
        model.InitializeWeights(0.3);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        foreach (var (name, t) in model.BaseParameters())
            if (name.EndsWith("norm.weight", StringComparison.Ordinal))
                t.add_(torch.randn(t.Shape).mul(0.2));
    }

    internal static long[,] RandomIds(int seed, int batch, int seq, int vocab)
    {
        var rng = new Random(seed);
        var ids = new long[batch, seq];
        for (var b = 0; b < batch; b++)
            for (var s = 0; s < seq; s++)
                ids[b, s] = rng.Next(vocab);
        return ids;
    }

    internal static Tensor IdsTensor(long[,] ids)
    {
        int batch = ids.GetLength(0), seq = ids.GetLength(1);
        var flat = new long[batch * seq];
        for (var b = 0; b < batch; b++)
            for (var s = 0; s < seq; s++)
                flat[b * seq + s] = ids[b, s];
        return torch.tensor(flat, batch, seq);
    }

    private static long[][] ToJagged(long[,] ids) =>
        Enumerable.Range(0, ids.GetLength(0)).Select(b => Enumerable.Range(0, ids.GetLength(1)).Select(s => ids[b, s]).ToArray()).ToArray();

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class LlamaCollection : ICollectionFixture<LlamaFixture>
{
    public const string Name = "Llama checkpoints";
}
