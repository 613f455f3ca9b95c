using System.Globalization;
using System.Text;
using MoLA.Model;

namespace MoLA.Training.Data;

/// <summary>Which JSONL form a benchmark split is written in.</summary>
public enum BenchmarkFormat
{
    /// <summary>Alpaca generation task: instruction lists the options, output ends with "The answer is X.".</summary>
    Generation,
    /// <summary>{"question", "choices", "answer"} with a letter answer.</summary>
    MultipleChoice,
}

/// <summary>
/// One generated problem in both formats. <see cref="Generation"/>'s instruction is
/// <see cref="MultipleChoiceFormat.Instruction"/> of the item and its output is a short worked answer followed by
/// "The answer is X." where X is the correct option's text (e.g. "82"): the items are in <see cref="AnswerForm.Choice"/>,
/// graded on the value, because the tiny base computes values but cannot map them to option letters (docs/PERFORMANCE.md).
/// </summary>
public sealed record BenchmarkItem(string Task, MultipleChoiceExample MultipleChoice, SftExample Generation, string Statement);

/// <summary>One split; items ordered task by task (families in <see cref="EmbeddedBenchmark.Tasks"/> order).</summary>
public sealed class BenchmarkSplit
{
    internal BenchmarkSplit(IReadOnlyList<BenchmarkItem> items) => Items = items;

    public IReadOnlyList<BenchmarkItem> Items { get; }
    public IEnumerable<SftExample> GenerationExamples => Items.Select(i => i.Generation);
    public IEnumerable<MultipleChoiceExample> MultipleChoiceExamples => Items.Select(i => i.MultipleChoice);

    /// <summary>JSONL lines (with a "task" field, ignored by the readers).</summary>
    public IEnumerable<string> JsonlLines(BenchmarkFormat format) => Items.Select(i => format == BenchmarkFormat.Generation
        ? Jsonl.Alpaca(i.Generation, i.Task)
        : Jsonl.MultipleChoice(i.MultipleChoice, i.Task));

    /// <summary>Writes the split atomically (temp file + rename); same seed -> byte-identical file.</summary>
    public void WriteJsonl(string path, BenchmarkFormat format) => Jsonl.WriteLinesAtomic(path, JsonlLines(format));
}

/// <summary>
/// Seeded synthetic benchmark with computable answers, for testing the MoLA pipeline on a tiny model. Families:
/// "arithmetic" (a + b or a - b, 0..99), "reverse" (reverse a 4-6 letter word of distinct letters),
/// "largest" (largest of four distinct numbers 0..999), "sequence" (next term of an arithmetic progression),
/// "count" (occurrences of a letter in a word). Every item has 4 distinct choices, the correct one at a random
/// position. Train and test never share a question (nor does any question appear twice). Uses only
/// <see cref="SplitMix64"/> and integer arithmetic, so output is identical across runs and .NET versions.
/// </summary>
public sealed class EmbeddedBenchmark
{
    public static IReadOnlyList<string> Tasks { get; } = ["arithmetic", "reverse", "largest", "sequence", "count"];

    private EmbeddedBenchmark(BenchmarkSplit train, BenchmarkSplit test) { Train = train; Test = test; }

    public BenchmarkSplit Train { get; }
    public BenchmarkSplit Test { get; }

