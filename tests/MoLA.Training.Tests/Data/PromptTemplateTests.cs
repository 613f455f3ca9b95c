using MoLA.Training.Data;

namespace MoLA.Training.Tests.Data;

public sealed class PromptTemplateTests
{
    [Fact]
    public void Alpaca_with_input_is_the_exact_stanford_wording()
    {
        var s = PromptTemplate.Alpaca.Render(new SftExample("Add the numbers.", "2 and 3", "5"));
        Assert.Equal(
            "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nAdd the numbers.\n\n### Input:\n2 and 3\n\n### Response:\n",
            s);
    }

    [Fact]
    public void Alpaca_without_input_is_the_exact_stanford_wording()
    {
        var s = PromptTemplate.Alpaca.RenderFull(new SftExample("Say hi.", "", "hi"));
        Assert.Equal(
            "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nSay hi.\n\n### Response:\nhi",
            s);
    }

    [Fact]
    public void Custom_template_substitutes_once_and_keeps_literal_braces()
    {
        var t = new PromptTemplate("Q: {instruction} | {input} {json}".Replace("{json}", "{ \"k\": 1 }") + "\nA:", "Q: {instruction}\nA:");
        Assert.Equal("Q: use {input} | x { \"k\": 1 }\nA:", t.Render("use {input}", "x"));
        Assert.Equal("Q: hello\nA:", t.Render("hello", ""));
        var single = new PromptTemplate("[{instruction}]({input})");
        Assert.Equal("[i]()", single.Render("i", ""));
    }

    [Theory]
    [InlineData("no placeholders {input}", null, "{instruction} exactly once")]
    [InlineData("{instruction} {instruction} {input}", null, "{instruction} exactly once")]
    [InlineData("{instruction} only", null, "{input} exactly once")]
    [InlineData("{instruction} {input} {output}", null, "Unknown placeholder {output}")]
    [InlineData("{instruction} {input}", "{instruction} {input}", "must not contain {input}")]
    [InlineData("{instruction} {input}", "nothing", "{instruction} exactly once")]
    public void Invalid_templates_are_rejected(string withInput, string? withoutInput, string fragment)
    {
        var ex = Assert.Throws<ArgumentException>(() => new PromptTemplate(withInput, withoutInput));
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void Multiple_choice_is_rendered_as_alpaca_instruction_with_lettered_options()
    {
        var mc = new MultipleChoiceExample("Which is a fruit?", ["rock", "apple", "car"], 1);
        var sft = mc.ToSft();
        Assert.Equal("Which is a fruit?\n\nA. rock\nB. apple\nC. car", sft.Instruction);
        Assert.Equal("", sft.Input);
        Assert.Equal("The answer is B.", sft.Output);
        Assert.Equal('B', MultipleChoiceFormat.ExtractAnswer("blah. " + sft.Output));
        Assert.Null(MultipleChoiceFormat.ExtractAnswer("I think B"));
    }
}
