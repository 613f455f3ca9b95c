using MoLA.Torch.Native;
using static MoLA.Torch.Native.NativeMethods;

namespace MoLA.Torch;

/// <summary>
/// Factories and free functions, named as in PyTorch (torch.zeros, torch.cat, torch.no_grad ...).
/// </summary>
public static class torch
{
    // ---- runtime ---------------------------------------------------------------------------

    public static string version => Text(mt_version());
    /// <summary>libtorch's build configuration (BLAS, LAPACK, CPU capability, CUDA).</summary>
    public static string build_config => Text(mt_build_config());
    public static string parallel_info => Text(mt_parallel_info());
    public static int get_num_threads() => mt_get_num_threads();
    public static void set_num_threads(int n)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "thread count must be at least 1");
        mt_set_num_threads(n);
    }
    public static void manual_seed(ulong seed) => mt_manual_seed(seed);

    public static class cuda
    {
        public static bool is_built => mt_has_cuda_build() != 0;
        public static bool is_available() => mt_cuda_is_available() != 0 && mt_cuda_device_count() > 0;
        public static int device_count() => mt_cuda_device_count();
        public static void synchronize(int device = 0) => Tensor.Check(mt_cuda_synchronize(device), "cuda.synchronize");
        /// <summary>
        /// The cudaStream_t libtorch is using on the device (for NCCL calls). IntPtr.Zero is a valid
        /// answer: it is CUDA's legacy default stream, libtorch's current stream unless one was set.
        /// </summary>
        public static IntPtr current_stream(int device = 0)
        {
            mt_clear_error();
            var s = mt_cuda_current_stream(device);
            if (s == IntPtr.Zero && LastError().Length > 0) throw Tensor.Fail("cuda.current_stream", null, null, null);
            return s;
        }
    }

    /// <summary>
    /// CUDA autocast (mixed precision) on this thread until disposed, like <c>torch.autocast("cuda", dtype)</c>:
    /// matmul-like ops of CUDA tensors run in <paramref name="dtype"/> (bfloat16 or float16), precision-sensitive
    /// ones stay float32. CPU tensors are unaffected. The previous state is restored on dispose, so regions nest.
    /// </summary>
    public static AutocastScope autocast(DType dtype = DType.BFloat16, bool enabled = true) => new(enabled, dtype);

    /// <summary>Whether CUDA autocast is on for this thread, and its dtype.</summary>
    public static (bool Enabled, DType DType) autocast_state()
    {
        Tensor.Check(mt_autocast_get(out var enabled, out var dtype), "autocast_state");
        return (enabled != 0, (DType)dtype);
    }

    public sealed class AutocastScope : IDisposable
    {
        private readonly bool _prevEnabled;
        private readonly DType _prevDType;
        private bool _disposed;

        internal AutocastScope(bool enabled, DType dtype)
        {
            (_prevEnabled, _prevDType) = autocast_state();
            Tensor.Check(mt_autocast_set(enabled ? 1 : 0, (int)dtype, 1), $"autocast({dtype})");
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            Tensor.Check(mt_autocast_set(_prevEnabled ? 1 : 0, (int)_prevDType, 0), "autocast exit");
        }
    }

    /// <summary>Opens a scope that releases every tensor created inside it when disposed.</summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Disables gradient recording on this thread until disposed (restores the previous mode).</summary>
    public static GradModeScope no_grad() => new(false);
    public static GradModeScope enable_grad() => new(true);
    public static bool is_grad_enabled() => mt_grad_enabled() != 0;

    public readonly struct GradModeScope : IDisposable
    {
        private readonly bool _previous;
        internal GradModeScope(bool enabled)
        {
            _previous = mt_grad_enabled() != 0;
            mt_set_grad_enabled(enabled ? 1 : 0);
        }
        public void Dispose() => mt_set_grad_enabled(_previous ? 1 : 0);
    }

    // ---- factories ---------------------------------------------------------------------------

    private static unsafe Tensor New(FillKind kind, ReadOnlySpan<long> shape, double value, DType dtype, Device? device, string name)
    {
        var d = device ?? Device.CPU;
        fixed (long* p = shape)
            return Tensor.Wrap(mt_new(kind, p, shape.Length, value, (int)dtype, (int)d.Type, d.Index), name);
    }

    public static Tensor empty(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null) =>
        New(FillKind.Empty, shape, 0, dtype, device, "empty");
    public static Tensor zeros(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null) =>
        New(FillKind.Zeros, shape, 0, dtype, device, "zeros");
    public static Tensor ones(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null) =>
        New(FillKind.Ones, shape, 0, dtype, device, "ones");
    public static Tensor full(ReadOnlySpan<long> shape, double value, DType dtype = DType.Float32, Device? device = null) =>
        New(FillKind.Full, shape, value, dtype, device, "full");
    public static Tensor rand(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null) =>
        New(FillKind.Rand, shape, 0, dtype, device, "rand");
    public static Tensor randn(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null) =>
        New(FillKind.Randn, shape, 0, dtype, device, "randn");

    public static unsafe Tensor randint(long low, long high, ReadOnlySpan<long> shape, Device? device = null)
    {
        var d = device ?? Device.CPU;
        fixed (long* p = shape)
            return Tensor.Wrap(mt_randint(low, high, p, shape.Length, (int)d.Type, d.Index), "randint");
    }

    public static Tensor arange(double start, double end, double step = 1, DType dtype = DType.Int64, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(mt_arange(start, end, step, (int)dtype, (int)d.Type, d.Index), "arange");
    }

    public static Tensor arange(long end, DType dtype = DType.Int64) => arange(0, end, 1, dtype);

    /// <summary>A CPU tensor holding a copy of <paramref name="data"/>; shape defaults to 1-D.</summary>
    public static unsafe Tensor tensor<T>(T[] data, params ReadOnlySpan<long> shape) where T : unmanaged
    {
        ReadOnlySpan<long> s = shape.Length == 0 ? [data.LongLength] : shape;
        long n = 1;
        foreach (var d in s)
        {
            if (d < 0) throw new ArgumentException($"tensor: negative dimension {d} in shape [{string.Join(", ", s.ToArray())}]", nameof(shape));
            n *= d;
        }
        if (n != data.LongLength)
            throw new ArgumentException($"tensor: shape [{string.Join(", ", s.ToArray())}] holds {n} elements but the data has {data.LongLength}", nameof(shape));
        fixed (T* p = data)
        fixed (long* sp = s)
            return Tensor.Wrap(mt_from_data(p, sp, s.Length, (int)DTypeExtensions.Of<T>()), "tensor");
    }

    public static Tensor scalar_tensor(double value, DType dtype = DType.Float32) => full([], value, dtype);

    /// <summary>A CPU tensor from raw little-endian element bytes (e.g. a safetensors entry).</summary>
    public static unsafe Tensor from_bytes(ReadOnlySpan<byte> data, DType dtype, ReadOnlySpan<long> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n * dtype.ElementSize() != data.Length)
            throw new ArgumentException($"from_bytes: shape [{string.Join(", ", shape.ToArray())}] of {dtype} needs {n * dtype.ElementSize()} bytes, got {data.Length}", nameof(data));
        fixed (byte* p = data)
        fixed (long* sp = shape)
            return Tensor.Wrap(mt_from_data(p, sp, shape.Length, (int)dtype), "from_bytes");
    }

    // ---- free functions ------------------------------------------------------------------

    public static Tensor cat(IReadOnlyList<Tensor> tensors, long dim = 0) => Combine(tensors, dim, stack: false);
    public static Tensor stack(IReadOnlyList<Tensor> tensors, long dim = 0) => Combine(tensors, dim, stack: true);

    private static unsafe Tensor Combine(IReadOnlyList<Tensor> tensors, long dim, bool stack)
    {
        var n = tensors.Count;
        Span<IntPtr> handles = n <= 16 ? stackalloc IntPtr[n] : new IntPtr[n];
        for (var i = 0; i < n; i++) handles[i] = tensors[i].Handle;
        fixed (IntPtr* p = handles)
        {
            var h = mt_cat(p, n, dim, stack ? 1 : 0);
            if (h != IntPtr.Zero) return new Tensor(h);
        }
        var shapes = string.Join(", ", tensors.Select(t => "[" + string.Join(", ", t.Shape) + "]"));
        throw Tensor.Fail(stack ? "stack" : "cat", $"dim {dim}; {shapes}");
    }

    public static Tensor where(Tensor condition, Tensor a, Tensor b) =>
        Tensor.Wrap(mt_where(condition.Handle, a.Handle, b.Handle), "where", condition, a, b);

    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);

    public static class linalg
    {
        public static Tensor svdvals(Tensor a) => Tensor.Wrap(mt_svdvals(a.Handle), "linalg.svdvals", a);
        /// <summary>Eigenvalues of a symmetric matrix, ascending.</summary>
        public static Tensor eigvalsh(Tensor a) => Tensor.Wrap(mt_eigvalsh(a.Handle), "linalg.eigvalsh", a);
        public static unsafe (Tensor Q, Tensor R) qr(Tensor a)
        {
            IntPtr q, r;
            Tensor.Check(mt_qr(a.Handle, &q, &r), "linalg.qr", a);
            return (new Tensor(q), new Tensor(r));
        }
    }
}
