using System.Runtime.CompilerServices;
using MoLA.Torch.Native;
using static MoLA.Torch.Native.NativeMethods;

namespace MoLA.Torch;

/// <summary>
/// A libtorch tensor. Owns one native handle, released by <see cref="Dispose"/>, by the
/// <see cref="DisposeScope"/> it was created in, or (as a last resort) by a finalizer.
/// Operations are thin: one P/Invoke and one small object per call.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private IntPtr _handle;
    private long[]? _shape;
    internal DisposeScope? Scope;

    // Only tensors that no scope owns get a finalizable releaser: allocating a finalizable object
    // costs several times a plain one, and a scope always releases its own tensors (DisposeScope
    // has the finalizer for scopes that were never disposed).
    private Releaser? _releaser;

    private sealed class Releaser(IntPtr handle)
    {
        internal IntPtr Handle = handle;
        ~Releaser()
        {
            if (Handle != IntPtr.Zero) mt_free(Handle);
        }
    }

    internal Tensor(IntPtr handle)
    {
        _handle = handle;
        var scope = DisposeScope.Current;
        if (scope is not null)
        {
            Scope = scope;
            scope.Add(this);
        }
        else
        {
            _releaser = new Releaser(handle);
        }
    }

    private void EnsureReleaser()
    {
        if (_releaser is null && _handle != IntPtr.Zero) _releaser = new Releaser(_handle);
    }

    internal IntPtr Handle
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(Tensor), "tensor used after Dispose()");
    }

    public bool IsDisposed => _handle == IntPtr.Zero;

    public void Dispose()
    {
        var h = _handle;
        if (h == IntPtr.Zero) return;
        _handle = IntPtr.Zero;
        if (_releaser is { } r)
        {
            r.Handle = IntPtr.Zero;
            GC.SuppressFinalize(r);
            _releaser = null;
        }
        mt_free(h);
    }

    /// <summary>Hands this tensor to the enclosing scope (or to nobody at top level).</summary>
    public Tensor MoveToOuterScope()
    {
        var outer = Scope?.Outer;
        Scope = outer;
        if (outer is null) EnsureReleaser();
        else outer.Add(this);
        return this;
    }

    /// <summary>Takes this tensor out of every scope: the caller owns it (parameters, caches).</summary>
    public Tensor DetachFromScope()
    {
        Scope = null;
        EnsureReleaser();
        return this;
    }

    // ---- properties ---------------------------------------------------------------------

    public unsafe long[] Shape
    {
        get
        {
            if (_shape is not null) return _shape;
            var h = Handle;
            var n = mt_ndim(h);
            var s = new long[n];
            fixed (long* p = s) mt_shape(h, p, n);
            return _shape = s;
        }
    }

    public int Dim => Shape.Length;
    public long NumEl => mt_numel(Handle);
    public DType DType => (DType)mt_dtype(Handle);
    public bool IsContiguous => mt_is_contiguous(Handle) != 0;

    /// <summary>
    /// Address of the first element (storage offset included), as PyTorch's <c>data_ptr()</c>: a host
    /// pointer for CPU tensors, a device pointer for CUDA ones (for NCCL). Valid while the tensor lives
    /// and is not resized; IntPtr.Zero for a tensor without storage (no elements).
    /// </summary>
    public IntPtr data_ptr()
    {
        var h = Handle;
        mt_clear_error();
        var p = mt_data_ptr(h);
        if (p == IntPtr.Zero && LastError().Length > 0) throw Fail("data_ptr", this, null, null);
        return p;
    }

    public long size(int dim) => Shape[dim < 0 ? dim + Dim : dim];

    public unsafe Device Device
    {
        get
        {
            int type, index;
            mt_device(Handle, &type, &index);
            return new Device((DeviceType)type, index);
        }
    }

    public bool RequiresGrad
    {
        get => mt_requires_grad(Handle) != 0;
        set => Check(mt_set_requires_grad(Handle, value ? 1 : 0), "requires_grad_", this);
    }

    public Tensor requires_grad_(bool value = true)
    {
        RequiresGrad = value;
        return this;
    }

    /// <summary>The accumulated gradient (a new handle sharing its storage), or null.</summary>
    public Tensor? grad
    {
        get
        {
            var h = mt_grad(Handle);
            return h == IntPtr.Zero ? ThrowIfError("grad", this) : new Tensor(h);
        }
        set => Check(mt_set_grad(Handle, value?.Handle ?? IntPtr.Zero), "set_grad", this);
    }

    public void backward(Tensor? gradient = null, bool retainGraph = false) =>
        Check(mt_backward(Handle, gradient?.Handle ?? IntPtr.Zero, retainGraph ? 1 : 0), "backward", this);

    /// <summary>Replaces this tensor's data with <paramref name="source"/>'s, keeping the handle (PyTorch's <c>p.data = x</c>).</summary>
    public void set_data(Tensor source)
    {
        Check(mt_set_data(Handle, source.Handle), "set_data", this, source);
        _shape = null;
    }

    public Tensor detach() => Wrap(mt_detach(Handle), "detach", this);

    public Tensor detach_()
    {
        Check(mt_detach_(Handle), "detach_", this);
        return this;
    }

    // ---- data in and out ----------------------------------------------------------------

    /// <summary>Copies the elements out (to host, contiguous). T must match the dtype.</summary>
    public unsafe T[] ToArray<T>() where T : unmanaged
    {
        var want = DTypeExtensions.Of<T>();
        if (want != DType)
            throw new TorchException($"ToArray<{typeof(T).Name}>: tensor {Describe(this)} has dtype {DType}, not {want}; convert with .to({want}) first");
        var result = new T[NumEl];
        fixed (T* p = result) Check(mt_copy_to(Handle, p, (long)result.Length * sizeof(T)), "copy_to", this);
        return result;
    }

    /// <summary>Copies the raw element bytes out (to host, contiguous).</summary>
    public unsafe byte[] ToBytes()
    {
        var result = new byte[NumEl * DType.ElementSize()];
        fixed (byte* p = result) Check(mt_copy_to(Handle, p, result.Length), "copy_to", this);
        return result;
    }

    /// <summary>Copies raw element bytes out into a caller's buffer (length must be exact).</summary>
    public unsafe void CopyTo(Span<byte> destination)
    {
        fixed (byte* p = destination) Check(mt_copy_to(Handle, p, destination.Length), "copy_to", this);
    }

    public unsafe double item()
    {
        double v;
        Check(mt_item(Handle, &v), "item", this);
        return v;
    }

    public float ToSingle() => (float)item();
    public double ToDouble() => item();
    public long ToInt64() => (long)item();

    public Tensor to(DType dtype) => Wrap(mt_to(Handle, (int)dtype, -1, -1, 0), "to", this);
    public Tensor to(Device device) => Wrap(mt_to(Handle, -1, (int)device.Type, device.Index, 0), "to", this);
    public Tensor to(DType dtype, Device device) => Wrap(mt_to(Handle, (int)dtype, (int)device.Type, device.Index, 0), "to", this);
    public Tensor cpu() => to(Device.CPU);
    public Tensor cuda(int index = 0) => to(Device.CUDA(index));

    public override string ToString() => IsDisposed ? "Tensor(disposed)" : $"Tensor({Describe(this)})";

    // ---- error plumbing (kept off the hot path) -------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Tensor Wrap(IntPtr h, string op, Tensor? a = null, Tensor? b = null, Tensor? c = null) =>
        h != IntPtr.Zero ? new Tensor(h) : throw Fail(op, a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(int rc, string op, Tensor? a = null, Tensor? b = null, Tensor? c = null)
    {
        if (rc < 0) throw Fail(op, a, b, c);
    }

    private static Tensor? ThrowIfError(string op, Tensor a)
    {
        var msg = LastError();
        if (msg.Length == 0) return null;
        throw Fail(op, a, null, null);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static TorchException Fail(string op, Tensor? a, Tensor? b, Tensor? c) =>
        Fail(op, string.Join(", ", new[] { a, b, c }.Where(t => t is not null).Select(t => Describe(t!))));

    /// <summary>Turns the native error of the failed call into "op(inputs) failed: message".</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static TorchException Fail(string op, string inputs)
    {
        var native = LastError();
        mt_clear_error();
        // The native text starts with its dispatcher's name ("binary: ..."); ours is more precise.
        var colon = native.IndexOf(": ", StringComparison.Ordinal);
        if (colon > 0 && colon < 24) native = native[(colon + 2)..];
        return new TorchException($"{op}({inputs}) failed: {native.Trim()}");
    }

    internal static string Describe(Tensor t)
    {
        if (t.IsDisposed) return "disposed tensor";
        return $"[{string.Join(", ", t.Shape)}] {t.DType} {t.Device}";
    }
}
