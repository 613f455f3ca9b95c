using MoLA.Model.MoeLora;
using MoLA.Torch;
using MoLA.Torch.Distributed;

namespace MoLA.Parallel;

/// <summary>
/// Expert parallelism over one EP group. Forward, per MoE-LoRA module: the token-expert assignments are
/// sorted by the EP rank owning the expert, the per-peer counts are exchanged (all-to-all), the rows
/// (and local expert ids) go to their owners (uneven all-to-all), each rank runs its experts on what it
/// received (<see cref="MoeLoraLinear.ComputeLocalExperts"/>, k = 1 rows), the results come back the same
/// way and are combined with the gate weights locally, so the router's gradient stays local.
/// <para>
/// Backward: the shim has no custom autograd functions, so the graph is cut at every module's output
/// (the module returns a leaf) and <see cref="Backward"/> replays the cuts in reverse forward order:
/// loss.backward, then per module (its output's gradient is complete once every later module is done)
/// send the output gradient of each assignment to its expert's rank, backpropagate the experts there,
/// send the input gradients back and backpropagate base, router and expert-input paths at once through
/// one surrogate sum. All ranks run the same exchanges in the same order, also when a rank received no
/// rows. Cost: every replay walks the residual stream back to the previous cut (a native differentiable
/// all-to-all would avoid this; see docs/PERFORMANCE.md).
/// </para>
/// </summary>
public sealed class ExpertParallelDispatcher : IExpertDispatcher, IDisposable
{
    private readonly ICollectives _ep;
    private readonly Device _countsDevice;
    private readonly Dictionary<MoeLoraLinear, (int[] Owners, int[] Firsts)> _plans = new(ReferenceEqualityComparer.Instance);
    private readonly List<Record> _tape = [];
    private readonly Dictionary<string, long[]> _received = new(StringComparer.Ordinal);

    private sealed record Record(
        Tensor Input, Tensor Combined, Tensor Leaf, Tensor Weights, Tensor TokenIndex, long[] SendCounts, long[] RecvCounts,
        Tensor? ExpertInput, Tensor ExpertOutput, long Tokens, long InFeatures, long OutFeatures)
    {
        public void Dispose()
        {
            foreach (var t in new[] { Input, Combined, Leaf, Weights, TokenIndex, ExpertInput, ExpertOutput }) t?.Dispose();
        }
    }

    /// <param name="expertParallelGroup">The EP group.</param>
    /// <param name="groupDevice">Where the group takes tensors (the per-peer counts go there): CPU for Gloo (default), the GPU for NCCL.</param>
    public ExpertParallelDispatcher(ICollectives expertParallelGroup, Device? groupDevice = null)
    {
        _ep = expertParallelGroup ?? throw new ArgumentNullException(nameof(expertParallelGroup));
        _countsDevice = groupDevice ?? Device.CPU;
    }

    /// <summary>Rows each local expert received in the last forward, by module name (the per-rank expert load).</summary>
    public IReadOnlyDictionary<string, long[]> ReceivedTokens => _received;

    /// <summary>Modules recorded for <see cref="Backward"/> and not yet replayed.</summary>
    public int PendingRecords => _tape.Count;

    internal void Register(MoeLoraLinear layer, (int First, int Count)[] ranges)
    {
        if (ranges.Length != _ep.Size)
            throw new ParallelConfigException("placement", $"module '{layer.Name}': {ranges.Length} EP ranks placed, the EP group has {_ep.Size}");
        _plans[layer] = (ExpertPlacement.Owners(ranges), ranges.Select(r => r.First).ToArray());
    }

