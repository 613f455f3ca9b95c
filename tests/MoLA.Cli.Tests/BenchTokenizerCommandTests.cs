using System.Text.Json;
using System.Text.Json.Nodes;
using MoLA.Training.Tokenizers.Reference;

namespace MoLA.Cli.Tests;

/// <summary>A fact that needs Node.js and npm (the Rust tokenizer reference); skipped with the reason when they are missing.</summary>
public sealed class NodeFactAttribute : FactAttribute
{
    public NodeFactAttribute()
    {
        if (RustTokenizerReference.Unavailable() is { } why) Skip = why;
    }
}

public sealed class BenchTokenizerCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mola-bench-tok-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>A byte-level BPE tokenizer.json with a handful of merges (GPT-2 byte alphabet, GPT-2 split regex).</summary>
    private string SmallByteLevelFile()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 12)).Concat(Enumerable.Range(0xAE, 0x100 - 0xAE)).ToHashSet();
        var vocab = new JsonObject();
        int extra = 0;
        for (int b = 0; b < 256; b++) vocab[((char)(printable.Contains(b) ? b : 256 + extra++)).ToString()] = b;
        string[] merges = ["t h", "th e", "Ġ th", "Ġth e", "i n", "a n", "e r", "o n"];
        for (int i = 0; i < merges.Length; i++) vocab[merges[i].Replace(" ", "", StringComparison.Ordinal)] = 256 + i;
        var json = new JsonObject
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null, ["added_tokens"] = new JsonArray(), ["normalizer"] = null, ["post_processor"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab, ["merges"] = new JsonArray(merges.Select(m => (JsonNode)m).ToArray()),
            },
        };
        string path = Path.Combine(_dir, "small", "tokenizer.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    [Fact]
    public void A_missing_or_broken_tokenizer_file_is_a_usage_error_naming_it()
    {
        string missing = Path.Combine(_dir, "nope.json");
        var run = Cli.InProcess("bench", "tokenizer", "--tokenizer", missing);
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains($"--tokenizer {missing}: no such file", run.Stderr);

        string broken = Path.Combine(_dir, "broken.json");
        File.WriteAllText(broken, "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
        run = Cli.InProcess("bench", "tokenizer", "--tokenizer", broken);
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains($"{broken}: model.type 'Unigram' is not supported", run.Stderr);

        run = Cli.InProcess("bench", "tokenizer", "--repeats", "0");
        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("--repeats", run.Stderr);
    }

    [NodeFact]
    public void A_small_run_compares_ids_and_reports_throughput_and_the_curve()
    {
        string file = SmallByteLevelFile();
        var run = Cli.InProcess("bench", "tokenizer", "--tokenizer", file, "--corpus-chars", "20000", "--repeats", "1", "--json");
        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        using var doc = JsonDocument.Parse(run.Stdout);
        var row = doc.RootElement.GetProperty("tokenizers")[0];
        Assert.Equal("small", row.GetProperty("name").GetString());
        Assert.Equal(0, row.GetProperty("mismatched_texts").GetInt32());
        Assert.True(row.GetProperty("tokens").GetInt64() > 10_000);
        Assert.True(row.GetProperty("ratio").GetDouble() > 0);
        var curve = doc.RootElement.GetProperty("curve");
        Assert.Equal(14, curve.GetArrayLength()); // 7 lengths x ("a", varied)
        Assert.All(curve.EnumerateArray(), p => Assert.True(p.GetProperty("rust_ms").GetDouble() > 0));
    }
}
