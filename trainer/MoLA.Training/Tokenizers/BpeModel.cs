using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace MoLA.Training.Tokenizers;

/// <summary>Byte-pair encoding over one pre-token: rank-ordered merging (lowest rank first, leftmost on ties), with a per-word cache.</summary>
internal sealed class BpeModel
{
    private const int CacheCapacity = 50_000;
    private const int MaxCachedWordLength = 256;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly int? _unkId;
    private readonly bool _byteFallback;
    private readonly bool _fuseUnk;
    private readonly bool _ignoreMerges;
    private readonly int[] _byteIds;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, int> Vocab => _vocab;

    private BpeModel(Dictionary<string, int> vocab, Dictionary<long, (int, int)> merges, int? unkId, bool byteFallback, bool fuseUnk, bool ignoreMerges)
    {
        _vocab = vocab;
        _merges = merges;
        _unkId = unkId;
        _byteFallback = byteFallback;
        _fuseUnk = fuseUnk;
        _ignoreMerges = ignoreMerges;
        _byteIds = new int[256];
        for (int b = 0; b < 256; b++) _byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

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
        var merges = new Dictionary<long, (int, int)>();
        if (HfJson.Opt(model, "merges") is { } mergesEl)
        {
            j.Array(mergesEl, mergesPath);
            int rank = 0;
            foreach (var m in mergesEl.EnumerateArray())
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
                merges.TryAdd(Key(ia, ib), (rank, merged));
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
            if (_cache.Count >= CacheCapacity) _cache.Clear();
            _cache.TryAdd(word, ids);
        }
        output.AddRange(ids);
    }

    private int[] Merge(string word)
    {
        if (_ignoreMerges && _vocab.TryGetValue(word, out int whole)) return [whole];

        var symbols = new List<int>(word.Length);
        Span<byte> utf8 = stackalloc byte[4];
        bool lastWasUnk = false;
        foreach (Rune rune in word.EnumerateRunes())
        {
            if (_vocab.TryGetValue(rune.ToString(), out int id))
            {
                symbols.Add(id);
                lastWasUnk = false;
                continue;
            }
            if (_byteFallback)
            {
                int n = rune.EncodeToUtf8(utf8);
                bool all = true;
                for (int i = 0; i < n; i++) all &= _byteIds[utf8[i]] >= 0;
                if (all)
                {
                    for (int i = 0; i < n; i++) symbols.Add(_byteIds[utf8[i]]);
                    lastWasUnk = false;
                    continue;
                }
            }
            if (_unkId is int unk)
            {
                if (!(_fuseUnk && lastWasUnk)) symbols.Add(unk);
                lastWasUnk = true;
            }
        }

        while (symbols.Count > 1)
        {
            int bestRank = int.MaxValue, bestIndex = -1, bestId = 0;
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                if (_merges.TryGetValue(Key(symbols[i], symbols[i + 1]), out var m) && m.Rank < bestRank)
                {
                    bestRank = m.Rank;
                    bestIndex = i;
                    bestId = m.Id;
                }
            }
            if (bestIndex < 0) break;
            symbols[bestIndex] = bestId;
            symbols.RemoveAt(bestIndex + 1);
        }
        return symbols.ToArray();
    }
}
