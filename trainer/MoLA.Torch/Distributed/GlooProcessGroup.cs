using static MoLA.Torch.Distributed.GlooNative;

namespace MoLA.Torch.Distributed;

/// <summary>
/// A c10d ProcessGroupGloo: CPU collectives between <see cref="Size"/> processes that
/// rendezvous through a <see cref="TcpStore"/>. Creating it blocks until all ranks joined
/// (or the timeout passed). Every collective waits for completion with the same timeout, so
/// a dead peer (connection reset) or a stalled one (timeout) surfaces as a
/// <see cref="CollectiveException"/>; after one the group is unusable and must be disposed.
/// Calls must come from one thread at a time, in the same order on every rank.
/// </summary>
public sealed unsafe class GlooProcessGroup : ICollectives, IDisposable
{
    private readonly PgSafeHandle _handle;

    private GlooProcessGroup(PgSafeHandle handle, string group, int rank, int size, TimeSpan timeout)
    {
        _handle = handle;
        Group = group;
        Rank = rank;
        Size = size;
        Timeout = timeout;
    }

    /// <summary>
    /// Joins group <paramref name="group"/> (its store keys live under "mola/pg/&lt;group&gt;/"; names
    /// must be unique per store and job) as <paramref name="rank"/> of <paramref name="size"/>.
    /// Gloo binds <paramref name="hostname"/> (default 127.0.0.1: single machine) or, when
    /// given, the network interface <paramref name="networkInterface"/>; other ranks connect
    /// to the address it advertises, so multi-machine jobs pass a routable hostname.
    /// </summary>
    public static GlooProcessGroup Create(TcpStore store, int rank, int size, TimeSpan timeout, string group = "default",
        string? hostname = null, string? networkInterface = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(group);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, size);
        var ms = TcpStore.ToMilliseconds(timeout);
        var g = Utf8Z.Of(group);
        var h = Utf8Z.OfNullable(hostname);
        var i = Utf8Z.OfNullable(networkInterface);
        PgSafeHandle handle;
        fixed (byte* gp = g)
        fixed (byte* hp = h)
        fixed (byte* ip = i)
            handle = mt_pg_gloo_create(store.Handle, gp, rank, size, ms, hp, ip);
        if (handle.IsInvalid)
        {
            var error = TakeError();
            handle.Dispose();
            throw new CollectiveException("Create", rank, size, group, timeout, error);
        }
        return new GlooProcessGroup(handle, group, rank, size, timeout);
    }

    public int Rank { get; }
    public int Size { get; }
    public string Group { get; }
    public TimeSpan Timeout { get; }

    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduce op");
        Check(mt_pg_allreduce(Handle, tensor.Handle, (int)op), $"AllReduce({op})");
        GC.KeepAlive(tensor);
    }

    public void Broadcast(Tensor tensor, int root)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Check(mt_pg_broadcast(Handle, tensor.Handle, root), $"Broadcast(root {root})");
        GC.KeepAlive(tensor);
    }

    public void AllGather(Tensor input, Tensor output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        Check(mt_pg_allgather(Handle, input.Handle, output.Handle), "AllGather");
        GC.KeepAlive(input);
        GC.KeepAlive(output);
    }

    public void AllToAll(Tensor output, Tensor input, long[]? outSplits, long[]? inSplits)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(input);
        if ((outSplits is null) != (inSplits is null))
            throw new ArgumentException("give both outSplits and inSplits, or neither (equal splits)");
        var n = outSplits?.Length ?? 0;
        if (outSplits is not null && (outSplits.Length != Size || inSplits!.Length != Size))
            throw new ArgumentException($"AllToAll needs one split per rank: got {outSplits.Length} out and {inSplits!.Length} in splits for {Size} ranks");
        fixed (long* op = outSplits)
        fixed (long* ip = inSplits)
            Check(mt_pg_alltoall(Handle, output.Handle, input.Handle, op, ip, n), "AllToAll");
        GC.KeepAlive(input);
        GC.KeepAlive(output);
    }

    public void Barrier() => Check(mt_pg_barrier(Handle), "Barrier");

    /// <summary>Frees the group once no collective is running on it (in-flight work is bounded by the timeout).</summary>
    public void Dispose() => _handle.Dispose();

    public override string ToString() => $"GlooProcessGroup('{Group}', rank {Rank} of {Size})";

    private PgSafeHandle Handle =>
        !_handle.IsClosed ? _handle : throw new ObjectDisposedException(nameof(GlooProcessGroup), "process group used after Dispose()");

    private void Check(int rc, string op)
    {
        if (rc < 0) throw new CollectiveException(op, Rank, Size, Group, Timeout, TakeError());
    }
}
