using MoLA.Model.Llama;
using MoLA.Torch;

namespace MoLA.Training.Evaluation;

/// <summary>A context (prompt token ids, non-empty) and the continuations to score after it.</summary>
public sealed record ContinuationRequest(IReadOnlyList<int> Context, IReadOnlyList<IReadOnlyList<int>> Continuations);

/// <summary>
/// log p(continuation token j | context, continuation tokens before j) for every token of every
/// continuation, by teacher forcing under no_grad and eval mode.
///
/// How: per request, the longest common token prefix of its continuations (kept short enough that
/// every continuation has a token of its own) is appended to the context. The contexts of a batch of
/// requests are prefilled once, left-padded, into a KV cache; the cache rows are then repeated once per
/// continuation (<see cref="LlamaKvCache.SelectBatch"/>) and the distinct suffixes run together
/// (right-padded, masked). So a prompt is encoded once however many choices it has, and for
/// "The answer is X." candidates only "X." is recomputed per choice. Log-softmax is taken in the
/// logits' dtype (float32 for half precision); results are doubles.
/// </summary>
public sealed class LogLikelihoodScorer
{
    private readonly LlamaModel _model;
    private readonly int _batchSize;

    /// <param name="batchSize">Requests prefilled together.</param>
    public LogLikelihoodScorer(LlamaModel model, int batchSize = 16)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "scoring batch size must be at least 1");
        _batchSize = batchSize;
    }

    /// <summary>
    /// Per request, per continuation, the log-probability of each of its tokens.
    /// <paramref name="progress"/>, if given, receives the number of requests done after each batch.
    /// </summary>
    public IReadOnlyList<double[][]> Score(IReadOnlyList<ContinuationRequest> requests, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(requests);
        for (var i = 0; i < requests.Count; i++) Validate(requests[i], i);
        var results = new double[requests.Count][][];
        // Similar context lengths together: little left padding.
        var order = Enumerable.Range(0, requests.Count).OrderByDescending(i => requests[i].Context.Count).ToArray();
        using var mode = new InferenceMode(_model);
        for (var start = 0; start < order.Length; start += _batchSize)
        {
            var batch = order.AsSpan(start, Math.Min(_batchSize, order.Length - start)).ToArray();
            var scored = ScoreBatch(batch.Select(i => requests[i]).ToArray());
            for (var r = 0; r < batch.Length; r++) results[batch[r]] = scored[r];
            progress?.Report(start + batch.Length);
        }
        return results;
    }

    private void Validate(ContinuationRequest? request, int index)
    {
        if (request is null) throw new ArgumentNullException(nameof(request), $"request {index} is null");
        var what = $"request {index}";
        if (request.Context is null || request.Context.Count == 0)
            throw new ArgumentException($"{what}: the context is empty (nothing predicts the first token; add BOS)");
        if (request.Continuations is null || request.Continuations.Count == 0)
            throw new ArgumentException($"{what}: no continuations to score");
        TokenBatch.CheckIds(request.Context, _model.Config.VocabSize, $"{what} context");
        var maxPos = _model.Config.MaxPositionEmbeddings;
        for (var c = 0; c < request.Continuations.Count; c++)
        {
            var cont = request.Continuations[c];
            if (cont is null || cont.Count == 0) throw new ArgumentException($"{what}: continuation {c} is empty");
            TokenBatch.CheckIds(cont, _model.Config.VocabSize, $"{what} continuation {c}");
            if (request.Context.Count + cont.Count > maxPos)
                throw new ArgumentException(
                    $"{what}: context ({request.Context.Count} tokens) plus continuation {c} ({cont.Count} tokens) exceed the model's max_position_embeddings {maxPos}");
        }
    }

    /// <summary>Tokens shared by all continuations, leaving each at least one token of its own.</summary>
    internal static int SharedPrefix(IReadOnlyList<IReadOnlyList<int>> continuations)
    {
        var limit = continuations.Min(c => c.Count) - 1;
        var n = 0;
        while (n < limit && continuations.All(c => c[n] == continuations[0][n])) n++;
        return n;
    }

    private double[][][] ScoreBatch(ContinuationRequest[] requests)
    {
        var device = _model.Device;
        int b = requests.Length;
        var shared = requests.Select(r => SharedPrefix(r.Continuations)).ToArray();
        var contexts = requests.Select((r, i) => (IReadOnlyList<int>)[.. r.Context, .. r.Continuations[0].Take(shared[i])]).ToArray();
        var (ids, pads, width) = TokenBatch.LeftPad(contexts);
        var results = requests.Select(r => r.Continuations.Select(c => new double[c.Count]).ToArray()).ToArray();

        // Continuation rows after the shared prefix: (request, continuation, suffix tokens).
        var rows = new List<(int Request, int Cont, int[] Suffix)>();
        for (var i = 0; i < b; i++)
            for (var c = 0; c < requests[i].Continuations.Count; c++)
                rows.Add((i, c, requests[i].Continuations[c].Skip(shared[i]).ToArray()));

        using var scope = torch.NewDisposeScope();
        using var cache = _model.NewKvCache();
        var hidden = _model.Model.forward(TokenBatch.Ids(ids, b, width, device), TokenBatch.Mask(pads, width, device), cache, 0);

        // Window of the last k columns: column width-k+j predicts the token in column width-k+j+1.
        // Shared-prefix tokens of request i fill the last shared[i] columns; the last column predicts each suffix's first token.
        int k = shared.Max() + 1;
        var windowLogProbs = TokenBatch.LogProbs(_model.Logits(hidden.narrow(1, width - k, k))); // [b, k, V]
        if (k > 1)
        {
            var targets = new long[b * (k - 1)];
            for (var i = 0; i < b; i++)
                for (var t = 0; t < shared[i]; t++)
                    targets[i * (k - 1) + (k - 1 - shared[i]) + t] = requests[i].Continuations[0][t];
            var picked = Gather(windowLogProbs.narrow(1, 0, k - 1), targets, b, k - 1);
            for (var i = 0; i < b; i++)
                for (var t = 0; t < shared[i]; t++)
                {
                    var v = picked[i * (k - 1) + (k - 1 - shared[i]) + t];
                    foreach (var r in results[i]) r[t] = v; // the shared prefix scores the same for every continuation
                }
        }

        // First suffix token of every row, from the last column of its request.
        var last = windowLogProbs.select(1, k - 1); // [b, V]
        var rowRequests = rows.Select(r => (long)r.Request).ToArray();
        var perRow = last.index_select(0, TokenBatch.Ids(rowRequests, 1, rows.Count, device).reshape(-1)); // [R, V]
        var first = Gather(perRow.unsqueeze(1), rows.Select(r => (long)r.Suffix[0]).ToArray(), rows.Count, 1);
        for (var r = 0; r < rows.Count; r++) results[rows[r].Request][rows[r].Cont][shared[rows[r].Request]] = first[r];

        // The rest of each suffix: feed suffix tokens 0..S-2 on top of the repeated cache.
        int s = rows.Max(r => r.Suffix.Length);
        if (s > 1)
        {
            cache.SelectBatch(rowRequests);
            int feed = s - 1, total = width + feed;
            var input = new long[rows.Count * feed];
            var targets = new long[rows.Count * feed];
            var rowPads = new int[rows.Count];
            var ends = new int[rows.Count];
            for (var r = 0; r < rows.Count; r++)
            {
                var suffix = rows[r].Suffix;
                for (var t = 0; t < suffix.Length - 1; t++)
                {
                    input[r * feed + t] = suffix[t];
                    targets[r * feed + t] = suffix[t + 1];
                }
                rowPads[r] = pads[rows[r].Request];
                ends[r] = width + suffix.Length - 1;
            }
            var mask = TokenBatch.Mask(rowPads, total, device, ends);
            var logits = _model.forward(TokenBatch.Ids(input, rows.Count, feed, device), cache, width, mask);
            var picked = Gather(TokenBatch.LogProbs(logits), targets, rows.Count, feed);
            for (var r = 0; r < rows.Count; r++)
            {
                var (req, cont, suffix) = rows[r];
                for (var t = 1; t < suffix.Length; t++)
                    results[req][cont][shared[req] + t] = picked[r * feed + t - 1];
            }
        }
        return results;
    }

    /// <summary>logProbs [rows, cols, V] at the given target ids [rows, cols], as doubles.</summary>
    private static double[] Gather(Tensor logProbs, long[] targets, int rows, int cols)
    {
        var index = TokenBatch.Ids(targets, rows, cols, logProbs.Device).unsqueeze(2);
        var values = logProbs.gather(2, index).reshape(-1).to(DType.Float64, Device.CPU);
        return values.ToArray<double>();
    }
}
