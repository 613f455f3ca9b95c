namespace MoLA.Torch;

/// <summary>
/// Deterministic release of the tensors created on this thread while the scope is the innermost
/// one (as TorchSharp's DisposeScope): a training step wrapped in a scope frees every intermediate
/// at its end, so memory stays flat without waiting for finalizers. Keep a result alive past the
/// scope with <see cref="Tensor.MoveToOuterScope"/> or <see cref="Tensor.DetachFromScope"/>.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? _current;

    private readonly List<Tensor> _tensors = [];
    private readonly DisposeScope? _outer;
    private bool _disposed;

    internal DisposeScope()
    {
        _outer = _current;
        _current = this;
    }

    internal static DisposeScope? Current => _current;
    internal DisposeScope? Outer => _outer;

    /// <summary>Number of tensors this scope would release now (for tests and diagnostics).</summary>
    public int Count
    {
        get
        {
            var n = 0;
            foreach (var t in _tensors) if (t.Scope == this && !t.IsDisposed) n++;
            return n;
        }
    }

    internal void Add(Tensor t) => _tensors.Add(t);

    /// <summary>
    /// Safety net for a scope that was never disposed. Safe: each tensor references its scope, so the
    /// scope is collected only when none of the tensors it still owns is reachable.
    /// </summary>
    ~DisposeScope()
    {
        foreach (var t in _tensors)
            if (t.Scope == this) t.Dispose();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        GC.SuppressFinalize(this);
        // Tensors moved elsewhere keep their new owner: only release those still ours.
        foreach (var t in _tensors)
            if (t.Scope == this) t.Dispose();
        _tensors.Clear();
        if (_current == this) _current = _outer;
    }
}
