namespace MoLA.Training.Tokenizers;

/// <summary>
/// BPE merges: (left id, right id) -> (rank, merged id), in an open-addressing table keyed by the two ids packed
/// into one long. The slot comes from a multiplicative (Fibonacci) hash of the whole 64-bit key: long.GetHashCode
/// is left XOR right, which sends every merge of a token with itself to the same bucket.
/// </summary>
internal sealed class MergeTable
{
    private const long Empty = -1;
    private const ulong Golden = 0x9E3779B97F4A7C15;

    private readonly long[] _keys;
    private readonly int[] _ranks;
    private readonly int[] _ids;
    private readonly int _shift;
    private readonly int _mask;

    public int Count { get; private set; }

    /// <summary>The longest probe sequence any insert needed (1 = found its home slot free).</summary>
    public int MaxProbeLength { get; private set; }

    public MergeTable(int expectedCount)
    {
        int bits = 4;
        while ((1L << bits) < 2L * Math.Max(1, expectedCount)) bits++;
        int size = 1 << bits;
        _keys = new long[size];
        Array.Fill(_keys, Empty);
        _ranks = new int[size];
        _ids = new int[size];
        _shift = 64 - bits;
        _mask = size - 1;
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private int Home(long key) => (int)(((ulong)key * Golden) >> _shift);

    /// <summary>Adds a merge unless the pair is already there (the first, lowest rank wins, as in HF). Ids must be non-negative.</summary>
    public bool TryAdd(int left, int right, int rank, int mergedId)
    {
        if (Count >= _keys.Length / 2) throw new InvalidOperationException("merge table is full (capacity was sized from the merge count)");
        long key = Key(left, right);
        int slot = Home(key);
        for (int probes = 1; ; probes++, slot = (slot + 1) & _mask)
        {
            if (_keys[slot] == key) return false;
            if (_keys[slot] != Empty) continue;
            _keys[slot] = key;
            _ranks[slot] = rank;
            _ids[slot] = mergedId;
            Count++;
            MaxProbeLength = Math.Max(MaxProbeLength, probes);
            return true;
        }
    }

    public bool TryGet(int left, int right, out int rank, out int mergedId)
    {
        long key = Key(left, right);
        for (int slot = Home(key); ; slot = (slot + 1) & _mask)
        {
            long k = _keys[slot];
            if (k == key)
            {
                rank = _ranks[slot];
                mergedId = _ids[slot];
                return true;
            }
            if (k == Empty)
            {
                rank = mergedId = 0;
                return false;
            }
        }
    }
}
