using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace MoLA.Training.Tokenizers;

/// <summary>
/// Byte-pair encoding over one pre-token: rank-ordered merging (lowest rank first, leftmost on ties) by
/// <see cref="BpeMerger"/> in O(n log n) of the word length, with a per-word cache for short words.
/// </summary>
internal sealed class BpeModel
{
    private const int CacheCapacity = 50_000;
    private const int MaxCachedWordLength = 256;

    private readonly Dictionary<string, int> _vocab;
    private readonly MergeTable _merges;
    private readonly int? _unkId;
    private readonly bool _byteFallback;
    private readonly bool _fuseUnk;
    private readonly bool _ignoreMerges;
    private readonly int[] _byteIds;
    // Ids of one-character tokens: BMP characters by index, astral code points in a dictionary (no string per lookup).
    private readonly int[] _bmpIds;
    private readonly Dictionary<int, int> _astralIds = [];
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    // Counted here: ConcurrentDictionary.Count takes every lock of the table, which serialised (and slowed) each miss.
    private int _cacheCount;

    public IReadOnlyDictionary<string, int> Vocab => _vocab;

    private BpeModel(Dictionary<string, int> vocab, MergeTable merges, int? unkId, bool byteFallback, bool fuseUnk, bool ignoreMerges)
    {
        _vocab = vocab;
        _merges = merges;
        _unkId = unkId;
        _byteFallback = byteFallback;
        _fuseUnk = fuseUnk;
        _ignoreMerges = ignoreMerges;
        _byteIds = new int[256];
        for (int b = 0; b < 256; b++) _byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        _bmpIds = new int[char.MaxValue + 1];
        Array.Fill(_bmpIds, -1);
        foreach (var (token, id) in vocab)
        {
            if (token.Length == 1) _bmpIds[token[0]] = id;
            else if (token.Length == 2 && char.IsSurrogatePair(token[0], token[1])) _astralIds[char.ConvertToUtf32(token[0], token[1])] = id;
        }
    }

