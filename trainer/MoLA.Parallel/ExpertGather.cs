using MoLA.Torch;
using MoLA.Torch.Distributed;

namespace MoLA.Parallel;

/// <summary>
/// How one expert-sharded tensor is split over the EP group: the stacked experts lie along
/// <see cref="Dim"/> (0 for lora_A [N*r, in] and its moments, 1 for lora_B [out, N*r]), each expert
/// <see cref="Rows"/> wide (the LoRA rank), EP rank p holding experts <see cref="Ranges"/>[p].
/// </summary>
public sealed record ExpertShardLayout(int Dim, long Rows, (int First, int Count)[] Ranges, string Name)
{
    public long TotalRows => Ranges.Sum(r => (long)r.Count) * Rows;
}

/// <summary>
/// Moves expert shards between the EP ranks and whole tensors, for checkpoints and adapters.
/// <para>
/// Gathering uses one uneven all-to-all per tensor in which every rank sends its whole shard to EP rank 0
/// and nothing to anyone else (the splits say so), rather than an all-gather of padded shards: only the
/// writer receives, so the other ranks never hold the whole tensor, no padding is sent for uneven
/// placements, and the bytes moved are exactly the shards that rank 0 lacks.
/// </para>
/// </summary>
public static class ExpertGather
{
    /// <summary>
    /// The whole tensor on EP rank 0 (experts in id order, a new CPU tensor the caller owns), null on the
    /// other ranks. Every rank of <paramref name="ep"/> calls it with its own shard <paramref name="local"/>.
    /// </summary>
    public static Tensor? ToFirstRank(ICollectives ep, Tensor local, ExpertShardLayout layout)
    {
        ArgumentNullException.ThrowIfNull(ep);
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(layout);
        if (layout.Ranges.Length != ep.Size)
            throw new ArgumentException($"'{layout.Name}': {layout.Ranges.Length} EP ranks placed, the EP group has {ep.Size}", nameof(layout));
        var me = ep.Rank;
        var mine = layout.Ranges[me].Count * layout.Rows;
        if (local.Dim < 2 || local.size(layout.Dim) != mine)
            throw new ArgumentException($"'{layout.Name}': EP rank {me}'s shard has shape [{string.Join(", ", local.Shape)}], expected {mine} along dim {layout.Dim} " +
                $"({layout.Ranges[me].Count} experts x {layout.Rows})", nameof(local));
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        // Experts become rows (dim 0): the all-to-all splits rows. Gloo works on CPU tensors.
        var rows = (layout.Dim == 0 ? local : local.transpose(0, layout.Dim)).detach().cpu().contiguous();
        var inSplits = new long[ep.Size];
        inSplits[0] = mine;
        var outSplits = new long[ep.Size];
        if (me == 0)
            for (var p = 0; p < ep.Size; p++) outSplits[p] = layout.Ranges[p].Count * layout.Rows;
        var shape = rows.Shape;
        shape[0] = outSplits.Sum();
        var received = torch.empty(shape, rows.DType);
        ep.AllToAll(received, rows, outSplits, inSplits);
        if (me != 0) return null;
        // Received in EP-rank order; a placement may give a lower rank higher expert ids, so place each block at its first id.
        var whole = torch.empty(shape, rows.DType);
        long offset = 0;
        for (var p = 0; p < ep.Size; p++)
        {
            whole.narrow(0, layout.Ranges[p].First * layout.Rows, outSplits[p]).copy_(received.narrow(0, offset, outSplits[p]));
            offset += outSplits[p];
        }
        var result = layout.Dim == 0 ? whole : whole.transpose(0, layout.Dim).contiguous();
        return result.MoveToOuterScope();
    }

    /// <summary>
    /// EP rank <paramref name="epRank"/>'s part of a whole saved tensor (a view the caller owns). Throws
    /// <see cref="ArgumentException"/> naming the shapes when <paramref name="whole"/> is not the whole tensor
    /// whose shard is shaped like <paramref name="localShape"/>.
    /// </summary>
    public static Tensor LocalPart(Tensor whole, ExpertShardLayout layout, int epRank, long[] localShape)
    {
        ArgumentNullException.ThrowIfNull(whole);
        ArgumentNullException.ThrowIfNull(layout);
        var expected = (long[])localShape.Clone();
        expected[layout.Dim] = layout.TotalRows;
        if (!whole.Shape.SequenceEqual(expected))
            throw new ArgumentException($"has shape [{string.Join(", ", whole.Shape)}], expected the whole [{string.Join(", ", expected)}] " +
                $"({layout.Ranges.Sum(r => r.Count)} experts x {layout.Rows} along dim {layout.Dim})");
        var (first, count) = layout.Ranges[epRank];
        return whole.narrow(layout.Dim, first * layout.Rows, count * layout.Rows);
    }
}
