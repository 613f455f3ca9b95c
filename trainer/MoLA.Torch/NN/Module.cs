namespace MoLA.Torch.NN;

/// <summary>
/// Base of all layers, as torch.nn.Module: named parameters, buffers and submodules, state
/// dicts, train/eval mode. Parameters are owned by the module (outside any dispose scope) and
/// released by <see cref="Dispose"/>.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<KeyValuePair<string, Tensor>> _parameters = [];
    private readonly List<KeyValuePair<string, Tensor>> _buffers = [];
    private readonly List<KeyValuePair<string, Module>> _modules = [];

    public bool training { get; private set; } = true;

    protected Tensor RegisterParameter(string name, Tensor value, bool requiresGrad = true)
    {
        CheckName(name);
        value.DetachFromScope();
        if (value.RequiresGrad != requiresGrad) value.RequiresGrad = requiresGrad;
        _parameters.Add(new(name, value));
        return value;
    }

    protected Tensor RegisterBuffer(string name, Tensor value)
    {
        CheckName(name);
        _buffers.Add(new(name, value.DetachFromScope()));
        return value;
    }

    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        _modules.Add(new(name, module));
        return module;
    }

    /// <summary>
    /// Swaps the child registered as <paramref name="name"/> (PyTorch's <c>setattr(parent, name, m)</c>):
    /// parameter names, train/eval mode and disposal follow the new module, which is returned. The
    /// old child is no longer owned by this module (an adapter usually keeps it as its frozen base).
    /// </summary>
    protected T ReplaceModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this))
            throw new ArgumentException($"{GetType().Name}.{name}: a module cannot be its own child", nameof(module));
        var i = _modules.FindIndex(m => m.Key == name);
        if (i < 0) throw new ArgumentException($"{GetType().Name}: no child module '{name}'", nameof(name));
        _modules[i] = new(name, module);
        module.train(training);
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{GetType().Name}: invalid member name '{name}' (non-empty, no dots)", nameof(name));
        if (_parameters.Any(p => p.Key == name) || _buffers.Any(b => b.Key == name) || _modules.Any(m => m.Key == name))
            throw new ArgumentException($"{GetType().Name}: member '{name}' is already registered", nameof(name));
    }

    public IEnumerable<(string Name, Tensor Parameter)> named_parameters(bool recurse = true)
    {
        foreach (var (name, p) in _parameters) yield return (name, p);
        if (!recurse) yield break;
        foreach (var (prefix, m) in _modules)
            foreach (var (name, p) in m.named_parameters()) yield return ($"{prefix}.{name}", p);
    }

    public IEnumerable<Tensor> parameters(bool recurse = true) => named_parameters(recurse).Select(p => p.Parameter);

    /// <summary>Parameters that require gradients (what an optimizer updates).</summary>
    public IEnumerable<Tensor> trainable_parameters() => parameters().Where(p => p.RequiresGrad);

    public IEnumerable<(string Name, Tensor Buffer)> named_buffers()
    {
        foreach (var (name, b) in _buffers) yield return (name, b);
        foreach (var (prefix, m) in _modules)
            foreach (var (name, b) in m.named_buffers()) yield return ($"{prefix}.{name}", b);
    }

    public IEnumerable<(string Name, Module Module)> named_children() => _modules.Select(m => (m.Key, m.Value));

    /// <summary>Parameters and buffers by dotted name; the tensors are the module's own (not copies).</summary>
    public IReadOnlyDictionary<string, Tensor> state_dict()
    {
        var d = new Dictionary<string, Tensor>();
        foreach (var (n, p) in named_parameters()) d[n] = p;
        foreach (var (n, b) in named_buffers()) d[n] = b;
        return d;
    }

    /// <summary>
    /// Copies values into the module's tensors. Validates every name, shape and (strict) the
    /// absence of missing or unexpected entries before copying anything, so a bad dict leaves
    /// the module untouched.
    /// </summary>
    public void load_state_dict(IReadOnlyDictionary<string, Tensor> source, bool strict = true)
    {
        var own = state_dict();
        var errors = new List<string>();
        foreach (var (name, target) in own)
        {
            if (!source.TryGetValue(name, out var value))
            {
                if (strict) errors.Add($"missing tensor '{name}'");
                continue;
            }
            if (!value.Shape.SequenceEqual(target.Shape))
                errors.Add($"tensor '{name}' has shape [{string.Join(", ", value.Shape)}], the module expects [{string.Join(", ", target.Shape)}]");
        }
        if (strict)
            foreach (var name in source.Keys.Where(k => !own.ContainsKey(k)).Order(StringComparer.Ordinal))
                errors.Add($"unexpected tensor '{name}'");
        if (errors.Count > 0)
            throw new ArgumentException($"load_state_dict into {GetType().Name}: " + string.Join("; ", errors));
        using var _ = torch.no_grad();
        foreach (var (name, target) in own)
            if (source.TryGetValue(name, out var value)) target.copy_(value);
    }

    public Module train(bool on = true)
    {
        training = on;
        foreach (var (_, m) in _modules) m.train(on);
        return this;
    }

    public Module eval() => train(false);

    public void zero_grad()
    {
        foreach (var p in parameters()) p.grad = null;
    }

    /// <summary>Converts parameters and buffers in place (handles stay valid, like PyTorch's _apply).</summary>
    public Module to(DType dtype) => Apply(t => t.DType.IsFloatingPoint() ? t.to(dtype) : null);
    public Module to(Device device) => Apply(t => t.to(device));

    private Module Apply(Func<Tensor, Tensor?> convert)
    {
        using var _ = torch.no_grad();
        foreach (var t in parameters().Concat(named_buffers().Select(b => b.Buffer)))
        {
            using var converted = convert(t);
            if (converted is not null) t.set_data(converted);
        }
        return this;
    }

    public long parameter_count(bool trainableOnly = false) =>
        parameters().Where(p => !trainableOnly || p.RequiresGrad).Sum(p => p.NumEl);

    public virtual void Dispose()
    {
        foreach (var (_, p) in _parameters) p.Dispose();
        foreach (var (_, b) in _buffers) b.Dispose();
        foreach (var (_, m) in _modules) m.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A module with one input and one output, called as <c>m.call(x)</c> or <c>m.forward(x)</c>.</summary>
public abstract class Module<TIn, TOut> : Module
{
    public abstract TOut forward(TIn input);
    public TOut call(TIn input) => forward(input);
}