    public static BpeModel Parse(HfJson j, JsonElement model, string path)
    {
        string? type = j.OptString(model, "type", path);
        if (type is null && HfJson.Opt(model, "merges") is null) throw j.Error(HfJson.Join(path, "type"), "is missing");
        if (type is not (null or "BPE")) throw j.Unsupported(HfJson.Join(path, "type"), type);

        if (HfJson.Opt(model, "dropout") is { } dropout && !(dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() == 0))
            throw j.Unsupported(HfJson.Join(path, "dropout"), dropout.GetRawText());
        foreach (string name in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
        {
            string? v = j.OptString(model, name, path);
            if (!string.IsNullOrEmpty(v)) throw j.Unsupported(HfJson.Join(path, name), v);
        }

        string vocabPath = HfJson.Join(path, "vocab");
        var vocabEl = j.Object(j.Req(model, "vocab", path), vocabPath);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in vocabEl.EnumerateObject())
        {
            int id = j.Int(p.Value, HfJson.Join(vocabPath, p.Name));
            if (id < 0) throw j.Error(HfJson.Join(vocabPath, p.Name), $"has a negative id {id}");
            vocab[p.Name] = id;
        }

        string mergesPath = HfJson.Join(path, "merges");
        var mergesEl = HfJson.Opt(model, "merges");
        if (mergesEl is { } arr) j.Array(arr, mergesPath);
        var merges = new MergeTable(mergesEl?.GetArrayLength() ?? 0);
        if (mergesEl is not null)
        {
            int rank = 0;
            foreach (var m in mergesEl.Value.EnumerateArray())
            {
                string mp = HfJson.Index(mergesPath, rank);
                string a, b;
                if (m.ValueKind == JsonValueKind.String)
                {
                    string s = m.GetString()!;
                    int space = s.IndexOf(' ');
                    if (space <= 0 || space == s.Length - 1 || s.IndexOf(' ', space + 1) >= 0)
                        throw j.Error(mp, $"'{s}' must be two tokens separated by one space");
                    a = s[..space];
                    b = s[(space + 1)..];
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
                {
                    a = j.String(m[0], HfJson.Index(mp, 0));
                    b = j.String(m[1], HfJson.Index(mp, 1));
                }
                else
                {
                    throw j.Error(mp, "must be a \"a b\" string or an [a, b] pair");
                }
                if (!vocab.TryGetValue(a, out int ia)) throw j.Error(mp, $"token '{a}' is not in model.vocab");
                if (!vocab.TryGetValue(b, out int ib)) throw j.Error(mp, $"token '{b}' is not in model.vocab");
                if (!vocab.TryGetValue(a + b, out int merged)) throw j.Error(mp, $"merged token '{a + b}' is not in model.vocab");
                merges.TryAdd(ia, ib, rank, merged);
                rank++;
            }
        }

        int? unkId = null;
        if (j.OptString(model, "unk_token", path) is { } unk)
        {
            if (!vocab.TryGetValue(unk, out int u)) throw j.Error(HfJson.Join(path, "unk_token"), $"'{unk}' is not in model.vocab");
            unkId = u;
        }

        return new BpeModel(vocab, merges, unkId,
            j.OptBool(model, "byte_fallback", path, false),
            j.OptBool(model, "fuse_unk", path, false),
            j.OptBool(model, "ignore_merges", path, false));
    }

    /// <summary>Appends the ids of one pre-token. Characters with no token, no byte fallback and no unk token are dropped (as HF does).</summary>
    public void Tokenize(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (_cache.TryGetValue(word, out int[]? cached))
        {
            output.AddRange(cached);
            return;
        }
        int[] ids = Merge(word);
        if (word.Length <= MaxCachedWordLength)
        {
            if (Volatile.Read(ref _cacheCount) >= CacheCapacity)
            {
                _cache.Clear();
                Volatile.Write(ref _cacheCount, 0);
            }
            if (_cache.TryAdd(word, ids)) Interlocked.Increment(ref _cacheCount);
        }
        output.AddRange(ids);
    }

    [ThreadStatic] private static List<int>? _symbols;

    private int[] Merge(string word)
    {
        if (_ignoreMerges && _vocab.TryGetValue(word, out int whole)) return [whole];

        var symbols = _symbols ??= new List<int>(256);
        symbols.Clear();
        Span<byte> utf8 = stackalloc byte[4];
        // Mirrors the Rust BPE: an unknown character without byte tokens becomes unk, fused with a following unknown one
        // when fuse_unk is set; the pending unk is written when a known character or the word's end follows.
        int pendingUnk = -1;
        for (int i = 0; i < word.Length; i++)
        {
            int id;
            int width = 1;
            char c = word[i];
            if (char.IsHighSurrogate(c) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]))
            {
                width = 2;
                id = _astralIds.TryGetValue(char.ConvertToUtf32(c, word[i + 1]), out int a) ? a : -1;
            }
            else
            {
                id = _bmpIds[c];
            }
            if (id >= 0)
            {
                if (pendingUnk >= 0) symbols.Add(pendingUnk);
                pendingUnk = -1;
                symbols.Add(id);
            }
            else if (!(_byteFallback && AddBytes(word.AsSpan(i, width), utf8, symbols)) && _unkId is int unk)
            {
                if (pendingUnk >= 0 && !_fuseUnk) symbols.Add(pendingUnk);
                pendingUnk = unk;
            }
            i += width - 1;
        }
        if (pendingUnk >= 0) symbols.Add(pendingUnk);

        BpeMerger.Current.Merge(symbols, _merges);
        return symbols.ToArray();
    }

    /// <summary>The character's UTF-8 bytes as &lt;0xNN&gt; tokens, when the vocabulary has all of them.</summary>
    private bool AddBytes(ReadOnlySpan<char> character, Span<byte> utf8, List<int> symbols)
    {
        // A lone surrogate has no UTF-8 form; Rust strings cannot hold one, .NET writes U+FFFD's bytes.
        int n = System.Text.Encoding.UTF8.GetBytes(character, utf8);
        for (int k = 0; k < n; k++)
        {
            if (_byteIds[utf8[k]] < 0) return false;
        }
        for (int k = 0; k < n; k++) symbols.Add(_byteIds[utf8[k]]);
        return true;
    }
}
