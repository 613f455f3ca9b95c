using System.Text.Json;
using System.Text.RegularExpressions;

namespace MoLA.Training.Tokenizers;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> reader for BPE tokenizers (LLaMA-2/SentencePiece style with byte fallback,
/// GPT-2 / LLaMA-3 style byte-level).
/// </summary>
/// <remarks>
/// Pipeline: added tokens are found in the raw text first (leftmost, longest first); each remaining span is normalized,
/// pre-tokenized and BPE-encoded. Supported: model <c>BPE</c> (vocab, merges as "a b" or [a, b], unk_token, fuse_unk,
/// byte_fallback, ignore_merges); normalizers Sequence, Prepend, Replace, Lowercase; pre-tokenizers Sequence, Metaspace,
/// ByteLevel, Split; decoders Sequence, Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace; post-processors
/// TemplateProcessing, ByteLevel, Sequence (used only to find the BOS/EOS ids). Anything else is a <see cref="TokenizerException"/>
/// naming the JSON path. Not modelled: added-token <c>single_word</c> and <c>normalized</c> (all added tokens match the raw text),
/// offsets, truncation/padding settings (only <c>padding.pad_id</c> is read). Regex patterns run on .NET Regex through
/// <see cref="CodePointRegex"/>, so classes like <c>\p{L}</c> see astral characters as one code point, as Rust does.
/// Instances are immutable apart from a thread-safe word cache, so one may be shared across threads.
/// </remarks>
public sealed class HfTokenizer : ITokenizer
{
    private readonly Normalizer? _normalizer;
    private readonly PreTokenizer? _preTokenizer;
    private readonly BpeModel _model;
    private readonly Decoder? _decoder;
    private readonly AddedToken[] _added;
    private readonly Regex? _addedPattern;
    private readonly Dictionary<string, AddedToken> _addedByContent;
    private readonly string?[] _idToToken;
    private readonly bool[] _isSpecial;

    private sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip);

    public int VocabSize { get; }
    public int? BosId { get; }
    public int? EosId { get; }
    public int? PadId { get; }

    /// <summary>
    /// BPE merge-heap operations (pushes and pops) this thread has done in any HfTokenizer: a work counter that shows
    /// the merge loop's cost grows like the word length (benchmarks and tests compare it for n and 8n characters).
    /// </summary>
    public static long MergeOperationsOnThisThread => BpeMerger.Current.Operations;

    /// <summary>Where this tokenizer was read from (a path, or the name given to <see cref="FromJson"/>).</summary>
    public string Source { get; }

    private HfTokenizer(HfJson j, JsonElement root)
    {
        Source = j.Source;
        j.Object(root, "(root)");
        _model = BpeModel.Parse(j, j.Object(j.Req(root, "model", ""), "model"), "model");
        _normalizer = Normalizer.Parse(j, HfJson.Opt(root, "normalizer"), "normalizer");
        _preTokenizer = PreTokenizer.Parse(j, HfJson.Opt(root, "pre_tokenizer"), "pre_tokenizer");
        _decoder = Decoder.Parse(j, HfJson.Opt(root, "decoder"), "decoder");
        _added = ParseAddedTokens(j, root);
        _addedByContent = new Dictionary<string, AddedToken>(StringComparer.Ordinal);
        foreach (var t in _added) _addedByContent[t.Content] = t;

        var patterns = _added.Where(t => t.Content.Length > 0).Select(t => t.Content).Distinct()
            .OrderByDescending(c => c.Length).ThenBy(c => c, StringComparer.Ordinal).Select(Regex.Escape).ToArray();
        _addedPattern = patterns.Length == 0 ? null : new Regex(string.Join("|", patterns), RegexOptions.CultureInvariant);

        int maxId = -1;
        foreach (int id in _model.Vocab.Values) maxId = Math.Max(maxId, id);
        foreach (var t in _added) maxId = Math.Max(maxId, t.Id);
        VocabSize = maxId + 1;
        _idToToken = new string?[VocabSize];
        _isSpecial = new bool[VocabSize];
        foreach (var (token, id) in _model.Vocab) _idToToken[id] = token;
        foreach (var t in _added)
        {
            _idToToken[t.Id] = t.Content;
            _isSpecial[t.Id] = t.Special;
        }

        (int? bos, int? eos) = ParsePostProcessor(j, HfJson.Opt(root, "post_processor"), "post_processor");
        BosId = bos ?? FindToken("<s>", "<|begin_of_text|>", "<bos>");
        EosId = eos ?? FindToken("</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>");
        PadId = HfJson.Opt(root, "padding") is { } padding && HfJson.Opt(padding, "pad_id") is { } padId
            ? j.Int(padId, "padding.pad_id")
            : FindToken("<pad>", "<|pad|>", "[PAD]", "<|padding|>");
    }

    /// <summary>Reads a tokenizer.json file. Throws <see cref="TokenizerException"/> naming the file for unreadable, malformed or unsupported content.</summary>
    public static HfTokenizer Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new TokenizerException($"{path}: cannot read tokenizer file: {ex.Message}", ex);
        }
        return FromJson(json, path);
    }

    /// <summary>Parses tokenizer.json text; <paramref name="sourceName"/> prefixes error messages.</summary>
    public static HfTokenizer FromJson(string json, string sourceName = "tokenizer.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, MaxDepth = 256 });
        }
        catch (JsonException ex)
        {
            throw new TokenizerException($"{sourceName}: invalid JSON: {ex.Message}", ex);
        }
        using (doc) return new HfTokenizer(new HfJson(sourceName), doc.RootElement);
    }

    /// <summary>The id of a token (added tokens first, then the model vocabulary), or null.</summary>
    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out var t) ? t.Id : _model.Vocab.TryGetValue(token, out int id) ? id : null;

    /// <summary>The token string of an id, or null when the id is unused.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)VocabSize ? _idToToken[id] : null;

    private int? FindToken(params string[] names)
    {
        foreach (string n in names)
        {
            if (TokenToId(n) is int id) return id;
        }
        return null;
    }

    private static AddedToken[] ParseAddedTokens(HfJson j, JsonElement root)
    {
        if (HfJson.Opt(root, "added_tokens") is not { } arr) return [];
        j.Array(arr, "added_tokens");
        var list = new List<AddedToken>();
        int i = 0;
        foreach (var e in arr.EnumerateArray())
        {
            string p = HfJson.Index("added_tokens", i++);
            j.Object(e, p);
            int id = j.Int(j.Req(e, "id", p), HfJson.Join(p, "id"));
            if (id < 0) throw j.Error(HfJson.Join(p, "id"), $"must not be negative (got {id})");
            list.Add(new AddedToken(id, j.ReqString(e, "content", p), j.OptBool(e, "special", p, false),
                j.OptBool(e, "lstrip", p, false), j.OptBool(e, "rstrip", p, false)));
        }
        return list.ToArray();
    }

    private static (int? Bos, int? Eos) ParsePostProcessor(HfJson j, JsonElement? e, string path)
    {
        if (e is not { } el) return (null, null);
        string type = j.Type(el, path);
        switch (type)
        {
            case "ByteLevel":
                return (null, null);
            case "Sequence":
            {
                string p = HfJson.Join(path, "processors");
                var arr = j.Array(j.Req(el, "processors", path), p);
                int? bos = null, eos = null;
                int i = 0;
                foreach (var item in arr.EnumerateArray())
                {
                    var (b, s) = ParsePostProcessor(j, item, HfJson.Index(p, i++));
                    bos ??= b;
                    eos ??= s;
                }
                return (bos, eos);
            }
            case "TemplateProcessing":
                return ParseTemplate(j, el, path);
            default:
                throw j.Unsupported(HfJson.Join(path, "type"), type);
        }
    }

    private static (int? Bos, int? Eos) ParseTemplate(HfJson j, JsonElement el, string path)
    {
        string singlePath = HfJson.Join(path, "single");
        var single = j.Req(el, "single", path);
        // Each template piece: (special token name or null for the sequence).
        var pieces = new List<string?>();
        if (single.ValueKind == JsonValueKind.String)
        {
            foreach (string part in single.GetString()!.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                string name = part.Split(':')[0];
                pieces.Add(name.StartsWith('$') ? null : name);
            }
        }
        else
        {
            j.Array(single, singlePath);
            int i = 0;
            foreach (var item in single.EnumerateArray())
            {
                string ip = HfJson.Index(singlePath, i++);
                j.Object(item, ip);
                if (HfJson.Opt(item, "SpecialToken") is { } st) pieces.Add(j.ReqString(st, "id", HfJson.Join(ip, "SpecialToken")));
                else if (HfJson.Opt(item, "Sequence") is not null) pieces.Add(null);
                else throw j.Error(ip, "must be a SpecialToken or Sequence piece");
            }
        }

        int sequenceAt = pieces.IndexOf(null);
        if (sequenceAt < 0) throw j.Error(singlePath, "has no sequence ($A) piece");
        string? bosName = sequenceAt > 0 ? pieces[sequenceAt - 1] : null;
        string? eosName = sequenceAt + 1 < pieces.Count ? pieces[sequenceAt + 1] : null;
        return (SpecialId(j, el, path, bosName), SpecialId(j, el, path, eosName));
    }

    private static int? SpecialId(HfJson j, JsonElement el, string path, string? name)
    {
        if (name is null) return null;
        string sp = HfJson.Join(path, "special_tokens");
        var specials = j.Object(j.Req(el, "special_tokens", path), sp);
        string tp = HfJson.Join(sp, name);
        if (HfJson.Opt(specials, name) is not { } token) throw j.Error(tp, "is missing");
        string idsPath = HfJson.Join(tp, "ids");
        var ids = j.Array(j.Req(token, "ids", tp), idsPath);
        if (ids.GetArrayLength() == 0) throw j.Error(idsPath, "is empty");
        return j.Int(ids[0], HfJson.Index(idsPath, 0));
    }

    public IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        if (addBos) ids.Add(BosId ?? throw new InvalidOperationException($"{Source}: the tokenizer has no BOS token"));

        int pos = 0;
        if (_addedPattern is not null)
        {
            for (var m = _addedPattern.Match(text); m.Success; m = _addedPattern.Match(text, pos))
            {
                var token = _addedByContent[m.Value];
                int end = m.Index;
                if (token.LStrip) while (end > pos && char.IsWhiteSpace(text[end - 1])) end--;
                EncodeSpan(text[pos..end], pos == 0, ids);
                ids.Add(token.Id);
                pos = m.Index + m.Length;
                if (token.RStrip) while (pos < text.Length && char.IsWhiteSpace(text[pos])) pos++;
            }
        }
        EncodeSpan(text[pos..], pos == 0, ids);
        return Finish(ids, addEos);
    }

    private List<int> Finish(List<int> ids, bool addEos)
    {
        if (addEos) ids.Add(EosId ?? throw new InvalidOperationException($"{Source}: the tokenizer has no EOS token"));
        return ids;
    }

    private void EncodeSpan(string span, bool atStart, List<int> ids)
    {
        if (span.Length == 0) return;
        string normalized = _normalizer?.Normalize(span) ?? span;
        if (normalized.Length == 0) return;
        var pieces = _preTokenizer?.Split([normalized], atStart) ?? [normalized];
        foreach (string piece in pieces) _model.Tokenize(piece, ids);
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>();
        foreach (int id in ids)
        {
            string? token = (uint)id < (uint)VocabSize ? _idToToken[id] : null;
            if (token is null) throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id {id} is not in the vocabulary of {Source}");
            if (skipSpecialTokens && _isSpecial[id]) continue;
            tokens.Add(token);
        }
        return _decoder is null ? string.Join(" ", tokens) : string.Concat(_decoder.DecodeChain(tokens));
    }
}
