using System.Text;

namespace MoLA.Training.Tokenizers;

/// <summary>
/// The embedded model's tokenizer: ids 0..255 are the bytes of the UTF-8 encoding of the text,
/// followed by the special tokens <c>&lt;pad&gt;</c>=256, <c>&lt;bos&gt;</c>=257, <c>&lt;eos&gt;</c>=258 (<see cref="VocabSize"/> 259).
/// </summary>
/// <remarks>
/// <see cref="Decode"/> of <see cref="Encode"/> gives back the input for every well-formed string (lone UTF-16 surrogates,
/// which have no UTF-8 form, come back as U+FFFD). Decoding an arbitrary id sequence whose bytes are not valid UTF-8
/// yields U+FFFD for each invalid sequence; it never throws for ids in 0..258.
/// By default special-token names written in the text are ordinary bytes, so training text cannot inject control tokens
/// and the round trip stays lossless; pass <c>parseSpecialTokens: true</c> to have "&lt;pad&gt;"/"&lt;bos&gt;"/"&lt;eos&gt;" in the text read as the special ids.
/// </remarks>
public sealed class ByteLevelTokenizer : ITokenizer
{
    public const int Pad = 256;
    public const int Bos = 257;
    public const int Eos = 258;
    public const int Size = 259;

    private static readonly string[] SpecialNames = ["<pad>", "<bos>", "<eos>"];

    private readonly bool _parseSpecialTokens;

    public ByteLevelTokenizer(bool parseSpecialTokens = false) => _parseSpecialTokens = parseSpecialTokens;

    public int VocabSize => Size;
    public int? BosId => Bos;
    public int? EosId => Eos;
    public int? PadId => Pad;

    public IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length + 2);
        if (addBos) ids.Add(Bos);
        if (!_parseSpecialTokens)
        {
            AddBytes(text.AsSpan(), ids);
        }
        else
        {
            int start = 0;
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] != '<') continue;
                for (int s = 0; s < SpecialNames.Length; s++)
                {
                    if (string.CompareOrdinal(text, i, SpecialNames[s], 0, SpecialNames[s].Length) != 0) continue;
                    AddBytes(text.AsSpan(start, i - start), ids);
                    ids.Add(Pad + s);
                    i += SpecialNames[s].Length - 1;
                    start = i + 1;
                    break;
                }
            }
            AddBytes(text.AsSpan(start), ids);
        }
        if (addEos) ids.Add(Eos);
        return ids;
    }

    private static void AddBytes(ReadOnlySpan<char> text, List<int> ids)
    {
        if (text.IsEmpty) return;
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text)];
        Encoding.UTF8.GetBytes(text, bytes);
        foreach (byte b in bytes) ids.Add(b);
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var sb = new StringBuilder();
        var pending = new List<byte>();
        foreach (int id in ids)
        {
            if ((uint)id < 256u)
            {
                pending.Add((byte)id);
                continue;
            }
            if (id >= Size || id < 0)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id {id} is outside the byte-level vocabulary 0..{Size - 1}");
            Flush(pending, sb);
            if (!skipSpecialTokens) sb.Append(SpecialNames[id - Pad]);
        }
        Flush(pending, sb);
        return sb.ToString();
    }

    private static void Flush(List<byte> pending, StringBuilder sb)
    {
        if (pending.Count == 0) return;
        // Encoding.UTF8 substitutes U+FFFD for invalid sequences instead of throwing.
        sb.Append(Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending)));
        pending.Clear();
    }
}
