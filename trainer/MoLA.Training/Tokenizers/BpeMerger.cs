namespace MoLA.Training.Tokenizers;

/// <summary>
/// Applies BPE merges to one word in O(n log n): the symbols form a doubly linked list over an array, and a binary
/// min-heap holds candidate merges ordered by (rank, position). A popped candidate is stale when its left symbol was
/// absorbed or its pair changed (checked by looking the current pair up again and comparing the merged id), as in
/// Hugging Face's Rust implementation; each merge pushes at most two new candidates.
/// One instance per thread (scratch buffers are reused between words).
/// </summary>
internal sealed class BpeMerger
{
    [ThreadStatic] private static BpeMerger? _current;

    /// <summary>This thread's merger.</summary>
    public static BpeMerger Current => _current ??= new BpeMerger();

    private int[] _ids = new int[64];
    private int[] _prev = new int[64];
    private int[] _next = new int[64];
    private long[] _heapKeys = new long[64];
    private int[] _heapIds = new int[64];
    private int _heapCount;

    /// <summary>Heap pushes and pops done by this thread so far: the work counter the linear-time test compares.</summary>
    public long Operations { get; private set; }

    /// <summary>Merges <paramref name="symbols"/> in place and returns how many remain (in order, at the front).</summary>
    public int Merge(List<int> symbols, MergeTable merges)
    {
        int n = symbols.Count;
        if (n < 2) return n;
        Grow(ref _ids, n);
        Grow(ref _prev, n);
        Grow(ref _next, n);
        int[] ids = _ids, prev = _prev, next = _next;
        for (int i = 0; i < n; i++)
        {
            ids[i] = symbols[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }

        _heapCount = 0;
        for (int i = 0; i + 1 < n; i++)
        {
            if (merges.TryGet(ids[i], ids[i + 1], out int rank, out int merged)) Push(rank, i, merged);
        }

        while (_heapCount > 0)
        {
            Pop(out int pos, out int merged);
            int right = next[pos];
            if (ids[pos] < 0 || right < 0) continue;
            if (!merges.TryGet(ids[pos], ids[right], out _, out int current) || current != merged) continue;

            ids[pos] = merged;
            ids[right] = -1;
            int after = next[right];
            next[pos] = after;
            if (after >= 0) prev[after] = pos;

            int before = prev[pos];
            if (before >= 0 && merges.TryGet(ids[before], merged, out int r1, out int m1)) Push(r1, before, m1);
            if (after >= 0 && merges.TryGet(merged, ids[after], out int r2, out int m2)) Push(r2, pos, m2);
        }

        int count = 0;
        for (int i = 0; i >= 0; i = next[i]) symbols[count++] = ids[i];
        symbols.RemoveRange(count, n - count);
        return count;
    }

    private static void Grow<T>(ref T[] array, int n)
    {
        if (array.Length < n) array = new T[Math.Max(n, array.Length * 2)];
    }

    // Key = rank in the high half, position in the low half: the smallest key is the lowest rank, leftmost on ties.
    private void Push(int rank, int pos, int merged)
    {
        Operations++;
        if (_heapCount == _heapKeys.Length)
        {
            Array.Resize(ref _heapKeys, _heapCount * 2);
            Array.Resize(ref _heapIds, _heapCount * 2);
        }
        long key = ((long)rank << 32) | (uint)pos;
        int i = _heapCount++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (_heapKeys[parent] <= key) break;
            _heapKeys[i] = _heapKeys[parent];
            _heapIds[i] = _heapIds[parent];
            i = parent;
        }
        _heapKeys[i] = key;
        _heapIds[i] = merged;
    }

    private void Pop(out int pos, out int merged)
    {
        Operations++;
        pos = (int)(uint)_heapKeys[0];
        merged = _heapIds[0];
        int n = --_heapCount;
        if (n == 0) return;
        long key = _heapKeys[n];
        int id = _heapIds[n];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && _heapKeys[child + 1] < _heapKeys[child]) child++;
            if (_heapKeys[child] >= key) break;
            _heapKeys[i] = _heapKeys[child];
            _heapIds[i] = _heapIds[child];
            i = child;
        }
        _heapKeys[i] = key;
        _heapIds[i] = id;
    }
}
