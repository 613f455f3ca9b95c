using MoLA.Torch;

namespace MoLA.Model.Llama;

/// <summary>
/// Keys and values of the positions a model has already seen, per layer ([B, KV heads, T, hd],
/// after RoPE, before the GQA repeat), for incremental decoding with
/// <see cref="LlamaModel.forward(Tensor, LlamaKvCache, long, Tensor?)"/>. Each step appends along
/// the position axis (torch.cat). The cache owns its tensors: dispose it (or <see cref="Reset"/>)
/// to free them; they are outside every dispose scope.
/// </summary>
public sealed class LlamaKvCache : IDisposable
{
    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;

    public LlamaKvCache(int numLayers)
    {
        if (numLayers <= 0) throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, "must be positive");
        _keys = new Tensor?[numLayers];
        _values = new Tensor?[numLayers];
    }

    public int NumLayers => _keys.Length;

    /// <summary>Positions held (the next forward's startPos).</summary>
    public long Length { get; private set; }

    /// <summary>Layer <paramref name="layer"/>'s keys [B, KV, Length, hd], or null when empty.</summary>
    public Tensor? Keys(int layer) => _keys[layer];

    /// <summary>Layer <paramref name="layer"/>'s values [B, KV, Length, hd], or null when empty.</summary>
    public Tensor? Values(int layer) => _values[layer];

    /// <summary>Appends one step's keys and values for a layer and returns the full ones (owned by the cache).</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        var held = _keys[layer] is { } k ? k.size(2) : 0;
        if (held != Length)
            throw new InvalidOperationException($"KV cache layer {layer} holds {held} positions, expected {Length}: a previous step was interrupted");
        if (_keys[layer] is { } pastK && (pastK.size(0) != keys.size(0) || pastK.size(1) != keys.size(1) || pastK.size(3) != keys.size(3)))
            throw new ArgumentException(
                $"KV cache layer {layer} holds [{string.Join(", ", pastK.Shape)}], cannot append [{string.Join(", ", keys.Shape)}] (batch, heads and head_dim must match)");
        _keys[layer] = Grow(_keys[layer], keys);
        _values[layer] = Grow(_values[layer], values);
        return (_keys[layer]!, _values[layer]!);
    }

    private static Tensor Grow(Tensor? past, Tensor step)
    {
        var grown = past is null ? step.alias() : torch.cat([past, step], 2);
        grown.DetachFromScope();
        past?.Dispose();
        return grown;
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
            _keys[i] = Cut(_keys[i], length);
            _values[i] = Cut(_values[i], length);
        }
        Length = length;
    }

    private static Tensor? Cut(Tensor? t, long length)
    {
        if (t is null) return null;
        if (t.size(2) == length) return t;
        Tensor? kept = length == 0 ? null : t.narrow(2, 0, Math.Min(length, t.size(2))).clone().DetachFromScope();
        t.Dispose();
        return kept;
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
        if (_keys[0] is not { } first) throw new InvalidOperationException("SelectBatch on an empty KV cache");
        var batch = first.size(0);
        foreach (var r in rows)
            if (r < 0 || r >= batch) throw new ArgumentOutOfRangeException(nameof(rows), r, $"row index must be in [0, {batch})");
        using var scope = torch.NewDisposeScope();
        var index = torch.tensor(rows.ToArray(), rows.Length).to(first.Device);
        for (var i = 0; i < _keys.Length; i++)
        {
            _keys[i] = Pick(_keys[i], index);
            _values[i] = Pick(_values[i], index);
        }
    }

    private static Tensor? Pick(Tensor? t, Tensor index)
    {
        if (t is null) return null;
        var picked = t.index_select(0, index).DetachFromScope();
        t.Dispose();
        return picked;
    }

    public void Dispose()
    {
        for (var i = 0; i < _keys.Length; i++)
        {
            _keys[i]?.Dispose();
            _values[i]?.Dispose();
            _keys[i] = _values[i] = null;
        }
        Length = 0;
    }
}
