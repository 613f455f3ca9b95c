using MoLA.Torch;
using MoLA.Torch.Distributed;

namespace MoLA.Parallel;

/// <summary>An <see cref="ICollectives"/> that times every call into a <see cref="CollectiveStats"/>.</summary>
public sealed class InstrumentedCollectives(ICollectives inner, CollectiveStats stats, string name) : ICollectives
{
    public ICollectives Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));
    public CollectiveStats Stats { get; } = stats ?? throw new ArgumentNullException(nameof(stats));

    /// <summary>The group's role, e.g. "world", "ep", "edp" (for messages).</summary>
    public string Name { get; } = name;

    public int Rank => Inner.Rank;
    public int Size => Inner.Size;

    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        var t0 = CollectiveStats.Now();
        Inner.AllReduce(tensor, op);
        Stats.Record("all_reduce", CollectiveStats.Since(t0), CollectiveStats.Bytes(tensor));
    }

    public void Broadcast(Tensor tensor, int root)
    {
        var t0 = CollectiveStats.Now();
        Inner.Broadcast(tensor, root);
        Stats.Record("broadcast", CollectiveStats.Since(t0), CollectiveStats.Bytes(tensor));
    }

    public void AllGather(Tensor input, Tensor output)
    {
        var t0 = CollectiveStats.Now();
        Inner.AllGather(input, output);
        Stats.Record("all_gather", CollectiveStats.Since(t0), CollectiveStats.Bytes(input));
    }

    public void AllToAll(Tensor output, Tensor input, long[]? outSplits, long[]? inSplits)
    {
        var t0 = CollectiveStats.Now();
        Inner.AllToAll(output, input, outSplits, inSplits);
        Stats.Record("all_to_all", CollectiveStats.Since(t0), CollectiveStats.Bytes(input));
    }

    public void Barrier()
    {
        var t0 = CollectiveStats.Now();
        Inner.Barrier();
        Stats.Record("barrier", CollectiveStats.Since(t0), 0);
    }

    public override string ToString() => $"{Name} group (rank {Rank} of {Size})";
}
