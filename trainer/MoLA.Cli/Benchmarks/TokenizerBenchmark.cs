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
/// best of <c>repeats</c> rounds that alternate the sides, after a warm-up pass on each. The word-length curve
/// (1k..64k characters, best of 3 each) comes from the first reference run.
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
        log("Rust reference: ids and the word-length curve");
        var first = reference.Run(tokenizers, texts, ids: true, repeats: 0, batch: false, words, wordRepeats: 3);
        var ours = new HfTokenizer[tokenizers.Count];
        var rows = new List<(long Tokens, int Mismatched, string? First)>();
        var timings = new List<WordTiming>();
        for (int k = 0; k < tokenizers.Count; k++)
        {
            log($"{tokenizers[k].Name}: loading {tokenizers[k].Path}");
            ours[k] = HfTokenizer.Load(tokenizers[k].Path);
            var ids = texts.Select(t => ours[k].Encode(t)).ToList(); // also our warm-up
            var (mismatched, firstMismatch) = Compare(texts, ids, first[k].Ids!);
            rows.Add((ids.Sum(x => (long)x.Count), mismatched, firstMismatch));
            foreach (var (label, text) in words)
            {
                long before = HfTokenizer.MergeOperationsOnThisThread;
                ours[k].Encode(text);
                long ops = HfTokenizer.MergeOperationsOnThisThread - before;
                double seconds = Best(3, () => ours[k].Encode(text));
                timings.Add(new WordTiming(tokenizers[k].Name, label.Split('/')[0], text.Length, seconds * 1e3, first[k].WordSeconds[label] * 1e3, (double)ops / text.Length));
            }
        }

        // Throughput rounds alternate the two sides (the machine's load drifts); each keeps its best round.
        var rust = new double[tokenizers.Count];
        var rustBatch = new double[tokenizers.Count];
        var single = new double[tokenizers.Count];
        var parallel = new double[tokenizers.Count];
        Array.Fill(rust, double.MaxValue);
        Array.Fill(rustBatch, double.MaxValue);
        Array.Fill(single, double.MaxValue);
        Array.Fill(parallel, double.MaxValue);
        for (int round = 1; round <= repeats; round++)
        {
            log($"round {round}/{repeats}: Rust reference");
            var r = reference.Run(tokenizers, texts, ids: false, repeats: 1, batch: true);
            for (int k = 0; k < tokenizers.Count; k++)
            {
                rust[k] = Math.Min(rust[k], r[k].Seconds!.Value);
                rustBatch[k] = Math.Min(rustBatch[k], r[k].BatchSeconds!.Value);
            }
            log($"round {round}/{repeats}: ours");
            for (int k = 0; k < tokenizers.Count; k++)
            {
                var tok = ours[k];
                single[k] = Math.Min(single[k], Best(1, () => { foreach (var t in texts) tok.Encode(t); }));
                parallel[k] = Math.Min(parallel[k], Best(1, () => System.Threading.Tasks.Parallel.For(0, texts.Count, i => tok.Encode(texts[i]))));
            }
        }

        var throughput = new List<TokenizerThroughput>();
        for (int k = 0; k < tokenizers.Count; k++)
        {
            throughput.Add(new TokenizerThroughput(tokenizers[k].Name, tokenizers[k].Path, rows[k].Tokens, mb / single[k], mb / rust[k], rust[k] / single[k],
                mb / parallel[k], mb / rustBatch[k], rustBatch[k] / parallel[k], rows[k].Mismatched, rows[k].First));
            log($"{tokenizers[k].Name}: ours {mb / single[k]:F2} MB/s, Rust {mb / rust[k]:F2} MB/s");
        }
        return new TokenizerBenchReport(texts.Count, chars, bytes, RustTokenizerReference.Version, Environment.ProcessorCount, repeats, TargetRatio, throughput, timings);
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
