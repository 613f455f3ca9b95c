using System.Diagnostics;
using MoLA.Torch;
using MoLA.Torch.Distributed;
using NcclSharp;

namespace MoLA.Parallel;

/// <summary>
/// An NCCL communicator behind <see cref="ICollectives"/>: collectives on contiguous CUDA tensors of one
/// device, one GPU per rank. Rendezvous: rank 0 creates the ncclUniqueId and publishes it in the
/// <see cref="TcpStore"/> under "mola/nccl/&lt;group&gt;/unique-id" (group names must be unique per store and
/// job, as for Gloo), the others wait for it, then every rank calls ncclCommInitRank.
/// <para>
/// Streams and completion: every operation is enqueued on libtorch's current CUDA stream of the group's
/// device (<c>torch.cuda.current_stream(device)</c>, the legacy default stream unless code set another), so
/// it runs after the kernels that produced its inputs. The call then polls that stream
/// (cudaStreamQuery) until everything on it finished, so when it returns the result is in place for the
/// host and for any stream, as <see cref="ICollectives"/> promises. While polling it checks
/// ncclCommGetAsyncError; an NCCL error, or a stream still busy after <see cref="Timeout"/> (a peer that
/// died or never called the collective), aborts the communicator (ncclCommAbort, so nothing hangs) and
/// throws a <see cref="CollectiveException"/> naming the group and op; the group is unusable afterwards.
/// </para>
/// Calls must come from one thread at a time, in the same order on every rank.
/// </summary>
public sealed class NcclProcessGroup : ICollectives, IDisposable
{
    private NcclCommunicator? _comm;
    private string? _failure;
    private Tensor? _barrier;

    private NcclProcessGroup(NcclCommunicator comm, string group, int rank, int size, TimeSpan timeout, int deviceIndex)
    {
        _comm = comm;
        Group = group;
        Rank = rank;
        Size = size;
        Timeout = timeout;
        Device = Device.CUDA(deviceIndex);
    }

    public int Rank { get; }
    public int Size { get; }
    public string Group { get; }
    public TimeSpan Timeout { get; }

    /// <summary>The CUDA device of the communicator; every tensor must live there.</summary>
    public Device Device { get; }

    /// <summary>The store key of <paramref name="group"/>'s unique id.</summary>
    public static string UniqueIdKey(string group) => $"mola/nccl/{group}/unique-id";

