using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using MoLA.Training.Data;

namespace MoLA.Training.Tests.Data;

public sealed class EmbeddedBenchmarkTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static readonly EmbeddedBenchmark Bench = EmbeddedBenchmark.Generate(seed: 1234, trainPerTask: 60, testPerTask: 20);

    [Fact]
    public void Has_at_least_four_families_in_both_splits_with_requested_counts()
    {
        Assert.True(EmbeddedBenchmark.Tasks.Count >= 4);
        foreach (var task in EmbeddedBenchmark.Tasks)
        {
            Assert.Equal(60, Bench.Train.Items.Count(i => i.Task == task));
            Assert.Equal(20, Bench.Test.Items.Count(i => i.Task == task));
        }
    }

    [Fact]
    public void Splits_are_disjoint_and_questions_unique()
    {
        var all = Bench.Train.Items.Concat(Bench.Test.Items).Select(i => i.MultipleChoice.Question).ToList();
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
        var trainInstr = Bench.Train.GenerationExamples.Select(g => g.Instruction).ToHashSet();
        Assert.DoesNotContain(Bench.Test.GenerationExamples, g => trainInstr.Contains(g.Instruction));
    }

    [Fact]
    public void Both_formats_agree_and_have_four_distinct_choices()
    {
        foreach (var item in Bench.Train.Items.Concat(Bench.Test.Items))
        {
            var mc = item.MultipleChoice;
            Assert.Equal(4, mc.Choices.Count);
            Assert.Equal(4, mc.Choices.Distinct().Count());
            Assert.Equal(MultipleChoiceFormat.Instruction(mc.Question, mc.Choices), item.Generation.Instruction);
            Assert.Equal(AnswerForm.Choice, mc.Form);
            Assert.EndsWith($"The answer is {Correct(item)}.", item.Generation.Output);
            Assert.Equal(mc.AnswerIndex, MultipleChoiceFormat.ReadAnswer(item.Generation.Output, mc));
        }
    }

    private static string Correct(BenchmarkItem i) => i.MultipleChoice.Choices[i.MultipleChoice.AnswerIndex];
    private static int I(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void Answers_are_actually_correct()
    {
        foreach (var item in Bench.Train.Items.Concat(Bench.Test.Items))
        {
            var q = item.MultipleChoice.Question;
            string expected;
            switch (item.Task)
            {
                case "arithmetic":
                {
                    var m = Regex.Match(q, @"^What is (\d+) ([+-]) (\d+)\?$");
                    Assert.True(m.Success, q);
                    var a = I(m.Groups[1].Value); var b = I(m.Groups[3].Value);
                    expected = (m.Groups[2].Value == "+" ? a + b : a - b).ToString(CultureInfo.InvariantCulture);
                    break;
                }
                case "reverse":
                {
                    var m = Regex.Match(q, "^What is \"([a-z]+)\" written backwards\\?$");
                    Assert.True(m.Success, q);
                    expected = new string(m.Groups[1].Value.Reverse().ToArray());
                    break;
                }
                case "largest":
                {
                    var m = Regex.Match(q, @"^Which number is the largest: ([\d, ]+)\?$");
                    Assert.True(m.Success, q);
                    expected = m.Groups[1].Value.Split(", ").Select(I).Max().ToString(CultureInfo.InvariantCulture);
                    break;
                }
                case "sequence":
                {
                    var m = Regex.Match(q, @"^What number comes next in the sequence ([\d, ]+), \.\.\.\?$");
                    Assert.True(m.Success, q);
                    var xs = m.Groups[1].Value.Split(", ").Select(I).ToArray();
                    Assert.All(xs.Skip(1).Zip(xs), p => Assert.Equal(xs[1] - xs[0], p.First - p.Second));
                    expected = (xs[^1] + xs[1] - xs[0]).ToString(CultureInfo.InvariantCulture);
                    break;
                }
                case "count":
                {
                    var m = Regex.Match(q, "^How many times does the letter '([a-z])' appear in \"([a-z]+)\"\\?$");
                    Assert.True(m.Success, q);
                    expected = m.Groups[2].Value.Count(c => c == m.Groups[1].Value[0]).ToString(CultureInfo.InvariantCulture);
                    break;
                }
                default: throw new InvalidOperationException(item.Task);
            }
            Assert.Equal(expected, Correct(item));
        }
    }

    [Fact]
    public void Answer_positions_vary()
    {
        var letters = Bench.Train.Items.Select(i => i.MultipleChoice.AnswerLetter).Distinct().Order();
        Assert.Equal(['A', 'B', 'C', 'D'], letters);
    }

    private static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void Jsonl_is_byte_identical_for_a_seed_and_reads_back()
    {
        var again = EmbeddedBenchmark.Generate(1234, 60, 20);
        var p1 = _dir.File_("a/train_gen.jsonl");
        var p2 = _dir.File_("b/train_gen.jsonl");
        Bench.Train.WriteJsonl(p1, BenchmarkFormat.Generation);
        again.Train.WriteJsonl(p2, BenchmarkFormat.Generation);
        Assert.Equal(Sha(p1), Sha(p2));
        Bench.Train.WriteJsonl(p1, BenchmarkFormat.Generation); // overwrite in place (atomic rename)
        Assert.Equal(Sha(p1), Sha(p2));
        // Pinned: guards byte-stability across runs, machines and .NET versions.
        Assert.Equal("4584D30456AF3A5E1748248F8A28D6478A7F38FC9DBA485468EEE65B65647E04", Sha(p1));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(p1)!)); // no temp file left

        var other = EmbeddedBenchmark.Generate(1235, 60, 20);
        var p3 = _dir.File_("c.jsonl");
        other.Train.WriteJsonl(p3, BenchmarkFormat.Generation);
        Assert.NotEqual(Sha(p1), Sha(p3));

        Assert.Equal(Bench.Train.GenerationExamples, DatasetReader.ReadAlpaca(p1));

        var mcPath = _dir.File_("test_mc.jsonl");
        Bench.Test.WriteJsonl(mcPath, BenchmarkFormat.MultipleChoice);
        var read = DatasetReader.ReadMultipleChoice(mcPath);
        Assert.Equal(Bench.Test.Items.Count, read.Count);
        for (int i = 0; i < read.Count; i++)
        {
            Assert.Equal(Bench.Test.Items[i].MultipleChoice.Question, read[i].Question);
            Assert.Equal(Bench.Test.Items[i].MultipleChoice.Choices, read[i].Choices);
            Assert.Equal(Bench.Test.Items[i].MultipleChoice.AnswerIndex, read[i].AnswerIndex);
            Assert.Equal(AnswerForm.Choice, read[i].Form); // "answer_form": "choice" travels with the file
        }
    }

    [Fact]
    public void Asking_for_more_distinct_questions_than_exist_fails_fast()
    {
        Assert.Throws<ArgumentException>(() => EmbeddedBenchmark.Generate(1, 2000, 0));
    }

    [Fact]
    public void Corpus_is_deterministic_true_and_reads_back()
    {
        var docs = EmbeddedCorpus.Generate(7, 200);
        Assert.Equal(200, docs.Count);
        Assert.Equal(docs, EmbeddedCorpus.Generate(7, 200));
        Assert.NotEqual(docs, EmbeddedCorpus.Generate(8, 200));
        foreach (Match m in Regex.Matches(string.Join(" ", docs), @"(\d+) ([+-]) (\d+) = (\d+)\."))
        {
            int a = I(m.Groups[1].Value), b = I(m.Groups[3].Value);
            Assert.Equal(m.Groups[2].Value == "+" ? a + b : a - b, I(m.Groups[4].Value));
        }
        Assert.Contains(docs, d => d.Contains("written backwards is", StringComparison.Ordinal));
        var p = _dir.File_("corpus.txt");
        EmbeddedCorpus.WriteText(p, docs);
        Assert.Equal(docs, DatasetReader.ReadPlainText(p));
    }
}
