using System.Diagnostics;
using System.Text;
using MoLA.Training.Tokenizers;
using MoLA.Training.Tokenizers.Reference;

namespace MoLA.Cli.Benchmarks;

/// <summary>One tokenizer's corpus throughput, ours against the Rust library, and whether the ids agree.</summary>
internal sealed record TokenizerThroughput(string Name, string Path, long Tokens, double OursMbPerSecond, double RustMbPerSecond, double Ratio,
    double OursParallelMbPerSecond, double RustBatchMbPerSecond, double ParallelRatio, int MismatchedTexts, string? FirstMismatch);

/// <summary>Encoding time of one word of <c>Length</c> characters ("a" repeated, or a varied word).</summary>
internal sealed record WordTiming(string Tokenizer, string Word, int Length, double OursMs, double RustMs, double OursMergeOpsPerChar);

internal sealed record TokenizerBenchReport(int CorpusTexts, long CorpusChars, long CorpusBytes, string ReferenceVersion, int Threads, int Repeats,
    double TargetRatio, IReadOnlyList<TokenizerThroughput> Tokenizers, IReadOnlyList<WordTiming> Curve);

/// <summary>
/// <c>mola bench tokenizer</c>: the seeded corpus (<see cref="TokenizerCorpus"/>) encoded by our HF tokenizer and by
/// Hugging Face's Rust library (npm binding, <see cref="RustTokenizerReference"/>) on the same machine in one run:
/// one thread each (the reference encodes text after text), then all cores (Parallel.For against encodeBatch);
/// best of <c>repeats</c> after a warm-up pass on both sides. Then the word-length curve, 1k..64k characters.
/// </summary>
internal static class TokenizerBenchmark
{
    public const double TargetRatio = 1.0 / 3;
    public static readonly int[] WordLengths = [1024, 2048, 4096, 8192, 16384, 32768, 65536];

    public static TokenizerBenchReport Run(IReadOnlyList<ReferenceTokenizer>? files, int corpusChars, int repeats, bool curve, Action<string> log)
    {
        var reference = RustTokenizerReference.Open(log);
        var tokenizers = files ?? reference.RealTokenizers();
        var texts = TokenizerCorpus.Generate(corpusChars);
        long chars = texts.Sum(t => (long)t.Length);
        long bytes = texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
        double mb = bytes / 1e6;
        var words = new List<(string Label, string Text)>();
        if (curve)
        {
            foreach (int n in WordLengths)
            {
                words.Add(($"a/{n}", new string('a', n)));
                words.Add(($"varied/{n}", TokenizerCorpus.VariedWord(n)));
            }
        }

        log($"corpus: {texts.Count} texts, {chars:N0} characters, {mb:F2} MB UTF-8; reference: tokenizers {RustTokenizerReference.Version} (node)");
        log("running the Rust reference");
        var rust = reference.Run(tokenizers, texts, ids: true, repeats, batch: true, words, wordRepeats: 3);

        var rows = new List<TokenizerThroughput>();
        var timings = new List<WordTiming>();
        for (int k = 0; k < tokenizers.Count; k++)
        {
            var file = tokenizers[k];
            var r = rust[k];
            log($"{file.Name}: loading {file.Path}");
            var ours = HfTokenizer.Load(file.Path);
            var ids = texts.Select(t => ours.Encode(t)).ToList(); // also the warm-up
            var (mismatched, first) = Compare(texts, ids, r.Ids!);
            double single = Best(repeats, () => { foreach (var t in texts) ours.Encode(t); });
            double parallel = Best(repeats, () => System.Threading.Tasks.Parallel.For(0, texts.Count, i => ours.Encode(texts[i])));
            rows.Add(new TokenizerThroughput(file.Name, file.Path, ids.Sum(x => (long)x.Count), mb / single, mb / r.Seconds!.Value, r.Seconds.Value / single,
                mb / parallel, mb / r.BatchSeconds!.Value, r.BatchSeconds.Value / parallel, mismatched, first));
            log($"{file.Name}: ours {mb / single:F2} MB/s, Rust {mb / r.Seconds.Value:F2} MB/s");

            foreach (var (label, text) in words)
            {
                long before = HfTokenizer.MergeOperationsOnThisThread;
                ours.Encode(text);
                long ops = HfTokenizer.MergeOperationsOnThisThread - before;
                double seconds = Best(3, () => ours.Encode(text));
                var parts = label.Split('/');
                timings.Add(new WordTiming(file.Name, parts[0], text.Length, seconds * 1e3, r.WordSeconds[label] * 1e3, (double)ops / text.Length));
            }
        }
        return new TokenizerBenchReport(texts.Count, chars, bytes, RustTokenizerReference.Version, Environment.ProcessorCount, repeats, TargetRatio, rows, timings);
    }

    private static double Best(int repeats, Action run)
    {
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>How many texts' ids differ, and a description of the first.</summary>
    internal static (int Count, string? First) Compare(IReadOnlyList<string> texts, IReadOnlyList<IReadOnlyList<int>> ours, int[][] reference)
    {
        int count = 0;
        string? first = null;
        for (int i = 0; i < texts.Count; i++)
        {
            if (ours[i].SequenceEqual(reference[i])) continue;
            count++;
            if (first is not null) continue;
            int at = 0;
            while (at < ours[i].Count && at < reference[i].Length && ours[i][at] == reference[i][at]) at++;
            first = $"text {i} ({texts[i].Length} chars) differs at token {at}: ours [{string.Join(' ', ours[i].Skip(at).Take(8))}], " +
                    $"Rust [{string.Join(' ', reference[i].Skip(at).Take(8))}]";
        }
        return (count, first);
    }
}
