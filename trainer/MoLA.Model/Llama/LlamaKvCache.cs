using MoLA.Torch;

namespace MoLA.Model.Llama;

/// <summary>
/// Keys and values of the positions a model has already seen, per layer ([B, KV heads, T, hd],
/// after RoPE, before the GQA repeat), for incremental decoding with
/// <see cref="LlamaModel.forward(Tensor, LlamaKvCache, long, Tensor?)"/>. Each layer keeps a buffer
/// with spare positions ([B, KV, capacity, hd]: the first chunk plus at least 64, doubled when full), so a decoding step
/// copies only its own keys and values instead of re-concatenating the whole cache (which cost
/// O(T) memory traffic and a fresh allocation per step and layer). The cache owns its tensors:
/// dispose it (or <see cref="Reset"/>) to free them; they are outside every dispose scope.
/// </summary>
public sealed class LlamaKvCache : IDisposable
{
    private const long Headroom = 64;

    private readonly Tensor?[] _keyBuffers, _valueBuffers; // [B, KV, capacity, hd]
    private readonly Tensor?[] _keys, _values;             // views of the held positions [B, KV, held, hd]
    private readonly long[] _held;

    public LlamaKvCache(int numLayers)
    {
        if (numLayers <= 0) throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, "must be positive");
        _keyBuffers = new Tensor?[numLayers];
        _valueBuffers = new Tensor?[numLayers];
        _keys = new Tensor?[numLayers];
        _values = new Tensor?[numLayers];
        _held = new long[numLayers];
    }

    public int NumLayers => _keys.Length;

    /// <summary>Positions held (the next forward's startPos).</summary>
    public long Length { get; private set; }

    /// <summary>Layer <paramref name="layer"/>'s keys [B, KV, Length, hd] (a view owned by the cache), or null when empty.</summary>
    public Tensor? Keys(int layer) => _keys[layer];

    /// <summary>Layer <paramref name="layer"/>'s values [B, KV, Length, hd] (a view owned by the cache), or null when empty.</summary>
    public Tensor? Values(int layer) => _values[layer];

    /// <summary>Appends one step's keys and values for a layer and returns the full ones (owned by the cache).</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        if (_held[layer] != Length)
            throw new InvalidOperationException($"KV cache layer {layer} holds {_held[layer]} positions, expected {Length}: a previous step was interrupted");
        if (_keyBuffers[layer] is { } buffer && (buffer.size(0) != keys.size(0) || buffer.size(1) != keys.size(1) || buffer.size(3) != keys.size(3)))
            throw new ArgumentException(
                $"KV cache layer {layer} holds [{buffer.size(0)}, {buffer.size(1)}, {_held[layer]}, {buffer.size(3)}], cannot append [{string.Join(", ", keys.Shape)}] (batch, heads and head_dim must match)");
        var held = _held[layer];
        var total = held + keys.size(2);
        _keyBuffers[layer] = Store(_keyBuffers[layer], held, keys);
        _valueBuffers[layer] = Store(_valueBuffers[layer], held, values);
        SetHeld(layer, total);
        return (_keys[layer]!, _values[layer]!);
    }

    /// <summary>Writes <paramref name="step"/> at positions held.. of the buffer, growing it (doubling) when full.</summary>
    private static Tensor Store(Tensor? buffer, long held, Tensor step)
    {
        var total = held + step.size(2);
        if (buffer is null || buffer.size(2) < total || buffer.DType != step.DType)
        {
            // First allocation: the prefill plus 64 spare positions (room for a typical answer without
            // regrowth); after that, doubling keeps the copies amortised O(1) per position.
            var capacity = buffer is null
                ? (total + Headroom + Headroom - 1) / Headroom * Headroom
                : Math.Max(total, 2 * buffer.size(2));
            var grown = torch.empty([step.size(0), step.size(1), capacity, step.size(3)], step.DType, step.Device).DetachFromScope();
            if (buffer is not null && held > 0)
                using (torch.NewDisposeScope()) grown.narrow(2, 0, held).copy_(buffer.narrow(2, 0, held));
            buffer?.Dispose();
            buffer = grown;
        }
        using (torch.NewDisposeScope()) buffer.narrow(2, held, step.size(2)).copy_(step);
        return buffer;
    }

    /// <summary>Points layer <paramref name="layer"/>'s views at its first <paramref name="held"/> positions.</summary>
    private void SetHeld(int layer, long held)
    {
        _keys[layer]?.Dispose();
        _values[layer]?.Dispose();
        _keys[layer] = _values[layer] = null;
        _held[layer] = held;
        if (held == 0 || _keyBuffers[layer] is null) return;
        _keys[layer] = _keyBuffers[layer]!.narrow(2, 0, held).DetachFromScope();
        _values[layer] = _valueBuffers[layer]!.narrow(2, 0, held).DetachFromScope();
    }

    /// <summary>Marks the positions appended to every layer by one forward call as held.</summary>
    internal void Advance(long positions) => Length += positions;

    /// <summary>Forgets positions from <paramref name="length"/> on (rewinds decoding; 0 empties the cache).</summary>
    public void Truncate(long length)
    {
        if (length < 0 || length > Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"must be in [0, {Length}]");
        for (var i = 0; i < _keys.Length; i++)
        {
            if (length == 0) FreeLayer(i);
            else SetHeld(i, Math.Min(length, _held[i])); // the buffer keeps its capacity
        }
        Length = length;
    }

    public void Reset() => Truncate(0);

    /// <summary>
    /// Keeps, reorders or repeats batch rows: afterwards row i holds what row <paramref name="rows"/>[i]
    /// held (Hugging Face's reorder_cache). Lets a decoder drop finished sequences, or score several
    /// continuations of one prefilled prompt without recomputing it.
    /// </summary>
    public void SelectBatch(ReadOnlySpan<long> rows)
    {
        if (rows.Length == 0) throw new ArgumentException("SelectBatch needs at least one row", nameof(rows));
        if (_keyBuffers[0] is not { } first) throw new InvalidOperationException("SelectBatch on an empty KV cache");
        var batch = first.size(0);
        foreach (var r in rows)
            if (r < 0 || r >= batch) throw new ArgumentOutOfRangeException(nameof(rows), r, $"row index must be in [0, {batch})");
        using var scope = torch.NewDisposeScope();
        var index = torch.tensor(rows.ToArray(), rows.Length).to(first.Device);
        for (var i = 0; i < _keys.Length; i++)
        {
            if (_keyBuffers[i] is null) continue;
            _keyBuffers[i] = Pick(_keyBuffers[i]!, index);
            _valueBuffers[i] = Pick(_valueBuffers[i]!, index);
            SetHeld(i, _held[i]);
        }
    }

    private static Tensor Pick(Tensor buffer, Tensor index)
    {
        var picked = buffer.index_select(0, index).DetachFromScope();
        buffer.Dispose();
        return picked;
    }

    private void FreeLayer(int i)
    {
        SetHeld(i, 0);
        _keyBuffers[i]?.Dispose();
        _valueBuffers[i]?.Dispose();
        _keyBuffers[i] = _valueBuffers[i] = null;
    }

    public void Dispose()
    {
        for (var i = 0; i < _keys.Length; i++) FreeLayer(i);
        Length = 0;
    }
}
