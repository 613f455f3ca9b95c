using System.Text;
using MoLA.Training.Data;

namespace MoLA.Training.Tests.Data;

public sealed class DatasetReaderTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Alpaca_happy_path_with_optional_input_blank_lines_and_bom()
    {
        var p = _dir.Write("a.jsonl",
            "{\"instruction\":\"Add\",\"input\":\"1 2\",\"output\":\"3\"}\n" +
            "\n   \n" +
            "{\"instruction\":\"Say hi\",\"output\":\"hi\",\"extra\":5}\r\n" +
            "{\"instruction\":\"Null input\",\"input\":null,\"output\":\"ok\"}", bom: true);
        var xs = DatasetReader.ReadAlpaca(p);
        Assert.Equal(3, xs.Count);
        Assert.Equal(new SftExample("Add", "1 2", "3"), xs[0]);
        Assert.Equal(new SftExample("Say hi", "", "hi"), xs[1]);
        Assert.False(xs[1].HasInput);
        Assert.Equal(new SftExample("Null input", "", "ok"), xs[2]);
    }

    [Fact]
    public void MultipleChoice_happy_path_letter_and_index()
    {
        var p = _dir.Write("mc.jsonl",
            "{\"question\":\"2+2?\",\"choices\":[\"3\",\"4\",\"5\"],\"answer\":\"B\"}\n" +
            "{\"question\":\"Sky?\",\"choices\":[\"blue\",\"green\"],\"answer\":0}\n");
        var xs = DatasetReader.ReadMultipleChoice(p);
        Assert.Equal(2, xs.Count);
        Assert.Equal(1, xs[0].AnswerIndex);
        Assert.Equal('B', xs[0].AnswerLetter);
        Assert.Equal(["3", "4", "5"], xs[0].Choices);
        Assert.Equal('A', xs[1].AnswerLetter);
    }

    [Fact]
    public void MultipleChoice_answer_form_round_trips_through_jsonl()
    {
        var item = new MultipleChoiceExample("2+2?", ["3", "4", "5"], 1) { Form = AnswerForm.Choice };
        var p = _dir.Write("form.jsonl", Jsonl.MultipleChoice(item) + "\n" +
            "{\"question\":\"Sky?\",\"choices\":[\"blue\",\"green\"],\"answer\":0,\"answer_form\":\"letter\"}\n");
        var xs = DatasetReader.ReadMultipleChoice(p);
        Assert.Equal(AnswerForm.Choice, xs[0].Form);
        Assert.Equal("The answer is 4.", xs[0].ToSft().Output);
        Assert.Equal(AnswerForm.Letter, xs[1].Form);
        Assert.Equal("The answer is A.", xs[1].ToSft().Output);
    }

    [Fact]
    public void PlainText_line_per_document_and_whole_file()
    {
        var p = _dir.Write("t.txt", "first doc\n\nsecond doc\r\n", bom: true);
        Assert.Equal(["first doc", "second doc"], DatasetReader.ReadPlainText(p));
        Assert.Equal(["first doc\n\nsecond doc\r\n"], DatasetReader.ReadPlainText(p, PlainTextMode.WholeFile));
    }

    [Theory]
    [InlineData("{\"instruction\":\"x\",\"output\":", null, "invalid JSON")]
    [InlineData("[1,2]", null, "expected a JSON object")]
    [InlineData("{\"output\":\"y\"}", "instruction", "missing")]
    [InlineData("{\"instruction\":\"  \",\"output\":\"y\"}", "instruction", "empty")]
    [InlineData("{\"instruction\":\"x\",\"output\":\"\"}", "output", "empty")]
    [InlineData("{\"instruction\":5,\"output\":\"y\"}", "instruction", "expected a string")]
    [InlineData("{\"instruction\":\"x\",\"input\":[],\"output\":\"y\"}", "input", "expected a string or null")]
    public void Alpaca_malformed_line_reports_path_line_and_field(string badLine, string? field, string fragment)
    {
        var p = _dir.Write("bad.jsonl", "{\"instruction\":\"ok\",\"output\":\"fine\"}\n\n" + badLine + "\n");
        var ex = Assert.Throws<DatasetException>(() => DatasetReader.ReadAlpaca(p));
        Assert.Equal(p, ex.Path);
        Assert.Equal(3, ex.Line);
        Assert.Equal(field, ex.Field);
        Assert.StartsWith(field is null ? $"{p}:3: " : $"{p}:3: field '{field}': ", ex.Message);
        Assert.Contains(fragment, ex.Message);
    }

    [Theory]
    [InlineData("{\"choices\":[\"a\",\"b\"],\"answer\":\"A\"}", "question", "missing")]
    [InlineData("{\"question\":\"q\",\"answer\":\"A\"}", "choices", "missing")]
    [InlineData("{\"question\":\"q\",\"choices\":\"ab\",\"answer\":\"A\"}", "choices", "expected an array")]
    [InlineData("{\"question\":\"q\",\"choices\":[\"a\"],\"answer\":\"A\"}", "choices", "expected 2 to 26 choices, got 1")]
    [InlineData("{\"question\":\"q\",\"choices\":[\"a\",3],\"answer\":\"A\"}", "choices", "choice 1 is Number")]
    [InlineData("{\"question\":\"q\",\"choices\":[\"a\",\"\"],\"answer\":\"A\"}", "choices", "choice 1 is empty")]
    [InlineData("{\"question\":\"q\",\"choices\":[\"a\",\"b\",\"a\"],\"answer\":\"A\"}", "choices", "duplicate choice \"a\"")]
    [InlineData("{\"question\":\"q\",\"choices\":[\"a\",\"b\"],\"answer\":\"C\"}", "answer", "out of range for 2 choices")]
    [InlineData("{\"question\":\"q\",\"choices\":[\"a\",\"b\"],\"answer\":2}", "answer", "out of range for 2 choices")]
    [InlineData("{\"question\":\"q\",\"choices\":[\"a\",\"b\"],\"answer\":-1}", "answer", "non-negative integer")]
    [InlineData("{\"question\":\"q\",\"choices\":[\"a\",\"b\"],\"answer\":\"AB\"}", "answer", "expected a letter")]
    [InlineData("{\"question\":\"q\",\"choices\":[\"a\",\"b\"],\"answer\":true}", "answer", "expected a letter string or an integer")]
    [InlineData("{\"question\":\"q\",\"choices\":[\"a\",\"b\"]}", "answer", "missing")]
    [InlineData("{\"question\":\"q\",\"choices\":[\"a\",\"b\"],\"answer\":\"A\",\"answer_form\":\"value\"}", "answer_form", "expected \"letter\"")]
    public void MultipleChoice_malformed_line_reports_path_line_and_field(string badLine, string field, string fragment)
    {
        var p = _dir.Write("badmc.jsonl", "{\"question\":\"ok\",\"choices\":[\"x\",\"y\"],\"answer\":\"A\"}\n" + badLine);
        var ex = Assert.Throws<DatasetException>(() => DatasetReader.ReadMultipleChoice(p));
        Assert.Equal(2, ex.Line);
        Assert.Equal(field, ex.Field);
        Assert.StartsWith($"{p}:2: field '{field}': ", ex.Message);
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void Whole_file_is_validated_and_errors_are_reported_together_up_to_the_limit()
    {
        var sb = new StringBuilder();
        for (int i = 1; i <= 10; i++)
            sb.Append(i % 2 == 0 ? "{\"instruction\":\"x\"}\n" : "{\"instruction\":\"x\",\"output\":\"y\"}\n");
        var p = _dir.Write("many.jsonl", sb.ToString());
        var ex = Assert.Throws<DatasetException>(() => DatasetReader.ReadAlpaca(p, maxErrors: 3));
        Assert.Equal(5, ex.TotalErrors);
        Assert.Equal([2, 4, 6], ex.Errors.Select(e => e.Line));
        Assert.All(ex.Errors, e => Assert.Equal("output", e.Field));
        Assert.Contains("5 errors in dataset (showing the first 3):", ex.Message);
        Assert.Contains($"{p}:6: field 'output': missing", ex.Message);
    }

    [Fact]
    public void Several_bad_fields_on_one_line_are_all_reported()
    {
        var p = _dir.Write("two.jsonl", "{\"instruction\":1,\"output\":2}\n");
        var ex = Assert.Throws<DatasetException>(() => DatasetReader.ReadAlpaca(p));
        Assert.Equal(["instruction", "output"], ex.Errors.Select(e => e.Field));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n  \n\n")]
    public void File_without_examples_is_an_error(string content)
    {
        var p = _dir.Write("empty.jsonl", content, bom: true);
        var ex = Assert.Throws<DatasetException>(() => DatasetReader.ReadAlpaca(p));
        Assert.Equal(0, ex.Line);
        Assert.Equal($"{p}: the file contains no examples", ex.Message);
        Assert.Throws<DatasetException>(() => DatasetReader.ReadMultipleChoice(p));
        Assert.Throws<DatasetException>(() => DatasetReader.ReadPlainText(p));
        Assert.Throws<DatasetException>(() => DatasetReader.ReadPlainText(p, PlainTextMode.WholeFile));
    }

    [Fact]
    public void Invalid_utf8_is_reported_with_its_line()
    {
        var p = _dir.File_("bin.jsonl");
        var good = Encoding.UTF8.GetBytes("{\"instruction\":\"x\",\"output\":\"y\"}\n");
        File.WriteAllBytes(p, [.. good, 0xFF, 0xFE, (byte)'\n']);
        var ex = Assert.Throws<DatasetException>(() => DatasetReader.ReadAlpaca(p));
        Assert.Contains("invalid UTF-8", ex.Message);
        Assert.Equal(2, ex.Line);
    }
}
