using MoLA.Torch;
using MoLA.Torch.NN;

namespace MoLA.Model.MoeLora;

/// <summary>The routing decision of one forward: logits, chosen experts and their renormalised weights.</summary>
/// <param name="Logits">Router logits Wr x, [T, N], in the input's dtype.</param>
/// <param name="Indices">Chosen experts per token, [T, k] int64 (global expert ids), largest probability first.</param>
/// <param name="Weights">S: the chosen experts' probabilities renormalised to sum to 1 per token, [T, k], in the input's dtype.</param>
public readonly record struct MoeRouting(Tensor Logits, Tensor Indices, Tensor Weights);

/// <summary>
/// The MoE-LoRA router and the three equivalent expert computations, as pure functions of their
/// tensors (the layer calls them with its parameters; tests and an expert-parallel dispatcher can
/// call them directly).
/// <para>
/// Expert parameters are stacked: <c>aAll</c> [n*r, in] holds A_e in rows [e*r, (e+1)*r) and
/// <c>bAll</c> [out, n*r] holds B_e in columns [e*r, (e+1)*r), for the n local experts. Expert ids in
/// <c>indices</c> are local (0 .. n-1). Every kernel returns
/// <c>accumulate + sum_j weights[t, j] * scaling * B_e A_e dropout(x[t])</c> with e = indices[t, j],
/// adding into <c>accumulate</c> (typically the base output) without modifying it.
/// </para>
/// </summary>
public static class MoeExpertKernels
{
    /// <summary>
    /// p = softmax(x Wr^T) over all N experts, top-k, weights renormalised to sum to 1, computed in
    /// float32 (float64 for float64 input) and cast back to x's dtype. Computed as the softmax of the
    /// k largest logits, which equals p_i / sum_{j in TopK} p_j exactly in real arithmetic (the full
    /// normaliser cancels) and saves the [T, N] softmax and its backward. The gradient reaches Wr only
    /// through the weights (indices carry none; logits outside the top-k get exactly zero).
    /// </summary>
    public static MoeRouting Route(Tensor x, Tensor routerWeight, int topK)
    {
        var n = routerWeight.size(0);
        var k = Math.Min(topK, n);
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(topK), topK, "top-k must be at least 1");
        var logits = F.linear(x, routerWeight);
        // float32 as MoLA, or float64 when the input is (so float64 gradient checks stay exact).
        var routingType = x.DType == DType.Float64 ? DType.Float64 : DType.Float32;
        var (top, indices) = logits.topk(k, -1, largest: true, sorted: true);
        using (top)
        {
            var weights = F.softmax(top, -1, routingType);
            if (x.DType != routingType)
            {
                var cast = weights.to(x.DType);
                weights.Dispose();
                weights = cast;
            }
            return new MoeRouting(logits, indices, weights);
        }
    }

    /// <summary>Runs the requested form (<see cref="MoeExecution.Auto"/> must be resolved first).</summary>
    public static Tensor Run(MoeExecution execution, Tensor x, Tensor indices, Tensor weights, Tensor aAll, Tensor bAll,
        int rank, double scaling, double dropout, bool training, Tensor accumulate) => execution switch
        {
            MoeExecution.Loop => Loop(x, indices, weights, aAll, bAll, rank, scaling, dropout, training, accumulate),
            MoeExecution.DenseGated => DenseGated(x, indices, weights, aAll, bAll, rank, scaling, dropout, training, accumulate),
            MoeExecution.Grouped => Grouped(x, indices, weights, aAll, bAll, rank, scaling, dropout, training, accumulate),
            _ => throw new ArgumentOutOfRangeException(nameof(execution), execution, "resolve Auto to a concrete execution form first"),
        };

    /// <summary>
    /// Reference oracle: for each expert, the tokens that chose it (index_select), its own dropout
    /// mask, B_e A_e x * S * scaling, index_add into the result. One host synchronisation per expert.
    /// </summary>
    public static Tensor Loop(Tensor x, Tensor indices, Tensor weights, Tensor aAll, Tensor bAll,
        int rank, double scaling, double dropout, bool training, Tensor accumulate)
    {
        var n = ExpertCount(aAll, rank);
        using var scope = torch.NewDisposeScope();
        var aParts = aAll.split(rank, 0);
        var bParts = bAll.split(rank, 1);
        var result = accumulate;
        for (var e = 0; e < n; e++)
        {
            var hits = indices.eq(e).nonzero();
            var count = hits.size(0);
            if (count == 0) continue;
            var token = hits.select(1, 0).contiguous();
            var slot = hits.select(1, 1).unsqueeze(1);
            var xe = x.index_select(0, token);
            if (training && dropout > 0) xe = F.dropout(xe, dropout, true);
            var we = weights.index_select(0, token).gather(1, slot);
            var h = F.linear(F.linear(xe, aParts[e]), bParts[e]).mul(we).mul(scaling);
            result = result.index_add(0, token, h);
        }
        return ReferenceOrOwned(result, accumulate);
    }

    /// <summary>
    /// Two GEMMs whatever n is: u = dropout(x) A_all^T [T, n*r]; each r-wide block of u times the
    /// token's gate weight for that expert (zero outside its top-k) times scaling; then
    /// accumulate + (gated u) B_all^T as one addmm. The gate matrix is built by a scatter of the k
    /// weights, not a one-hot product.
    /// </summary>
    public static Tensor DenseGated(Tensor x, Tensor indices, Tensor weights, Tensor aAll, Tensor bAll,
        int rank, double scaling, double dropout, bool training, Tensor accumulate)
    {
        var n = ExpertCount(aAll, rank);
        var tokens = x.size(0);
        using var scope = torch.NewDisposeScope();
        var xd = training && dropout > 0 ? F.dropout(x, dropout, true) : x;
        var u = F.linear(xd, aAll);
        Tensor gated;
        if (n == 1 && indices.size(1) == 1)
        {
            // A single expert and k = 1: every token's one weight is for expert 0.
            gated = u.mul(weights.mul(scaling));
        }
        else
        {
            var scaled = weights.mul(scaling);
            var gates = torch.zeros([tokens, n], weights.DType, weights.Device).scatter_add(1, indices, scaled);
            gated = u.view(tokens, n, rank).mul(gates.unsqueeze(2)).view(tokens, (long)n * rank);
        }
        return F.linear(gated, bAll, accumulate).MoveToOuterScope();
    }

    /// <summary>
    /// Sparse form: the T*k token-expert assignments sorted by expert (stable); each expert's segment
    /// padded to a whole number of S-row chunks (S = 32 when experts average at least 256
    /// assignments, else 16); the chunks' rows gathered once and their GEMMs batched (bmm against the
    /// chunk's expert's A, then B); one index_add of all rows into the result. Padding rows carry
    /// weight 0, so they add exact zeros. One host synchronisation (the segment sizes).
    /// <para>
    /// Why chunks rather than one GEMM per segment: autograd turns each slice of the gathered rows
    /// into a full-size zero gradient (O(N * T*k * in) in backward), while the chunked form costs
    /// O(T*k + N*S) rows whatever the routing balance and a fixed number of ops for any N.
    /// </para>
    /// </summary>
    public static Tensor Grouped(Tensor x, Tensor indices, Tensor weights, Tensor aAll, Tensor bAll,
        int rank, double scaling, double dropout, bool training, Tensor accumulate)
    {
        var n = ExpertCount(aAll, rank);
        var tokens = x.size(0);
        var k = indices.size(1);
        var inFeatures = x.size(1);
        var outFeatures = bAll.size(0);
        if (tokens == 0) return accumulate.alias();
        using var scope = torch.NewDisposeScope();
        var flat = indices.reshape(-1);
        var (_, order) = flat.sort();
        var counts = HostCounts(flat, n);
        long chunk = tokens * k >= 256L * n ? 32 : 16;
        long chunks = 0;
        foreach (var c in counts) chunks += (c + chunk - 1) / chunk;
        // Padded row of each sorted assignment, and the expert of each chunk (host-side layout).
        var position = new long[tokens * k];
        var chunkExpert = new long[chunks];
        long offset = 0, at = 0;
        for (var e = 0; e < n; e++)
        {
            var c = counts[e];
            for (long j = 0; j < c; j++) position[offset + j] = at * chunk + j;
            var m = (c + chunk - 1) / chunk;
            for (long q = 0; q < m; q++) chunkExpert[at + q] = e;
            offset += c;
            at += m;
        }
        var device = x.Device;
        var positionT = OnDevice(torch.tensor(position), device);
        var chunkExpertT = OnDevice(torch.tensor(chunkExpert), device);
        var sortedToken = k == 1 ? order : torch.arange(0, tokens, 1, DType.Int64, device).repeat_interleave(k, 0).index_select(0, order);
        var paddedToken = torch.zeros([chunks * chunk], DType.Int64, device).scatter_add(0, positionT, sortedToken);
        var sortedWeight = weights.reshape(-1).index_select(0, order).mul(scaling);
        var paddedWeight = torch.zeros([chunks * chunk], weights.DType, device).scatter_add(0, positionT, sortedWeight);
        var xd = training && dropout > 0 ? F.dropout(x, dropout, true) : x;
        var rows = xd.index_select(0, paddedToken).view(chunks, chunk, inFeatures);
        var a = aAll.view(n, rank, inFeatures).index_select(0, chunkExpertT);
        var h = rows.bmm(a.transpose(1, 2)).mul(paddedWeight.view(chunks, chunk, 1));
        var b = bAll.t().view(n, rank, outFeatures).index_select(0, chunkExpertT);
        var y = h.bmm(b).view(chunks * chunk, outFeatures);
        return accumulate.index_add(0, paddedToken, y).MoveToOuterScope();
    }

    private static long[] HostCounts(Tensor flatIndices, int n)
    {
        using var counts = flatIndices.bincount(null, n);
        using var host = counts.Device.IsCuda ? counts.cpu() : counts.alias();
        var result = host.ToArray<long>();
        if (result.Length != n)
            throw new ArgumentException($"expert indices must lie in [0, {n}); found expert {result.Length - 1}", nameof(flatIndices));
        return result;
    }

    private static Tensor OnDevice(Tensor t, Device device) => device.IsCuda ? t.to(device) : t;

    private static int ExpertCount(Tensor aAll, int rank)
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "LoRA rank must be at least 1");
        var rows = aAll.size(0);
        if (rows % rank != 0)
            throw new ArgumentException($"stacked A has {rows} rows, not a multiple of the rank {rank}", nameof(aAll));
        return checked((int)(rows / rank));
    }

    // The loop returns the accumulator itself when no expert got a token; give the caller its own handle.
    private static Tensor ReferenceOrOwned(Tensor result, Tensor accumulate) =>
        ReferenceEquals(result, accumulate) ? accumulate.alias().MoveToOuterScope() : result.MoveToOuterScope();
}