    /// <summary>Generates <paramref name="trainPerTask"/> train and <paramref name="testPerTask"/> test items per family.</summary>
    public static EmbeddedBenchmark Generate(ulong seed, int trainPerTask, int testPerTask)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trainPerTask);
        ArgumentOutOfRangeException.ThrowIfNegative(testPerTask);
        var train = new List<BenchmarkItem>();
        var test = new List<BenchmarkItem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int t = 0; t < Tasks.Count; t++)
        {
            // One stream per family so adding a family never changes the others.
            var rng = new SplitMix64(seed * 0x9E3779B97F4A7C15UL + (ulong)(t + 1) * 0xBF58476D1CE4E5B9UL);
            Fill(train, Tasks[t], trainPerTask, ref rng, seen);
            Fill(test, Tasks[t], testPerTask, ref rng, seen);
        }
        return new EmbeddedBenchmark(new BenchmarkSplit(train), new BenchmarkSplit(test));
    }

    private static void Fill(List<BenchmarkItem> into, string task, int count, ref SplitMix64 rng, HashSet<string> seen)
    {
        var maxAttempts = 1000 + 50 * count;
        for (int made = 0, attempts = 0; made < count; attempts++)
        {
            if (attempts > maxAttempts)
                throw new ArgumentException($"Could not generate {count} distinct '{task}' questions; ask for fewer.");
            var item = Make(task, ref rng);
            if (!seen.Add(item.MultipleChoice.Question)) continue;
            into.Add(item);
            made++;
        }
    }

    /// <summary>A problem before the options are shuffled: question, answer, 3 wrong answers, explanation.</summary>
    internal readonly record struct Problem(string Question, string Answer, string[] Wrong, string Worked, string Statement);

    internal static BenchmarkItem Make(string task, ref SplitMix64 rng)
    {
        var p = MakeProblem(task, ref rng);
        var choices = new List<string>(4) { p.Answer };
        choices.AddRange(p.Wrong);
        DeterministicShuffle.ShuffleInPlace(choices, ref rng);
        var answerIndex = choices.IndexOf(p.Answer);
        var mc = new MultipleChoiceExample(p.Question, choices, answerIndex) { Form = AnswerForm.Choice };
        var gen = new SftExample(MultipleChoiceFormat.Instruction(p.Question, choices), "",
            p.Worked + " " + MultipleChoiceFormat.Answer(p.Answer));
        return new BenchmarkItem(task, mc, gen, p.Statement);
    }

    internal static Problem MakeProblem(string task, ref SplitMix64 rng) => task switch
    {
        "arithmetic" => Arithmetic(ref rng),
        "reverse" => Reverse(ref rng),
        "largest" => Largest(ref rng),
        "sequence" => Sequence(ref rng),
        "count" => Count(ref rng),
        _ => throw new ArgumentException($"Unknown task '{task}'.", nameof(task)),
    };

    private static string S(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Three distinct integers near <paramref name="answer"/> (offsets ±1..±span), all >= min, none equal to it.</summary>
    private static string[] NumericDistractors(int answer, int span, int min, ref SplitMix64 rng)
    {
        var set = new List<int>(3);
        while (set.Count < 3)
        {
            var off = rng.NextInt(1, span) * (rng.NextInt(2) == 0 ? -1 : 1);
            var v = answer + off;
            if (v < min || set.Contains(v)) continue;
            set.Add(v);
        }
        return set.Select(S).ToArray();
    }

    private static Problem Arithmetic(ref SplitMix64 rng)
    {
        var a = rng.NextInt(0, 99);
        var b = rng.NextInt(0, 99);
        var add = rng.NextInt(2) == 0;
        if (!add && b > a) (a, b) = (b, a); // keep results non-negative
        var r = add ? a + b : a - b;
        var op = add ? "+" : "-";
        var eq = $"{S(a)} {op} {S(b)} = {S(r)}.";
        return new Problem($"What is {S(a)} {op} {S(b)}?", S(r), NumericDistractors(r, 10, 0, ref rng), eq, eq);
    }

    private static string DistinctLetters(int length, ref SplitMix64 rng)
    {
        var letters = "abcdefghijklmnopqrstuvwxyz".ToCharArray();
        DeterministicShuffle.ShuffleInPlace(letters, ref rng);
        return new string(letters, 0, length);
    }

    private static Problem Reverse(ref SplitMix64 rng)
    {
        var w = DistinctLetters(rng.NextInt(4, 6), ref rng);
        var rev = new string(w.Reverse().ToArray());
        var wrong = new List<string>(3);
        while (wrong.Count < 3)
        {
            var chars = w.ToCharArray();
            DeterministicShuffle.ShuffleInPlace(chars, ref rng);
            var c = new string(chars);
            if (c != rev && !wrong.Contains(c)) wrong.Add(c);
        }
        return new Problem($"What is \"{w}\" written backwards?", rev, wrong.ToArray(),
            $"Reading \"{w}\" from the end gives \"{rev}\".", $"The word {w} written backwards is {rev}.");
    }

    private static Problem Largest(ref SplitMix64 rng)
    {
        var nums = new List<int>(4);
        while (nums.Count < 4)
        {
            var v = rng.NextInt(0, 999);
            if (!nums.Contains(v)) nums.Add(v);
        }
        var max = nums.Max();
        var list = string.Join(", ", nums.Select(S));
        return new Problem($"Which number is the largest: {list}?", S(max), nums.Where(n => n != max).Select(S).ToArray(),
            $"Of {list}, the largest is {S(max)}.", $"The largest of {list} is {S(max)}.");
    }

    private static Problem Sequence(ref SplitMix64 rng)
    {
        var start = rng.NextInt(0, 50);
        var step = rng.NextInt(1, 12);
        var terms = rng.NextInt(4, 5);
        var seq = Enumerable.Range(0, terms).Select(i => start + i * step).ToArray();
        var next = start + terms * step;
        var list = string.Join(", ", seq.Select(S));
        return new Problem($"What number comes next in the sequence {list}, ...?", S(next), NumericDistractors(next, step + 2, 0, ref rng),
            $"Each term adds {S(step)}, so after {S(seq[^1])} comes {S(next)}.", $"In the sequence {list}, the next number is {S(next)}.");
    }

    private static Problem Count(ref SplitMix64 rng)
    {
        const string alphabet = "abcdefgh";
        var len = rng.NextInt(5, 10);
        var sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) sb.Append(alphabet[rng.NextInt(alphabet.Length)]);
        var w = sb.ToString();
        var letter = w[rng.NextInt(len)];
        var n = w.Count(c => c == letter);
        var times = n == 1 ? "time" : "times";
        return new Problem($"How many times does the letter '{letter}' appear in \"{w}\"?", S(n), NumericDistractors(n, 3, 0, ref rng),
            $"The letter '{letter}' appears {S(n)} {times} in \"{w}\".", $"The letter {letter} appears {S(n)} {times} in {w}.");
    }
}

/// <summary>
/// Plain-text pre-training corpus from the benchmark's families: each document is 1-4 true statements
/// (e.g. "37 + 45 = 82.") joined by spaces, one document per line. Deterministic for a seed.
/// Note: statements are drawn independently of any benchmark split, so they may coincide with test questions.
/// </summary>
public static class EmbeddedCorpus
{
    public static IReadOnlyList<string> Generate(ulong seed, int documents)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(documents);
        var rng = new SplitMix64(seed ^ 0x5DEECE66DUL);
        var docs = new List<string>(documents);
        for (int d = 0; d < documents; d++)
        {
            var n = rng.NextInt(1, 4);
            var sb = new StringBuilder();
            for (int i = 0; i < n; i++)
            {
                var task = EmbeddedBenchmark.Tasks[rng.NextInt(EmbeddedBenchmark.Tasks.Count)];
                if (i > 0) sb.Append(' ');
                sb.Append(EmbeddedBenchmark.MakeProblem(task, ref rng).Statement);
            }
            docs.Add(sb.ToString());
        }
        return docs;
    }

    /// <summary>Writes one document per line, atomically.</summary>
    public static void WriteText(string path, IEnumerable<string> documents) => Jsonl.WriteLinesAtomic(path, documents);
}
