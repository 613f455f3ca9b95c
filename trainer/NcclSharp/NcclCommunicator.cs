namespace NcclSharp;

/// <summary>
/// One rank's handle on an NCCL communicator (<c>ncclComm_t</c>).
/// </summary>
/// <remarks>
/// <para>Buffers are CUDA device pointers (e.g. a libtorch tensor's data pointer) on this
/// communicator's device, and <c>stream</c> is a <c>cudaStream_t</c> (e.g. libtorch's current CUDA
/// stream; IntPtr.Zero is the legacy default stream). Every operation only enqueues work on that
/// stream and returns: synchronise the stream before reading results on the host.</para>
/// <para><c>count</c> is in elements of <see cref="NcclDataType"/>, not bytes, as in nccl.h.</para>
/// <para>Not thread-safe: NCCL requires calls on one communicator to be issued in the same order on
/// every rank, so issue them from one thread.</para>
/// <para>There is no finalizer: ncclCommDestroy can block on GPU work and peers, which must never
/// happen on the finalizer thread. Dispose it (or <see cref="Abort"/> it) explicitly.</para>
/// </remarks>
public sealed class NcclCommunicator : IDisposable
{
    private IntPtr _comm;

    private NcclCommunicator(IntPtr comm, int rank, int size, int cudaDevice)
    {
        _comm = comm;
        Rank = rank;
        Size = size;
        CudaDevice = cudaDevice;
    }

    /// <summary>This process's rank, as NCCL reports it (ncclCommUserRank).</summary>
    public int Rank { get; }

    /// <summary>Number of ranks (ncclCommCount).</summary>
    public int Size { get; }

    /// <summary>The CUDA device the communicator was bound to at creation (ncclCommCuDevice).</summary>
    public int CudaDevice { get; }

    /// <summary>False once disposed or aborted.</summary>
    public bool IsOpen => _comm != IntPtr.Zero;

    /// <summary>
    /// ncclCommInitRank: joins the communicator named by <paramref name="uniqueId"/>. Blocks until
    /// all <paramref name="worldSize"/> ranks have joined. The CUDA device to use must already be
    /// current on the calling thread (cudaSetDevice / torch's device guard), since NCCL binds to it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">worldSize &lt; 1 or rank not in [0, worldSize).</exception>
    /// <exception cref="NcclException">libnccl.so.2 is missing or initialisation failed.</exception>
    public static NcclCommunicator Create(NcclUniqueId uniqueId, int worldSize, int rank)
    {
        ArgumentNullException.ThrowIfNull(uniqueId);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        Nccl.EnsureAvailable();

        NcclNative.Check(NcclNative.CommInitRank(out var comm, worldSize, uniqueId.ToNative(), rank), "ncclCommInitRank");
        try
        {
            NcclNative.Check(NcclNative.CommUserRank(comm, out var actualRank), "ncclCommUserRank", comm);
            NcclNative.Check(NcclNative.CommCount(comm, out var count), "ncclCommCount", comm);
            NcclNative.Check(NcclNative.CommCuDevice(comm, out var device), "ncclCommCuDevice", comm);
            return new NcclCommunicator(comm, actualRank, count, device);
        }
        catch
        {
            NcclNative.CommAbort(comm);
            throw;
        }
    }

    /// <summary>ncclAllReduce: reduces <paramref name="count"/> elements across ranks into every rank's recv (in place when send == recv).</summary>
    public void AllReduce(IntPtr send, IntPtr recv, ulong count, NcclDataType dataType, NcclRedOp op, IntPtr stream)
    {
        var comm = Handle();
        NcclNative.Check(NcclNative.AllReduce(send, recv, Count(count), dataType, op, comm, stream), "ncclAllReduce", comm);
    }

    /// <summary>ncclBroadcast: copies <paramref name="count"/> elements from <paramref name="root"/>'s send to every rank's recv.</summary>
    public void Broadcast(IntPtr send, IntPtr recv, ulong count, NcclDataType dataType, int root, IntPtr stream)
    {
        var comm = Handle();
        NcclNative.Check(NcclNative.Broadcast(send, recv, Count(count), dataType, root, comm, stream), "ncclBroadcast", comm);
    }

