namespace MoLA.Torch.Distributed;

/// <summary>
/// Reduction of <see cref="ICollectives.AllReduce"/>. The values are the native codes of
/// <c>mt_pg_allreduce</c>: append only, never renumber.
/// </summary>
public enum ReduceOp
{
    Sum = 0,

    /// <summary>
    /// Mean over ranks. Gloo has no AVG, so this is a SUM followed by a division by the group
    /// size on every rank; integer tensors are divided with truncation toward zero.
    /// </summary>
    Avg = 1,

    Max = 2,
    Min = 3,
    Product = 4,
}
