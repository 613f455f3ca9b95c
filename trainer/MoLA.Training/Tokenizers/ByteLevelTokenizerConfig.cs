using System.Text.Json;
using MoLA.Torch.IO;

namespace MoLA.Training.Tokenizers;

/// <summary>
/// The tokenizer_config.json that marks a checkpoint directory as using <see cref="ByteLevelTokenizer"/>
/// (there is no tokenizer.json: the vocabulary is the 256 bytes plus three specials, fixed in code).
/// Loaders call <see cref="IsByteLevel"/> before looking for a Hugging Face tokenizer.json.
/// </summary>
public static class ByteLevelTokenizerConfig
{
    public const string FileName = "tokenizer_config.json";

    /// <summary>The value of "tokenizer_class" that identifies the byte-level tokenizer.</summary>
    public const string TokenizerClass = "MoLA.ByteLevelTokenizer";

    /// <summary>Writes tokenizer_config.json (atomically) into <paramref name="directory"/>.</summary>
    public static void Write(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("tokenizer_class", TokenizerClass);
            w.WriteString("mola_tokenizer", "byte-level");
            w.WriteString("description", "ids 0..255 are the UTF-8 bytes of the text; 256 <pad>, 257 <bos>, 258 <eos>");
            w.WriteNumber("vocab_size", ByteLevelTokenizer.Size);
            w.WriteString("pad_token", "<pad>");
            w.WriteString("bos_token", "<bos>");
            w.WriteString("eos_token", "<eos>");
            w.WriteNumber("pad_token_id", ByteLevelTokenizer.Pad);
            w.WriteNumber("bos_token_id", ByteLevelTokenizer.Bos);
            w.WriteNumber("eos_token_id", ByteLevelTokenizer.Eos);
            w.WriteBoolean("add_bos_token", true);
            w.WriteBoolean("add_eos_token", false);
            w.WriteEndObject();
        }
        AtomicFile.WriteAllText(Path.Combine(directory, FileName), System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n");
    }

    /// <summary>
    /// True when <paramref name="directory"/> has a tokenizer_config.json whose tokenizer_class is
    /// <see cref="TokenizerClass"/>; false when the file is absent or names another class. A file that
    /// claims the byte-level class with other special ids is an error (it would silently mis-tokenize).
    /// </summary>
    public static bool IsByteLevel(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return false;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new TokenizerException($"{path}: not valid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new TokenizerException($"{path}: must be a JSON object");
            if (!root.TryGetProperty("tokenizer_class", out var cls) || cls.ValueKind != JsonValueKind.String || cls.GetString() != TokenizerClass)
                return false;
            Expect(root, path, "vocab_size", ByteLevelTokenizer.Size);
            Expect(root, path, "pad_token_id", ByteLevelTokenizer.Pad);
            Expect(root, path, "bos_token_id", ByteLevelTokenizer.Bos);
            Expect(root, path, "eos_token_id", ByteLevelTokenizer.Eos);
            return true;
        }
    }

    private static void Expect(JsonElement root, string path, string field, int value)
    {
        if (!root.TryGetProperty(field, out var e)) return; // optional: the defaults are the class's
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out var v) || v != value)
            throw new TokenizerException($"{path}: field '{field}' is {e.GetRawText()}, but {TokenizerClass} has {field} = {value}");
    }
}
