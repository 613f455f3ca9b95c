namespace MoLA.Training.Data;

/// <summary>An instruction-tuning example in alpaca form. <see cref="Input"/> is "" when absent.</summary>
public sealed record SftExample(string Instruction, string Input, string Output)
{
    public bool HasInput => Input.Length > 0;
}

/// <summary>A multiple-choice item: 2..26 distinct choices, <see cref="AnswerIndex"/> is 0-based.</summary>
public sealed record MultipleChoiceExample
{
    public MultipleChoiceExample(string question, IReadOnlyList<string> choices, int answerIndex)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.Count < MinChoices || choices.Count > MaxChoices)
            throw new ArgumentOutOfRangeException(nameof(choices), $"Between {MinChoices} and {MaxChoices} choices are required, got {choices.Count}.");
        if ((uint)answerIndex >= (uint)choices.Count)
            throw new ArgumentOutOfRangeException(nameof(answerIndex), $"Answer index {answerIndex} is out of range for {choices.Count} choices.");
        Question = question;
        Choices = choices.ToArray();
        AnswerIndex = answerIndex;
    }

    public const int MinChoices = 2;
    public const int MaxChoices = 26;

    public string Question { get; }
    public IReadOnlyList<string> Choices { get; }
    public int AnswerIndex { get; }

    /// <summary>How the answer is written: the option's letter (MoLA's benchmarks, the default) or the option's text.</summary>
    public AnswerForm Form { get; init; }

    /// <summary>'A' for index 0, 'B' for 1, ...</summary>
    public char AnswerLetter => (char)('A' + AnswerIndex);

    /// <summary>What stands for choice <paramref name="index"/> after "The answer is ": its letter or its text (<see cref="Form"/>).</summary>
    public string AnswerToken(int index) => Form == AnswerForm.Choice ? Choices[index] : ((char)('A' + index)).ToString();

    /// <summary>
    /// MoLA's format: an alpaca instruction (no input) made of the question, a blank line, then one line per
    /// option "A. choice"; the answer is "The answer is X." (X the letter, or the choice's text in the choice form).
    /// </summary>
    public SftExample ToSft() => new(MultipleChoiceFormat.Instruction(Question, Choices), "", MultipleChoiceFormat.Answer(AnswerToken(AnswerIndex)));
}

/// <summary>How a multiple-choice answer names the chosen option.</summary>
public enum AnswerForm
{
    /// <summary>"The answer is B.": the model must map its result to the option's letter.</summary>
    Letter,
    /// <summary>"The answer is 82.": the option's own text, graded against the options (the built-in benchmark).</summary>
    Choice,
}

/// <summary>How multiple-choice items are rendered for instruction tuning and read back from generations.</summary>
public static class MultipleChoiceFormat
{
    /// <summary>Question, blank line, then "A. first", "B. second", ... one per line.</summary>
    public static string Instruction(string question, IReadOnlyList<string> choices)
    {
        var sb = new System.Text.StringBuilder(question);
        sb.Append("\n\n");
        for (int i = 0; i < choices.Count; i++)
        {
            if (i > 0) sb.Append('\n');
            sb.Append((char)('A' + i)).Append(". ").Append(choices[i]);
        }
        return sb.ToString();
    }

    /// <summary>"The answer is X."</summary>
    public static string Answer(char letter) => $"The answer is {letter}.";

    /// <summary>"The answer is X." with X a letter or a choice's text.</summary>
    public static string Answer(string answer) => $"The answer is {answer}.";

    /// <summary>MoLA's evaluation regex, verbatim (its final '.' matches any character).</summary>
    public const string AnswerPattern = "The answer is ([A-Z]).";

    private static readonly System.Text.RegularExpressions.Regex AnswerRegex =
        new(AnswerPattern, System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// The option a generation chose, or null: after its first "The answer is ", the longest
    /// <see cref="MultipleChoiceExample.AnswerToken"/> of <paramref name="item"/> followed by "." (a letter in the letter
    /// form, as MoLA's regex reads it; an option's text in the choice form).
    /// </summary>
    public static int? ReadAnswer(string generation, MultipleChoiceExample item)
    {
        ArgumentNullException.ThrowIfNull(generation);
        ArgumentNullException.ThrowIfNull(item);
        if (item.Form == AnswerForm.Letter)
            return ExtractAnswer(generation) is char letter && letter - 'A' < item.Choices.Count ? letter - 'A' : null;
        const string Lead = "The answer is ";
        var at = generation.IndexOf(Lead, StringComparison.Ordinal);
        if (at < 0) return null;
        var rest = generation.AsSpan(at + Lead.Length);
        int? best = null;
        for (var c = 0; c < item.Choices.Count; c++)
        {
            var token = item.Choices[c];
            if (rest.Length > token.Length && rest.StartsWith(token, StringComparison.Ordinal) && rest[token.Length] == '.'
                && (best is null || token.Length > item.Choices[best.Value].Length))
                best = c;
        }
        return best;
    }

    /// <summary>The letter of the first match of <see cref="AnswerPattern"/> in a generation, or null.</summary>
    public static char? ExtractAnswer(string generation)
    {
        var m = AnswerRegex.Match(generation);
        return m.Success ? m.Groups[1].Value[0] : null;
    }
}
