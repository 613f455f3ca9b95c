namespace MoLA.Torch.Distributed;

/// <summary>
/// Collective operations over a fixed group of ranks. Every rank of the group must call the
/// same collectives in the same order with compatible tensors. Each call blocks until the
/// operation completed on this rank; a dead or stalled peer makes it throw a
/// <see cref="CollectiveException"/> within the group's timeout instead of hanging.
/// </summary>
public interface ICollectives
{
    /// <summary>This process's rank in the group, 0..Size-1.</summary>
    int Rank { get; }

    /// <summary>The number of ranks in the group.</summary>
    int Size { get; }

    /// <summary>Reduces <paramref name="tensor"/> across all ranks, in place; every rank gets the result.</summary>
    void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum);

    /// <summary>Copies <paramref name="tensor"/> of rank <paramref name="root"/> into <paramref name="tensor"/> of every rank.</summary>
    void Broadcast(Tensor tensor, int root);

    /// <summary>
    /// Gathers every rank's <paramref name="input"/> into <paramref name="output"/>, a tensor of
    /// Size * input.NumEl elements of input's dtype (e.g. [Size * d0, ...] or [Size, ...]);
    /// rank r's input lands in block r.
    /// </summary>
    void AllGather(Tensor input, Tensor output);

    /// <summary>
    /// Exchanges rows (dim 0) of <paramref name="input"/>: inSplits[p] rows go to rank p, and
    /// outSplits[p] rows received from rank p are written to <paramref name="output"/> in rank
    /// order. Splits may be uneven (and zero); both null means equal splits. The receiving side
    /// must know its counts, e.g. from an all-to-all of the counts first.
    /// </summary>
    void AllToAll(Tensor output, Tensor input, long[]? outSplits, long[]? inSplits);

    /// <summary>Blocks until every rank reached the barrier.</summary>
    void Barrier();
}
