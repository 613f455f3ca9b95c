namespace NcclSharp;

// The numeric values below are part of NCCL's ABI (nccl.h, NCCL 2.x): they are passed to and
// returned from libnccl.so.2 as C ints, so they must never be renumbered.

/// <summary><c>ncclResult_t</c>: the status every NCCL call returns.</summary>
public enum NcclResult
{
    /// <summary><c>ncclSuccess</c>.</summary>
    Success = 0,

    /// <summary><c>ncclUnhandledCudaError</c>: a CUDA call inside NCCL failed.</summary>
    UnhandledCudaError = 1,

    /// <summary><c>ncclSystemError</c>: a system call (socket, memory, ...) failed.</summary>
    SystemError = 2,

    /// <summary><c>ncclInternalError</c>: an NCCL bug or corrupted state.</summary>
    InternalError = 3,

    /// <summary><c>ncclInvalidArgument</c>: a bad pointer, count, type, op, root or peer.</summary>
    InvalidArgument = 4,

    /// <summary><c>ncclInvalidUsage</c>: a misuse of the API (e.g. two ranks on one GPU).</summary>
    InvalidUsage = 5,

    /// <summary><c>ncclRemoteError</c>: a peer or the network failed (NCCL 2.12+).</summary>
    RemoteError = 6,

    /// <summary><c>ncclInProgress</c>: a non-blocking operation has not finished yet (NCCL 2.14+).</summary>
    InProgress = 7,

    /// <summary><c>ncclTimeout</c>: an operation timed out (recent NCCL versions only).</summary>
    Timeout = 8,
}

/// <summary><c>ncclRedOp_t</c>: the built-in reduction operators.</summary>
public enum NcclRedOp
{
    /// <summary><c>ncclSum</c>.</summary>
    Sum = 0,

    /// <summary><c>ncclProd</c>.</summary>
    Prod = 1,

    /// <summary><c>ncclMax</c>.</summary>
    Max = 2,

    /// <summary><c>ncclMin</c>.</summary>
    Min = 3,

    /// <summary><c>ncclAvg</c>: sum divided by the number of ranks (NCCL 2.10+).</summary>
    Avg = 4,
}

/// <summary><c>ncclDataType_t</c>: the element type of the buffers a call reads and writes.</summary>
public enum NcclDataType
{
    /// <summary><c>ncclInt8</c> (also <c>ncclChar</c>).</summary>
    Int8 = 0,

    /// <summary><c>ncclUint8</c>.</summary>
    Uint8 = 1,

    /// <summary><c>ncclInt32</c> (also <c>ncclInt</c>).</summary>
    Int32 = 2,

    /// <summary><c>ncclUint32</c>.</summary>
    Uint32 = 3,

    /// <summary><c>ncclInt64</c>.</summary>
    Int64 = 4,

    /// <summary><c>ncclUint64</c>.</summary>
    Uint64 = 5,

    /// <summary><c>ncclFloat16</c> (also <c>ncclHalf</c>).</summary>
    Float16 = 6,

    /// <summary><c>ncclFloat32</c> (also <c>ncclFloat</c>).</summary>
    Float32 = 7,

    /// <summary><c>ncclFloat64</c> (also <c>ncclDouble</c>).</summary>
    Float64 = 8,

    /// <summary><c>ncclBfloat16</c> (NCCL built against CUDA 11+).</summary>
    BFloat16 = 9,
}

/// <summary>Helpers for the NCCL enums.</summary>
public static class NcclEnumExtensions
{
    /// <summary>The C name of a result code as nccl.h spells it, e.g. <c>ncclInvalidArgument</c>.</summary>
    public static string ToNcclName(this NcclResult result) => result switch
    {
        NcclResult.Success => "ncclSuccess",
        NcclResult.UnhandledCudaError => "ncclUnhandledCudaError",
        NcclResult.SystemError => "ncclSystemError",
        NcclResult.InternalError => "ncclInternalError",
        NcclResult.InvalidArgument => "ncclInvalidArgument",
        NcclResult.InvalidUsage => "ncclInvalidUsage",
        NcclResult.RemoteError => "ncclRemoteError",
        NcclResult.InProgress => "ncclInProgress",
        NcclResult.Timeout => "ncclTimeout",
        _ => $"ncclResult_t({(int)result})",
    };

    /// <summary>Size in bytes of one element, for turning a tensor's byte size into an NCCL count.</summary>
    public static int ElementSize(this NcclDataType type) => type switch
    {
        NcclDataType.Int8 or NcclDataType.Uint8 => 1,
        NcclDataType.Float16 or NcclDataType.BFloat16 => 2,
        NcclDataType.Int32 or NcclDataType.Uint32 or NcclDataType.Float32 => 4,
        NcclDataType.Int64 or NcclDataType.Uint64 or NcclDataType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an NCCL data type"),
    };
}
