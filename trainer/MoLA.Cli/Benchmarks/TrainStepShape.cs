using MoLA.Model.Allocation;
using MoLA.Model.Llama;

namespace MoLA.Cli.Benchmarks;

/// <summary>
/// One model and batch of <c>mola bench train-step</c>: LLaMA shape, MoE-LoRA allocation (a MoLA
/// shape string such as "2468" over <see cref="Layers"/>, same top-k and rank everywhere, all seven
/// projections wrapped) and the batch. Change the benchmark's models here, in one place.
/// </summary>
internal sealed record TrainStepShape(
    string Name,
    int Hidden,
    int Layers,
    int Heads,
    int KvHeads,
    int Ffn,
    int Vocab,
    string Allocation,
    int Rank,
    int TopK,
    int Batch,
    int Sequence)
{
    public const double Alpha = 16;
    public const double Dropout = 0.05;

    /// <summary>hidden 128, 8 layers, 4 heads / 2 KV heads, FFN 344, byte-level vocabulary; batch 16 x 128.</summary>
    public static readonly TrainStepShape Tiny = new("tiny", 128, 8, 4, 2, 344, 259, "2468", 8, 2, 16, 128);

    /// <summary>hidden 512, 8 layers, 8 heads (MHA), FFN 1376, byte-level vocabulary; batch 8 x 256.</summary>
    public static readonly TrainStepShape Small = new("small", 512, 8, 8, 8, 1376, 259, "2468", 8, 2, 8, 256);

    /// <summary>What --quick runs: the tiny model on a 2 x 32 batch (seconds; for tests).</summary>
    public static readonly TrainStepShape Quick = Tiny with { Name = "tiny-quick", Batch = 2, Sequence = 32 };

    public int HeadDim => Hidden / Heads;
    public long TokensPerStep => (long)Batch * Sequence;

    public LlamaConfig ToConfig() => new(Hidden, Ffn, Layers, Heads, Vocab, numKeyValueHeads: KvHeads, maxPositionEmbeddings: Sequence);

    public ExpertAllocation ToAllocation() => ExpertAllocation.FromShape(Allocation, Layers, TopK, Rank);

    /// <summary>Throws <see cref="ArgumentException"/> naming the field when the shape cannot be built.</summary>
    public void Validate()
    {
        void Positive(int v, string field)
        {
            if (v < 1) throw new ArgumentException($"train-step model '{Name}': {field} must be positive, got {v}", field);
        }
        Positive(Hidden, nameof(Hidden));
        Positive(Layers, nameof(Layers));
        Positive(Heads, nameof(Heads));
        Positive(KvHeads, nameof(KvHeads));
        Positive(Ffn, nameof(Ffn));
        Positive(Vocab, nameof(Vocab));
        Positive(Rank, nameof(Rank));
        Positive(TopK, nameof(TopK));
        Positive(Batch, nameof(Batch));
        if (Sequence < 2) throw new ArgumentException($"train-step model '{Name}': Sequence must be at least 2 (the loss is on shifted labels), got {Sequence}", nameof(Sequence));
        if (Hidden % Heads != 0 || Heads % KvHeads != 0 || HeadDim % 2 != 0)
            throw new ArgumentException($"train-step model '{Name}': Hidden {Hidden} / Heads {Heads} / KvHeads {KvHeads} must give an even head dimension and whole KV groups", nameof(Heads));
        ToAllocation(); // throws AllocationException naming the shape
    }

    /// <summary>The request body that builds the same model and batch in bench/python/train_step_ref.py.</summary>
    public System.Text.Json.Nodes.JsonObject ToPythonConfig(ulong seed, int totalSteps)
    {
        var allocation = ToAllocation();
        var experts = new System.Text.Json.Nodes.JsonArray();
        for (var l = 0; l < Layers; l++) experts.Add(allocation.ExpertsAt(l));
        return new()
        {
            ["hidden"] = Hidden, ["heads"] = Heads, ["kv_heads"] = KvHeads, ["ffn"] = Ffn, ["vocab"] = Vocab,
            ["experts"] = experts, ["top_k"] = TopK, ["rank"] = Rank, ["alpha"] = Alpha, ["dropout"] = Dropout,
            ["batch"] = Batch, ["seq"] = Sequence, ["rms_eps"] = 1e-6, ["rope_theta"] = 10000.0,
            ["lr"] = 3e-4, ["warmup"] = 0, ["total_steps"] = totalSteps, ["seed"] = seed,
        };
    }
}
