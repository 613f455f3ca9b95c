using MoLA.Model.Llama;
using MoLA.Torch;

namespace MoLA.Training.Evaluation;

/// <summary>Why a sequence stopped growing.</summary>
public enum FinishReason
{
    /// <summary>The model produced a stop token (EOS); it is not part of <see cref="GenerationResult.Tokens"/>.</summary>
    Stop,
    /// <summary><see cref="GenerationOptions.MaxNewTokens"/> tokens were generated.</summary>
    MaxNewTokens,
    /// <summary>Prompt plus generated tokens reached the model's max_position_embeddings.</summary>
    MaxPositions,
}

/// <summary>Options of <see cref="GreedyGenerator"/>.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens generated per prompt (the stop token not counted).</summary>
    public int MaxNewTokens { get; init; } = 128;

    /// <summary>Prompts decoded together (left-padded, see <see cref="GreedyGenerator"/>).</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Token ids that end a sequence. Null: the tokenizer's EOS where the caller has one (<see cref="Evaluator"/>), none for <see cref="GreedyGenerator"/>.</summary>
    public IReadOnlyList<int>? StopTokenIds { get; init; }

    internal void Validate()
    {
        if (MaxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "max_new_tokens must be at least 1");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "generation batch size must be at least 1");
    }
}

/// <summary>New tokens for one prompt (prompt and stop token excluded) and why generation ended.</summary>
public sealed record GenerationResult(IReadOnlyList<int> Tokens, FinishReason Finish);

/// <summary>
/// Greedy decoding with the KV cache, under no_grad and eval mode (the model's mode is restored).
///
/// Batching: prompts are sorted by length (longest first) and cut into batches of
/// <see cref="GenerationOptions.BatchSize"/>, so a batch needs little padding. Each batch is LEFT-padded
/// (every prompt ends in the same column, so one new column per step serves all rows) with an attention
/// mask that hides the pads. A padded row's tokens sit at positions shifted by its pad count; RoPE makes
/// attention depend on relative positions only, so this changes results by rounding only (the RoPE
/// tables are float32, so about 1e-8 on log-probabilities even for a float64 model; the tests check
/// the tokens against a plain no-cache loop). Finished rows are dropped from the batch
/// and the cache (<see cref="LlamaKvCache.SelectBatch"/>). Ties in the argmax go to the lowest token id.
/// </summary>
public sealed class GreedyGenerator
{
    private readonly LlamaModel _model;
    private readonly GenerationOptions _options;
    private readonly HashSet<int> _stop;

    public GreedyGenerator(LlamaModel model, GenerationOptions? options = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _options = options ?? new GenerationOptions();
        _options.Validate();
        _stop = [.. _options.StopTokenIds ?? []];
        foreach (var s in _stop)
            if ((uint)s >= (uint)model.Config.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(options), s, $"stop token id {s} is outside the vocabulary [0, {model.Config.VocabSize})");
    }

    public GenerationOptions Options => _options;

    /// <summary>
    /// Generates for every prompt (token ids, BOS included if wanted); results in input order.
    /// <paramref name="progress"/>, if given, receives the number of prompts done after each batch.
    /// </summary>
    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var maxPos = _model.Config.MaxPositionEmbeddings;
        for (var i = 0; i < prompts.Count; i++)
        {
            var p = prompts[i] ?? throw new ArgumentNullException(nameof(prompts), $"prompt {i} is null");
            if (p.Count == 0) throw new ArgumentException($"prompt {i} is empty (nothing to condition on; add BOS)", nameof(prompts));
            if (p.Count >= maxPos)
                throw new ArgumentException($"prompt {i} has {p.Count} tokens but the model's max_position_embeddings is {maxPos}; at least one new token must fit", nameof(prompts));
            TokenBatch.CheckIds(p, _model.Config.VocabSize, $"prompt {i}");
        }

        var results = new GenerationResult[prompts.Count];
        var order = Enumerable.Range(0, prompts.Count).OrderByDescending(i => prompts[i].Count).ToArray();
        using var mode = new InferenceMode(_model);
        for (var start = 0; start < order.Length; start += _options.BatchSize)
        {
            var batch = order.AsSpan(start, Math.Min(_options.BatchSize, order.Length - start)).ToArray();
            var outputs = GenerateBatch(batch.Select(i => prompts[i]).ToArray());
            for (var r = 0; r < batch.Length; r++) results[batch[r]] = outputs[r];
            progress?.Report(start + batch.Length);
        }
        return results;
    }

    private GenerationResult[] GenerateBatch(IReadOnlyList<int>[] prompts)
    {
        var device = _model.Device;
        var maxPos = _model.Config.MaxPositionEmbeddings;
        var (ids, pads, width) = TokenBatch.LeftPad(prompts);
        var tokens = prompts.Select(_ => new List<int>()).ToArray();
        var finish = new FinishReason[prompts.Length];
        var active = Enumerable.Range(0, prompts.Length).ToList(); // batch row -> prompt
        using var cache = _model.NewKvCache();

        long[] next;
        using (torch.NewDisposeScope())
        {
            var mask = TokenBatch.Mask(pads, width, device);
            var hidden = _model.Model.forward(TokenBatch.Ids(ids, prompts.Length, width, device), mask, cache, 0);
            next = _model.Logits(hidden.narrow(1, width - 1, 1)).argmax(-1).reshape(-1).to(Device.CPU).ToArray<long>();
        }

        for (var pos = width; ; pos++)
        {
            var keep = new List<int>(active.Count); // rows of the current batch that go on
            for (var r = 0; r < active.Count; r++)
            {
                var p = active[r];
                var token = (int)next[r];
                if (_stop.Contains(token)) { finish[p] = FinishReason.Stop; continue; }
                tokens[p].Add(token);
                if (tokens[p].Count >= _options.MaxNewTokens) finish[p] = FinishReason.MaxNewTokens;
                else if (prompts[p].Count + tokens[p].Count >= maxPos) finish[p] = FinishReason.MaxPositions;
                else keep.Add(r);
            }
            if (keep.Count == 0) break;

            if (keep.Count < active.Count)
            {
                cache.SelectBatch(keep.Select(r => (long)r).ToArray());
                active = keep.Select(r => active[r]).ToList();
            }
            var step = new long[active.Count];
            var rowPads = new int[active.Count];
            for (var r = 0; r < active.Count; r++)
            {
                step[r] = tokens[active[r]][^1];
                rowPads[r] = pads[active[r]];
            }
            using (torch.NewDisposeScope())
            {
                var mask = TokenBatch.Mask(rowPads, pos + 1, device);
                var logits = _model.forward(TokenBatch.Ids(step, active.Count, 1, device), cache, pos, mask);
                next = logits.argmax(-1).reshape(-1).to(Device.CPU).ToArray<long>();
            }
        }
        return tokens.Select((t, i) => new GenerationResult(t, finish[i])).ToArray();
    }
}
