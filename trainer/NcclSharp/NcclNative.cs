using System.Runtime.InteropServices;

namespace NcclSharp;

/// <summary>
/// <c>ncclUniqueId</c>: <c>struct { char internal[NCCL_UNIQUE_ID_BYTES]; }</c> with
/// NCCL_UNIQUE_ID_BYTES = 128. Blittable, so it can be passed by value exactly like the C struct
/// (ncclCommInitRank takes it by value, not by pointer).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = NcclUniqueId.Size)]
internal unsafe struct NcclUniqueIdNative
{
    public fixed byte Internal[NcclUniqueId.Size];
}

/// <summary>
/// Raw NCCL 2.x entry points, one to one with nccl.h. Only blittable types cross the boundary
/// (pointers, int, size_t as <see cref="nuint"/>, int-sized enums), so no marshalling code runs.
/// </summary>
/// <remarks>
/// Every method returns the ncclResult_t unchanged; <see cref="Check"/> turns failures into
/// <see cref="NcclException"/>. Callers must have passed <see cref="Nccl.EnsureAvailable"/> first,
/// which also registers the library resolver.
/// </remarks>
internal static unsafe class NcclNative
{
    private const string Lib = NativeLibraries.NcclName;

    // ncclResult_t ncclGetVersion(int* version)
    [DllImport(Lib, EntryPoint = "ncclGetVersion", ExactSpelling = true)]
    public static extern NcclResult GetVersion(out int version);

    // ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId)
    [DllImport(Lib, EntryPoint = "ncclGetUniqueId", ExactSpelling = true)]
    public static extern NcclResult GetUniqueId(out NcclUniqueIdNative uniqueId);

    // ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank)
    [DllImport(Lib, EntryPoint = "ncclCommInitRank", ExactSpelling = true)]
    public static extern NcclResult CommInitRank(out IntPtr comm, int nranks, NcclUniqueIdNative commId, int rank);

    // ncclResult_t ncclCommInitAll(ncclComm_t* comm, int ndev, const int* devlist)
    [DllImport(Lib, EntryPoint = "ncclCommInitAll", ExactSpelling = true)]
    public static extern NcclResult CommInitAll(IntPtr* comms, int ndev, int* devlist);

    // ncclResult_t ncclCommDestroy(ncclComm_t comm)
    [DllImport(Lib, EntryPoint = "ncclCommDestroy", ExactSpelling = true)]
    public static extern NcclResult CommDestroy(IntPtr comm);

    // ncclResult_t ncclCommAbort(ncclComm_t comm)
    [DllImport(Lib, EntryPoint = "ncclCommAbort", ExactSpelling = true)]
    public static extern NcclResult CommAbort(IntPtr comm);

    // ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError)
    [DllImport(Lib, EntryPoint = "ncclCommGetAsyncError", ExactSpelling = true)]
    public static extern NcclResult CommGetAsyncError(IntPtr comm, out NcclResult asyncError);

    // ncclResult_t ncclCommCount(const ncclComm_t comm, int* count)
    [DllImport(Lib, EntryPoint = "ncclCommCount", ExactSpelling = true)]
    public static extern NcclResult CommCount(IntPtr comm, out int count);

    // ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device)
    [DllImport(Lib, EntryPoint = "ncclCommCuDevice", ExactSpelling = true)]
    public static extern NcclResult CommCuDevice(IntPtr comm, out int device);

    // ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank)
    [DllImport(Lib, EntryPoint = "ncclCommUserRank", ExactSpelling = true)]
    public static extern NcclResult CommUserRank(IntPtr comm, out int rank);

    // ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count,
    //     ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream)
    [DllImport(Lib, EntryPoint = "ncclAllReduce", ExactSpelling = true)]
    public static extern NcclResult AllReduce(
        IntPtr sendbuff, IntPtr recvbuff, nuint count, NcclDataType datatype, NcclRedOp op, IntPtr comm, IntPtr stream);

    // ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count,
    //     ncclDataType_t datatype, int root, ncclComm_t comm, cudaStream_t stream)
    [DllImport(Lib, EntryPoint = "ncclBroadcast", ExactSpelling = true)]
    public static extern NcclResult Broadcast(
        IntPtr sendbuff, IntPtr recvbuff, nuint count, NcclDataType datatype, int root, IntPtr comm, IntPtr stream);

    // ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount,
    //     ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream)
    [DllImport(Lib, EntryPoint = "ncclAllGather", ExactSpelling = true)]
    public static extern NcclResult AllGather(
        IntPtr sendbuff, IntPtr recvbuff, nuint sendcount, NcclDataType datatype, IntPtr comm, IntPtr stream);

    // ncclResult_t ncclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount,
    //     ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream)
    [DllImport(Lib, EntryPoint = "ncclReduceScatter", ExactSpelling = true)]
    public static extern NcclResult ReduceScatter(
        IntPtr sendbuff, IntPtr recvbuff, nuint recvcount, NcclDataType datatype, NcclRedOp op, IntPtr comm, IntPtr stream);

    // ncclResult_t ncclSend(const void* sendbuff, size_t count, ncclDataType_t datatype, int peer,
    //     ncclComm_t comm, cudaStream_t stream)
    [DllImport(Lib, EntryPoint = "ncclSend", ExactSpelling = true)]
    public static extern NcclResult Send(
        IntPtr sendbuff, nuint count, NcclDataType datatype, int peer, IntPtr comm, IntPtr stream);

    // ncclResult_t ncclRecv(void* recvbuff, size_t count, ncclDataType_t datatype, int peer,
    //     ncclComm_t comm, cudaStream_t stream)
    [DllImport(Lib, EntryPoint = "ncclRecv", ExactSpelling = true)]
    public static extern NcclResult Recv(
        IntPtr recvbuff, nuint count, NcclDataType datatype, int peer, IntPtr comm, IntPtr stream);

    // ncclResult_t ncclGroupStart()
    [DllImport(Lib, EntryPoint = "ncclGroupStart", ExactSpelling = true)]
    public static extern NcclResult GroupStart();

    // ncclResult_t ncclGroupEnd()
    [DllImport(Lib, EntryPoint = "ncclGroupEnd", ExactSpelling = true)]
    public static extern NcclResult GroupEnd();

    // const char* ncclGetErrorString(ncclResult_t result) -- static string, never freed.
    [DllImport(Lib, EntryPoint = "ncclGetErrorString", ExactSpelling = true)]
    public static extern IntPtr GetErrorString(NcclResult result);

    // const char* ncclGetLastError(ncclComm_t comm) -- NCCL 2.13+; thread-local, comm may be NULL.
    [DllImport(Lib, EntryPoint = "ncclGetLastError", ExactSpelling = true)]
    public static extern IntPtr GetLastError(IntPtr comm);

    /// <summary>Throws <see cref="NcclException"/> unless <paramref name="result"/> is success.</summary>
    /// <param name="result">What the NCCL call returned.</param>
    /// <param name="function">The C function name, for the message.</param>
    /// <param name="comm">The communicator involved (NULL is fine: the last error is thread-local).</param>
    public static void Check(NcclResult result, string function, IntPtr comm = default)
    {
        if (result != NcclResult.Success)
        {
            throw NcclException.FromResult(function, result, ErrorString(result), LastError(comm));
        }
    }

    /// <summary>ncclGetErrorString, or null if even that is unavailable.</summary>
    public static string? ErrorString(NcclResult result)
    {
        try
        {
            return Marshal.PtrToStringUTF8(GetErrorString(result));
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
    }

    /// <summary>ncclGetLastError, or null when empty or when the library predates it (NCCL &lt; 2.13).</summary>
    public static string? LastError(IntPtr comm)
    {
        try
        {
            var text = Marshal.PtrToStringUTF8(GetLastError(comm));
            return string.IsNullOrWhiteSpace(text) ? null : text.Trim();
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
    }
}
