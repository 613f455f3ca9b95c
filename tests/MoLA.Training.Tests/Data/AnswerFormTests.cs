using MoLA.Training.Data;

namespace MoLA.Training.Tests.Data;

/// <summary>Reading which option a generation chose, in the letter form (MoLA's regex) and the choice form (the option's text).</summary>
public sealed class AnswerFormTests
{
    private static readonly MultipleChoiceExample Letters = new("q", ["8", "82", "820", "28"], 1);
    private static readonly MultipleChoiceExample Values = Letters with { Form = AnswerForm.Choice };

    [Theory]
    [InlineData("so. The answer is B.", 1)]
    [InlineData("The answer is D!", 3)]          // MoLA's regex: its final '.' matches any character
    [InlineData("The answer is E.", null)]       // a letter past the options
    [InlineData("The answer is 82.", null)]
    [InlineData("I think B", null)]
    public void TheLetterFormReadsALetter(string generation, int? chosen) =>
        Assert.Equal(chosen, MultipleChoiceFormat.ReadAnswer(generation, Letters));

    [Theory]
    [InlineData("8 + 74 = 82. The answer is 82.", 1)]
    [InlineData("The answer is 820.", 2)]        // the longest option that ends at the '.' wins over its prefixes
    [InlineData("The answer is 8.", 0)]
    [InlineData("The answer is 28. The answer is 8.", 3)] // the first answer counts
    [InlineData("The answer is 82", null)]       // no closing '.'
    [InlineData("The answer is 821.", null)]     // not an option
    [InlineData("The answer is B.", null)]       // a letter is not an option's text
    [InlineData("82.", null)]
    public void TheChoiceFormReadsAnOptionsText(string generation, int? chosen) =>
        Assert.Equal(chosen, MultipleChoiceFormat.ReadAnswer(generation, Values));

    [Fact]
    public void TheTrainingAnswerAndTheScoredCandidatesFollowTheForm()
    {
        Assert.Equal("The answer is B.", Letters.ToSft().Output);
        Assert.Equal("The answer is 82.", Values.ToSft().Output);
        Assert.Equal(["A", "B", "C", "D"], Enumerable.Range(0, 4).Select(Letters.AnswerToken));
        Assert.Equal(Values.Choices, Enumerable.Range(0, 4).Select(Values.AnswerToken));
    }
}