    /// <summary>
    /// Joins <paramref name="group"/> as <paramref name="rank"/> of <paramref name="size"/> on
    /// <paramref name="device"/> (a CUDA device; index -1 = the thread's current one). Waits up to
    /// <paramref name="timeout"/> for rank 0's unique id; ncclCommInitRank itself then blocks until every
    /// rank joined (NCCL's own bootstrap bounds it, not <paramref name="timeout"/>).
    /// </summary>
    public static NcclProcessGroup Create(TcpStore store, int rank, int size, TimeSpan timeout, string group, Device device)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(group);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, size);
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be positive");
        CollectiveBackends.EnsureNcclUsable(device);
        var key = UniqueIdKey(group);
        try
        {
            var index = device.Index >= 0 ? device.Index : CudaRuntime.GetDevice();
            CudaRuntime.SetDevice(index);  // NCCL binds the communicator to the current device
            NcclUniqueId id;
            if (rank == 0)
            {
                id = NcclUniqueId.Create();
                store.Set(key, id.ToBytes());
            }
            else
            {
                store.Wait(timeout, key);
                id = NcclUniqueId.FromBytes(store.Get(key));
            }
            var comm = NcclCommunicator.Create(id, size, rank);
            return new NcclProcessGroup(comm, group, rank, size, timeout, index);
        }
        catch (StoreException e)
        {
            throw new CollectiveException("Create", rank, size, group, timeout,
                $"waiting for rank 0's NCCL unique id under store key '{key}': {e.Message}");
        }
        catch (Exception e) when (e is NcclException or CudaException or ArgumentException)
        {
            throw new CollectiveException("Create", rank, size, group, timeout, e.Message);
        }
    }

    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        var name = $"AllReduce({op})";
        var type = NcclTensorTypes.CheckTensor(name, Group, nameof(tensor), tensor, Device);
        var redOp = NcclTensorTypes.RedOp(op);
        var count = (ulong)tensor.NumEl;
        if (count == 0) return;
        var p = tensor.data_ptr();
        Run(name, (c, s) => c.AllReduce(p, p, count, type, redOp, s));
        GC.KeepAlive(tensor);
    }

    public void Broadcast(Tensor tensor, int root)
    {
        var name = $"Broadcast(root {root})";
        var type = NcclTensorTypes.CheckTensor(name, Group, nameof(tensor), tensor, Device);
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"NCCL {name} (group '{Group}'): root must be 0 .. {Size - 1}");
        var count = (ulong)tensor.NumEl;
        if (count == 0) return;
        var p = tensor.data_ptr();
        Run(name, (c, s) => c.Broadcast(p, p, count, type, root, s));
        GC.KeepAlive(tensor);
    }

    public void AllGather(Tensor input, Tensor output)
    {
        const string name = "AllGather";
        var type = NcclTensorTypes.CheckTensor(name, Group, nameof(input), input, Device);
        NcclTensorTypes.CheckTensor(name, Group, nameof(output), output, Device);
        if (output.DType != input.DType)
            throw new ArgumentException($"NCCL {name} (group '{Group}'): output has dtype {output.DType}, input {input.DType}", nameof(output));
        if (output.NumEl != input.NumEl * Size)
            throw new ArgumentException($"NCCL {name} (group '{Group}'): output ({NcclTensorTypes.Describe(output)}) needs {Size} x {input.NumEl} = " +
                                        $"{input.NumEl * Size} elements for input ({NcclTensorTypes.Describe(input)})", nameof(output));
        var count = (ulong)input.NumEl;
        if (count == 0) return;
        var pin = input.data_ptr();
        var pout = output.data_ptr();
        Run(name, (c, s) => c.AllGather(pin, pout, count, type, s));
        GC.KeepAlive(input);
        GC.KeepAlive(output);
    }

    /// <summary>Uneven all-to-all of rows: one ncclSend and one ncclRecv per peer with rows to move, in one NCCL group.</summary>
    public void AllToAll(Tensor output, Tensor input, long[]? outSplits, long[]? inSplits)
    {
        const string name = "AllToAll";
        var type = NcclTensorTypes.CheckTensor(name, Group, nameof(input), input, Device);
        NcclTensorTypes.CheckTensor(name, Group, nameof(output), output, Device);
        if (output.DType != input.DType)
            throw new ArgumentException($"NCCL {name} (group '{Group}'): output has dtype {output.DType}, input {input.DType}", nameof(output));
        var plan = AllToAllPlan.Create(Group, Size, output.Shape, input.Shape, outSplits, inSplits);
        if (plan.IsEmpty) return;
        var pin = input.data_ptr();
        var pout = output.data_ptr();
        var rowBytes = plan.RowElements * type.ElementSize();
        Run(name, (c, s) =>
        {
            using var g = NcclGroup.Begin();
            for (var peer = 0; peer < Size; peer++)
            {
                if (plan.InRows[peer] > 0)
                    c.Send(pin + (nint)(plan.InOffsets[peer] * rowBytes), (ulong)(plan.InRows[peer] * plan.RowElements), type, peer, s);
                if (plan.OutRows[peer] > 0)
                    c.Recv(pout + (nint)(plan.OutOffsets[peer] * rowBytes), (ulong)(plan.OutRows[peer] * plan.RowElements), type, peer, s);
            }
        });
        GC.KeepAlive(input);
        GC.KeepAlive(output);
    }

    /// <summary>A one-element all-reduce: returns once every rank reached it (the stream wait makes it a host barrier too).</summary>
    public void Barrier()
    {
        if (_barrier is null)
            using (torch.no_grad())
                _barrier = torch.zeros([1], DType.Float32, Device).DetachFromScope();
        var p = _barrier.data_ptr();
        Run("Barrier", (c, s) => c.AllReduce(p, p, 1, NcclDataType.Float32, NcclRedOp.Sum, s));
    }

    /// <summary>ncclCommDestroy (or ncclCommAbort after an error); waits for enqueued work.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _comm, null)?.Dispose();
        _barrier?.Dispose();
        _barrier = null;
    }

    public override string ToString() => $"NcclProcessGroup('{Group}', rank {Rank} of {Size}, {Device})";

    /// <summary>Enqueues on the current stream, then waits for it with the group's timeout, polling NCCL's async errors.</summary>
    private void Run(string op, Action<NcclCommunicator, IntPtr> enqueue)
    {
        var comm = Live(op);
        IntPtr stream;
        try
        {
            CudaRuntime.SetDevice(Device.Index);  // cudaStreamQuery(0) means the current device's default stream
            stream = torch.cuda.current_stream(Device.Index);
            enqueue(comm, stream);
        }
        catch (Exception e) when (e is NcclException or CudaException or TorchException)
        {
            throw Fail(op, e.Message);
        }
        Wait(op, comm, stream);
    }

    private void Wait(string op, NcclCommunicator comm, IntPtr stream)
    {
        var start = Stopwatch.GetTimestamp();
        var polls = 0;
        while (true)
        {
            try
            {
                if (CudaRuntime.StreamQuery(stream)) return;
                var async = comm.GetAsyncError();
                if (async is not NcclResult.Success and not NcclResult.InProgress)
                    throw Fail(op, $"NCCL reported {async.ToNcclName()} while the operation ran (a peer failed or the network broke)");
            }
            catch (Exception e) when (e is NcclException or CudaException)
            {
                throw Fail(op, e.Message);
            }
            if (Stopwatch.GetElapsedTime(start) > Timeout)
                throw Fail(op, $"timed out: the operation was still running on the CUDA stream after {(long)Timeout.TotalMilliseconds} ms " +
                               "(a peer died or did not call it)");
            // Short collectives finish within microseconds: yield first, then sleep so a long wait costs no core.
            if (++polls < 200) Thread.Yield();
            else Thread.Sleep(1);
        }
    }

    private NcclCommunicator Live(string op)
    {
        if (_failure is not null)
            throw new CollectiveException(op, Rank, Size, Group, Timeout, $"the group was aborted after an earlier failure ({_failure}); dispose it");
        return _comm ?? throw new ObjectDisposedException(nameof(NcclProcessGroup), $"NCCL group '{Group}' used after Dispose()");
    }

    /// <summary>Aborts the communicator (peers may never answer, so destroy could hang) and builds the exception.</summary>
    private CollectiveException Fail(string op, string message)
    {
        _failure = $"{op}: {message}";
        try
        {
            Interlocked.Exchange(ref _comm, null)?.Abort();
        }
        catch (NcclException e)
        {
            message += $" (ncclCommAbort also failed: {e.Message})";
        }
        return new CollectiveException(op, Rank, Size, Group, Timeout, message);
    }
}