    /// <summary>ncclAllGather: recv (Size * <paramref name="sendCount"/> elements) gets rank i's send at offset i * sendCount.</summary>
    public void AllGather(IntPtr send, IntPtr recv, ulong sendCount, NcclDataType dataType, IntPtr stream)
    {
        var comm = Handle();
        NcclNative.Check(NcclNative.AllGather(send, recv, Count(sendCount), dataType, comm, stream), "ncclAllGather", comm);
    }

    /// <summary>ncclReduceScatter: send holds Size * <paramref name="recvCount"/> elements; rank i receives block i of the reduction.</summary>
    public void ReduceScatter(IntPtr send, IntPtr recv, ulong recvCount, NcclDataType dataType, NcclRedOp op, IntPtr stream)
    {
        var comm = Handle();
        NcclNative.Check(NcclNative.ReduceScatter(send, recv, Count(recvCount), dataType, op, comm, stream), "ncclReduceScatter", comm);
    }

    /// <summary>ncclSend to <paramref name="peer"/>; pair with its Recv, inside an <see cref="NcclGroup"/> when both directions are in flight.</summary>
    public void Send(IntPtr send, ulong count, NcclDataType dataType, int peer, IntPtr stream)
    {
        var comm = Handle();
        NcclNative.Check(NcclNative.Send(send, Count(count), dataType, peer, comm, stream), "ncclSend", comm);
    }

    /// <summary>ncclRecv from <paramref name="peer"/>; same count and type as the peer's Send.</summary>
    public void Recv(IntPtr recv, ulong count, NcclDataType dataType, int peer, IntPtr stream)
    {
        var comm = Handle();
        NcclNative.Check(NcclNative.Recv(recv, Count(count), dataType, peer, comm, stream), "ncclRecv", comm);
    }

    /// <summary>
    /// ncclCommGetAsyncError: errors raised after a call returned (a peer died, the network
    /// failed). A watchdog polls this while waiting on a stream, because a failed peer otherwise
    /// shows up only as a hang.
    /// </summary>
    public NcclResult GetAsyncError()
    {
        var comm = Handle();
        NcclNative.Check(NcclNative.CommGetAsyncError(comm, out var asyncError), "ncclCommGetAsyncError", comm);
        return asyncError;
    }

    /// <summary>Throws <see cref="NcclException"/> if <see cref="GetAsyncError"/> reports an error (InProgress is not one).</summary>
    public void CheckAsyncError()
    {
        var asyncError = GetAsyncError();
        if (asyncError is not NcclResult.Success and not NcclResult.InProgress)
        {
            throw NcclException.FromResult(
                "ncclCommGetAsyncError", asyncError, NcclNative.ErrorString(asyncError), NcclNative.LastError(_comm));
        }
    }

    /// <summary>
    /// ncclCommAbort: frees the communicator and kills its in-flight operations without waiting
    /// for peers. This is how a rank gets out of a hung collective after an async error.
    /// Idempotent; afterwards the communicator is closed.
    /// </summary>
    public void Abort()
    {
        var comm = Interlocked.Exchange(ref _comm, IntPtr.Zero);
        if (comm != IntPtr.Zero)
        {
            NcclNative.Check(NcclNative.CommAbort(comm), "ncclCommAbort");
        }
    }

    /// <summary>
    /// Releases the communicator: ncclCommDestroy (waits for enqueued work), or ncclCommAbort when
    /// an async error is pending, since destroy would then wait on a peer that may never answer.
    /// Never throws, so it cannot hide the exception that usually unwinds a <c>using</c>; a failed
    /// destroy is not retried with abort because the handle may already be half freed.
    /// </summary>
    public void Dispose()
    {
        var comm = Interlocked.Exchange(ref _comm, IntPtr.Zero);
        if (comm == IntPtr.Zero)
        {
            return;
        }

        var query = NcclNative.CommGetAsyncError(comm, out var asyncError);
        if (query != NcclResult.Success || asyncError is not NcclResult.Success and not NcclResult.InProgress)
        {
            NcclNative.CommAbort(comm);
        }
        else
        {
            NcclNative.CommDestroy(comm);
        }
    }

    private IntPtr Handle()
    {
        var comm = _comm;
        ObjectDisposedException.ThrowIf(comm == IntPtr.Zero, this);
        return comm;
    }

    private static nuint Count(ulong count) => checked((nuint)count);
}
