using MoLA.Training.Data;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Pretraining;

/// <summary>
/// Documents tokenized as [BOS] text [EOS], concatenated in order into one token stream and cut into
/// non-overlapping windows of <see cref="SequenceLength"/> tokens (the tail shorter than a window is dropped).
/// Windows are full, so no padding and no attention mask: a window may span document boundaries and attend
/// across them, the usual packing trade-off. Batches visit the windows in a seeded permutation per epoch.
/// </summary>
public sealed class PackedCorpus
{
    private readonly int[] _tokens;
    private readonly ulong _seed;
    private int _epoch = -1;
    private int[] _order = [];

    private PackedCorpus(int[] tokens, int sequenceLength, int documents, ulong seed)
    {
        _tokens = tokens;
        SequenceLength = sequenceLength;
        Documents = documents;
        Windows = tokens.Length / sequenceLength;
        _seed = seed;
    }

    public int SequenceLength { get; }
    public int Documents { get; }
    /// <summary>Full windows of the stream.</summary>
    public int Windows { get; }
    /// <summary>Tokens in the stream (BOS and EOS included).</summary>
    public long Tokens => _tokens.Length;

    /// <summary>Packs <paramref name="documents"/>; <paramref name="seed"/> decides the window order of each epoch.</summary>
    public static PackedCorpus Pack(IEnumerable<string> documents, int sequenceLength, ulong seed, ITokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        if (sequenceLength < 2) throw new ArgumentOutOfRangeException(nameof(sequenceLength), sequenceLength, "a window needs at least 2 tokens");
        tokenizer ??= new ByteLevelTokenizer();
        var bos = tokenizer.BosId ?? throw new ArgumentException("packing needs a tokenizer with a BOS token", nameof(tokenizer));
        var eos = tokenizer.EosId ?? throw new ArgumentException("packing needs a tokenizer with an EOS token", nameof(tokenizer));
        var stream = new List<int>();
        var count = 0;
        foreach (var doc in documents)
        {
            stream.Add(bos);
            stream.AddRange(tokenizer.Encode(doc));
            stream.Add(eos);
            count++;
        }
        if (stream.Count < sequenceLength)
            throw new ArgumentException($"the corpus has {stream.Count} tokens ({count} documents), fewer than one window of {sequenceLength}; add documents or lower the sequence length", nameof(documents));
        return new PackedCorpus(stream.ToArray(), sequenceLength, count, seed);
    }

    /// <summary>The tokens of window <paramref name="index"/> (stream order).</summary>
    public ReadOnlySpan<int> Window(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Windows);
        return _tokens.AsSpan(index * SequenceLength, SequenceLength);
    }

    /// <summary>
    /// Token ids [count, SequenceLength] (row-major) of the windows at absolute positions
    /// start..start+count-1 of the run's window order: position p is window perm_e[p mod Windows] of epoch
    /// e = p / Windows, each epoch its own seeded permutation.
    /// </summary>
    public long[] Batch(long start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        var ids = new long[(long)count * SequenceLength];
        for (var r = 0; r < count; r++)
        {
            var p = start + r;
            var epoch = (int)(p / Windows);
            if (epoch != _epoch)
            {
                _order = DeterministicShuffle.Permutation(Windows, _seed, epoch);
                _epoch = epoch;
            }
            var window = Window(_order[(int)(p % Windows)]);
            for (var c = 0; c < SequenceLength; c++) ids[r * SequenceLength + c] = window[c];
        }
        return ids;
    }
}
