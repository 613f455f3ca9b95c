namespace NcclSharp;

/// <summary>
/// An NCCL call returned something other than <c>ncclSuccess</c>, or libnccl.so.2 could not be
/// loaded. The message always says which function failed and why, because NCCL failures in a
/// distributed job are otherwise only visible as a hang or a bare error number.
/// </summary>
public sealed class NcclException : Exception
{
    /// <summary>Creates an exception with a message only (used for "library not found").</summary>
    public NcclException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the underlying cause.</summary>
    public NcclException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    private NcclException(string message, string function, NcclResult result)
        : base(message)
    {
        Function = function;
        Result = result;
    }

    /// <summary>The NCCL C function that failed, e.g. <c>ncclAllReduce</c>; null when the library is missing.</summary>
    public string? Function { get; }

    /// <summary>The ncclResult_t it returned; null when the library is missing.</summary>
    public NcclResult? Result { get; }

    /// <summary>Builds the exception for a failed call from NCCL's own texts.</summary>
    /// <param name="function">C function name.</param>
    /// <param name="result">Returned code.</param>
    /// <param name="errorString">ncclGetErrorString(result), if known.</param>
    /// <param name="lastError">ncclGetLastError(comm), if any: NCCL's detailed reason.</param>
    internal static NcclException FromResult(string function, NcclResult result, string? errorString, string? lastError)
    {
        var message = $"{function} failed: {result.ToNcclName()} ({(int)result})";
        if (!string.IsNullOrWhiteSpace(errorString))
        {
            message += $": {errorString}";
        }

        if (!string.IsNullOrWhiteSpace(lastError))
        {
            message += $". NCCL last error: {lastError}";
        }

        return new NcclException(message, function, result);
    }
}