    public Tensor Dispatch(MoeLoraLinear layer, Tensor input, Tensor indices, Tensor weights, Tensor baseOutput)
    {
        if (!_plans.TryGetValue(layer, out var plan))
            throw new InvalidOperationException($"MoE-LoRA module '{layer.Name}' was not sharded by ExpertSharding for this dispatcher");
        var p = _ep.Size;
        var tokens = input.size(0);
        var k = (int)indices.size(1);
        var inF = layer.InFeatures;
        var outF = layer.OutFeatures;
        var device = input.Device;
        long[] ids;
        using (var flat = indices.reshape(-1))
        using (var host = flat.cpu())
            ids = host.ToArray<long>();

        // Counting sort of the assignments by owner rank; m = t * k + j.
        var sendCounts = new long[p];
        foreach (var e in ids) sendCounts[plan.Owners[e]]++;
        var next = new long[p];
        for (var r = 1; r < p; r++) next[r] = next[r - 1] + sendCounts[r - 1];
        var order = new long[ids.Length];
        var tokenOf = new long[ids.Length];
        var localId = new long[ids.Length];
        for (var m = 0; m < ids.Length; m++)
        {
            var owner = plan.Owners[ids[m]];
            var pos = next[owner]++;
            order[pos] = m;
            tokenOf[pos] = m / k;
            localId[pos] = ids[m] - plan.Firsts[owner];
        }

        var recvCounts = ExchangeCounts(sendCounts);
        var sendRows = (long)ids.Length;
        var recvRows = recvCounts.Sum();
        var tokenIndex = torch.tensor(tokenOf).to(device);
        var orderIndex = torch.tensor(order).to(device);
        Tensor xRecv, idRecv;
        using (torch.no_grad())
        {
            using var xSend = input.detach().index_select(0, tokenIndex);
            xRecv = torch.empty([recvRows, inF], input.DType, device);
            _ep.AllToAll(xRecv, xSend, recvCounts, sendCounts);
            using var idSend = torch.tensor(localId).to(device);
            idRecv = torch.empty([recvRows], DType.Int64, device);
            _ep.AllToAll(idRecv, idSend, recvCounts, sendCounts);
        }
        RecordLoad(layer, idRecv);

        var grad = torch.is_grad_enabled();
        Tensor? expertInput = null;
        Tensor yRecv;
        if (recvRows > 0)
        {
            expertInput = grad ? xRecv.requires_grad_() : xRecv;
            yRecv = layer.ComputeLocalExperts(expertInput, idRecv.view(-1, 1), torch.ones([recvRows, 1], input.DType, device),
                torch.zeros([recvRows, outF], baseOutput.DType, device));
        }
        else
        {
            yRecv = torch.zeros([0, outF], baseOutput.DType, device);
        }
        var yBack = torch.empty([sendRows, outF], baseOutput.DType, device);
        using (torch.no_grad())
        using (var ySend = yRecv.detach())
            _ep.AllToAll(yBack, ySend, sendCounts, recvCounts);

        var w = weights.reshape(-1).index_select(0, orderIndex);
        var combined = baseOutput.index_add(0, tokenIndex, yBack.mul(w.unsqueeze(1)));
        if (!grad) return combined;
        var leaf = combined.detach().requires_grad_();
        // A pre-set grad makes autograd add into it in place. Left undefined, AccumulateGrad may adopt an
        // incoming buffer that the residual stream's backward keeps adding into, which double-counts.
        leaf.grad = torch.zeros(leaf.Shape, leaf.DType, leaf.Device);
        _tape.Add(new Record(input.alias().DetachFromScope(), combined.DetachFromScope(), leaf.DetachFromScope(),
            w.detach().DetachFromScope(), tokenIndex.DetachFromScope(), sendCounts, recvCounts, expertInput?.DetachFromScope(),
            yRecv.DetachFromScope(), tokens, inF, outF));
        return leaf.alias();
    }

    /// <summary>
    /// Backward of one micro-batch: <paramref name="loss"/>.backward() (when it has a graph), then the
    /// recorded modules in reverse order. Every rank of the EP group must call it after the same forwards.
    /// </summary>
    public void Backward(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        try
        {
            if (loss.RequiresGrad) loss.backward(null, retainGraph: _tape.Count > 0);
            for (var i = _tape.Count - 1; i >= 0; i--) Replay(_tape[i]);
        }
        finally
        {
            ClearTape();
        }
    }

    private void Replay(Record r)
    {
        using var scope = torch.NewDisposeScope();
        var device = r.Leaf.Device;
        var gOut = r.Leaf.grad ?? torch.zeros([r.Tokens, r.OutFeatures], r.Leaf.DType, device);
        var sendRows = r.SendCounts.Sum();
        var recvRows = r.RecvCounts.Sum();
        // d out / d y_m = w_m (y_m is added to its token's row): the gradient of each assignment's expert output.
        var gY = gOut.index_select(0, r.TokenIndex).mul(r.Weights.unsqueeze(1));
        var gYRecv = torch.empty([recvRows, r.OutFeatures], gY.DType, device);
        _ep.AllToAll(gYRecv, gY, r.RecvCounts, r.SendCounts);
        Tensor gXRecv;
        if (recvRows > 0 && r.ExpertInput is not null && r.ExpertOutput.RequiresGrad)
        {
            r.ExpertOutput.backward(gYRecv);
            gXRecv = r.ExpertInput.grad ?? torch.zeros([recvRows, r.InFeatures], r.ExpertInput.DType, device);
        }
        else
        {
            gXRecv = torch.zeros([recvRows, r.InFeatures], r.Input.DType, device);
        }
        var gXSend = torch.empty([sendRows, r.InFeatures], gXRecv.DType, device);
        _ep.AllToAll(gXSend, gXRecv, r.SendCounts, r.RecvCounts);
        // One pass through base, router and expert-input paths: d/dtheta of <combined, gOut> + <x, gX>.
        var surrogate = r.Combined.mul(gOut).sum();
        if (r.Input.RequiresGrad)
        {
            var gX = torch.zeros([r.Tokens, r.InFeatures], r.Input.DType, device).index_add(0, r.TokenIndex, gXSend);
            surrogate = surrogate.add(r.Input.mul(gX).sum());
        }
        if (surrogate.RequiresGrad) surrogate.backward(null, retainGraph: true);
    }

    private long[] ExchangeCounts(long[] sendCounts)
    {
        using var host = torch.tensor(sendCounts);
        using var send = _countsDevice.IsCuda ? host.to(_countsDevice) : host.alias();
        using var recv = torch.zeros([_ep.Size], DType.Int64, _countsDevice);
        _ep.AllToAll(recv, send, null, null);
        return recv.ToArray<long>();
    }

    private void RecordLoad(MoeLoraLinear layer, Tensor idRecv)
    {
        using var host = idRecv.cpu();
        var counts = new long[layer.LocalExperts.Count];
        foreach (var id in host.ToArray<long>()) counts[id]++;
        _received[layer.Name] = counts;
    }

    /// <summary>Drops recorded modules (e.g. after a forward that is not followed by <see cref="Backward"/>).</summary>
    public void ClearTape()
    {
        foreach (var r in _tape) r.Dispose();
        _tape.Clear();
    }

    public void Dispose() => ClearTape();
}
