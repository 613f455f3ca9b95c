using System.Runtime.InteropServices;

namespace NcclSharp;

/// <summary>A CUDA runtime call failed, or libcudart could not be loaded.</summary>
public sealed class CudaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CudaException(string message)
        : base(message)
    {
    }

    /// <summary>The cudaError_t value (0 when the library itself is missing).</summary>
    public int Error { get; init; }
}

/// <summary>
/// The few CUDA runtime calls needed to exercise NCCL without libtorch: pick a device, allocate
/// and copy device buffers, make and synchronise a stream.
/// </summary>
/// <remarks>
/// Meant for tests and diagnostics on GPU machines; the trainer itself gets device pointers and
/// streams from libtorch. libcudart is found through CUDART_LIBRARY (full path), then the sonames
/// libcudart.so.13, libcudart.so.12 and libcudart.so. Device pointers and streams are driver-level
/// objects, so they work with NCCL even if NCCL carries its own statically linked runtime.
/// </remarks>
public static class CudaRuntime
{
    // cudaMemcpyKind
    private const int MemcpyHostToDevice = 1;
    private const int MemcpyDeviceToHost = 2;

    // cudaErrorNotReady: cudaStreamQuery's "still running".
    private const int ErrorNotReady = 600;

    /// <summary>
    /// Number of CUDA devices visible here; 0 (never an exception) when libcudart is missing, no
    /// driver is installed or no GPU is present.
    /// </summary>
    public static int DeviceCount() => TryGetDeviceCount(out var count, out _) ? count : 0;

    /// <summary>Like <see cref="DeviceCount"/>, but says why the count could not be obtained.</summary>
    /// <param name="count">The device count, 0 on failure.</param>
    /// <param name="failure">Why libcudart or cudaGetDeviceCount failed; null on success.</param>
    /// <returns>True if cudaGetDeviceCount succeeded (the count may still be 0).</returns>
    public static bool TryGetDeviceCount(out int count, out string? failure)
    {
        count = 0;
        try
        {
            var probe = NativeLibraries.Cudart;
            if (!probe.IsLoaded)
            {
                failure = $"libcudart not found ({probe.Failure})";
                return false;
            }

            var error = Native.cudaGetDeviceCount(out var n);
            if (error != 0)
            {
                // No driver or no device (cudaErrorNoDevice, cudaErrorInsufficientDriver, ...).
                failure = $"cudaGetDeviceCount failed: {Describe(error)}";
                return false;
            }

            count = n;
            failure = null;
            return true;
        }
        catch (Exception ex)
        {
            failure = $"{ex.GetType().Name}: {ex.Message}";
            return false;
        }
    }

    /// <summary>cudaSetDevice: makes <paramref name="device"/> current on the calling thread.</summary>
    public static void SetDevice(int device)
    {
        EnsureLoaded();
        Check(Native.cudaSetDevice(device), "cudaSetDevice");
    }

