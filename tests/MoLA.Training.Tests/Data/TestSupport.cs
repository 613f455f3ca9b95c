using System.Text;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Tests.Data;

/// <summary>One id per UTF-8 byte (byte + 3); 0 = pad, 1 = BOS, 2 = EOS.</summary>
internal sealed class ByteTokenizer(int? bos = 1, int? eos = 2, int? pad = 0) : ITokenizer
{
    public int VocabSize => 259;
    public int? BosId => bos;
    public int? EosId => eos;
    public int? PadId => pad;

    public IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false)
    {
        var ids = new List<int>();
        if (addBos && bos is int b) ids.Add(b);
        ids.AddRange(Encoding.UTF8.GetBytes(text).Select(x => x + 3));
        if (addEos && eos is int e) ids.Add(e);
        return ids;
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true) =>
        Encoding.UTF8.GetString(ids.Where(i => i >= 3).Select(i => (byte)(i - 3)).ToArray());
}

/// <summary>A temp folder deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("mola-data-tests-").FullName;

    public string Write(string name, string content, bool bom = false)
    {
        var p = System.IO.Path.Combine(Path, name);
        File.WriteAllText(p, content, new UTF8Encoding(bom));
        return p;
    }

    public string File_(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