    /// <summary>cudaDeviceSynchronize: waits for all work on the current device.</summary>
    public static void DeviceSynchronize()
    {
        EnsureLoaded();
        Check(Native.cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    }

    /// <summary>cudaMalloc of <paramref name="bytes"/> bytes on the current device.</summary>
    public static IntPtr Malloc(ulong bytes)
    {
        EnsureLoaded();
        Check(Native.cudaMalloc(out var ptr, checked((nuint)bytes)), "cudaMalloc");
        return ptr;
    }

    /// <summary>cudaFree; IntPtr.Zero is a no-op, as in CUDA.</summary>
    public static void Free(IntPtr devicePtr)
    {
        EnsureLoaded();
        Check(Native.cudaFree(devicePtr), "cudaFree");
    }

    /// <summary>Allocates a device buffer holding a copy of <paramref name="source"/>.</summary>
    public static IntPtr Upload<T>(ReadOnlySpan<T> source)
        where T : unmanaged
    {
        var ptr = Malloc((ulong)MemoryMarshal.AsBytes(source).Length);
        try
        {
            CopyToDevice(source, ptr);
            return ptr;
        }
        catch
        {
            Native.cudaFree(ptr);
            throw;
        }
    }

    /// <summary>cudaMemcpy host to device (synchronous with respect to the host).</summary>
    public static unsafe void CopyToDevice<T>(ReadOnlySpan<T> source, IntPtr destination)
        where T : unmanaged
    {
        EnsureLoaded();
        var bytes = MemoryMarshal.AsBytes(source);
        fixed (byte* src = bytes)
        {
            Check(Native.cudaMemcpy(destination, (IntPtr)src, (nuint)bytes.Length, MemcpyHostToDevice), "cudaMemcpy(HostToDevice)");
        }
    }

    /// <summary>cudaMemcpy device to host; fills all of <paramref name="destination"/>.</summary>
    public static unsafe void CopyToHost<T>(IntPtr source, Span<T> destination)
        where T : unmanaged
    {
        EnsureLoaded();
        var bytes = MemoryMarshal.AsBytes(destination);
        fixed (byte* dst = bytes)
        {
            Check(Native.cudaMemcpy((IntPtr)dst, source, (nuint)bytes.Length, MemcpyDeviceToHost), "cudaMemcpy(DeviceToHost)");
        }
    }

    /// <summary>cudaStreamCreate on the current device.</summary>
    public static IntPtr StreamCreate()
    {
        EnsureLoaded();
        Check(Native.cudaStreamCreate(out var stream), "cudaStreamCreate");
        return stream;
    }

    /// <summary>cudaStreamSynchronize: waits until everything queued on the stream (e.g. NCCL calls) is done.</summary>
    public static void StreamSynchronize(IntPtr stream)
    {
        EnsureLoaded();
        Check(Native.cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    }

    /// <summary>
    /// cudaStreamQuery: true when everything queued on <paramref name="stream"/> has finished, false
    /// while work is pending (cudaErrorNotReady). Lets a caller wait with its own timeout, polling
    /// for NCCL's asynchronous errors in between, instead of blocking in cudaStreamSynchronize.
    /// </summary>
    public static bool StreamQuery(IntPtr stream)
    {
        EnsureLoaded();
        var error = Native.cudaStreamQuery(stream);
        if (error == ErrorNotReady)
        {
            return false;
        }

        Check(error, "cudaStreamQuery");
        return true;
    }

    /// <summary>cudaGetDevice: the device current on the calling thread.</summary>
    public static int GetDevice()
    {
        EnsureLoaded();
        Check(Native.cudaGetDevice(out var device), "cudaGetDevice");
        return device;
    }

    /// <summary>cudaStreamDestroy.</summary>
    public static void StreamDestroy(IntPtr stream)
    {
        EnsureLoaded();
        Check(Native.cudaStreamDestroy(stream), "cudaStreamDestroy");
    }

    /// <summary>
    /// Registers the resolver and loads libcudart before a call binds, so a missing library is an
    /// explanatory <see cref="CudaException"/> rather than a bare DllNotFoundException.
    /// </summary>
    private static void EnsureLoaded()
    {
        var probe = NativeLibraries.Cudart;
        if (!probe.IsLoaded)
        {
            throw new CudaException($"libcudart not found ({probe.Failure}); CUDA calls need a GPU machine with the CUDA runtime.");
        }
    }

    private static void Check(int error, string function)
    {
        if (error != 0)
        {
            throw new CudaException($"{function} failed: {Describe(error)}") { Error = error };
        }
    }

    private static string Describe(int error)
    {
        try
        {
            var name = Marshal.PtrToStringUTF8(Native.cudaGetErrorName(error));
            var text = Marshal.PtrToStringUTF8(Native.cudaGetErrorString(error));
            return $"{name} ({error}): {text}";
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return $"cudaError_t {error}";
        }
    }

    /// <summary>Raw cudart entry points; cudaError_t is a C enum, i.e. an int.</summary>
    private static class Native
    {
        private const string Lib = NativeLibraries.CudartImportName;

        [DllImport(Lib, ExactSpelling = true)]
        public static extern int cudaGetDeviceCount(out int count);

        [DllImport(Lib, ExactSpelling = true)]
        public static extern int cudaSetDevice(int device);

        [DllImport(Lib, ExactSpelling = true)]
        public static extern int cudaDeviceSynchronize();

        [DllImport(Lib, ExactSpelling = true)]
        public static extern int cudaMalloc(out IntPtr devPtr, nuint size);

        [DllImport(Lib, ExactSpelling = true)]
        public static extern int cudaFree(IntPtr devPtr);

        // cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind)
        [DllImport(Lib, ExactSpelling = true)]
        public static extern int cudaMemcpy(IntPtr dst, IntPtr src, nuint count, int kind);

        [DllImport(Lib, ExactSpelling = true)]
        public static extern int cudaStreamCreate(out IntPtr stream);

        [DllImport(Lib, ExactSpelling = true)]
        public static extern int cudaStreamSynchronize(IntPtr stream);

        [DllImport(Lib, ExactSpelling = true)]
        public static extern int cudaStreamDestroy(IntPtr stream);

        [DllImport(Lib, ExactSpelling = true)]
        public static extern int cudaStreamQuery(IntPtr stream);

        [DllImport(Lib, ExactSpelling = true)]
        public static extern int cudaGetDevice(out int device);

        [DllImport(Lib, ExactSpelling = true)]
        public static extern IntPtr cudaGetErrorName(int error);

        [DllImport(Lib, ExactSpelling = true)]
        public static extern IntPtr cudaGetErrorString(int error);
    }
}
