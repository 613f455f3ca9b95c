using System.Text;
using System.Text.RegularExpressions;

namespace MoLA.Training.Data;

/// <summary>
/// Renders the prompt part (everything before the answer) of an <see cref="SftExample"/>. Two templates: one for
/// examples with an input (must contain {instruction} and {input} once each) and one for examples without
/// (must contain {instruction} once and no {input}). Any other <c>{identifier}</c> placeholder is rejected; other
/// braces are literal. Substitution is single-pass: placeholder-like text inside the values is not expanded.
/// </summary>
public sealed class PromptTemplate
{
    public const string AlpacaWithInput =
        "Below is an instruction that describes a task, paired with an input that provides further context. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n";

    public const string AlpacaWithoutInput =
        "Below is an instruction that describes a task. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\n{instruction}\n\n### Response:\n";

    // Declared before Alpaca: static initializers run in textual order.
    private static readonly Regex Placeholder = new(@"\{([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant);

    /// <summary>The Stanford alpaca template (MoLA's prompt format).</summary>
    public static PromptTemplate Alpaca { get; } = new(AlpacaWithInput, AlpacaWithoutInput);

    /// <summary>Alpaca's sections without its preamble sentence: ~100 fewer tokens per example for byte-level models.</summary>
    public static PromptTemplate AlpacaShort { get; } = new(
        "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
        "### Instruction:\n{instruction}\n\n### Response:\n");

    /// <summary>A template by name: alpaca | alpaca-short.</summary>
    public static PromptTemplate Named(string name) => name switch
    {
        "alpaca" => Alpaca,
        "alpaca-short" => AlpacaShort,
        _ => throw new ArgumentException($"unknown prompt template '{name}' (alpaca, alpaca-short)", nameof(name)),
    };

    private readonly (string Literal, string? Slot)[] _withInput;
    private readonly (string Literal, string? Slot)[] _withoutInput;

    /// <param name="withInput">Template used when the example has a non-empty input.</param>
    /// <param name="withoutInput">Template used when the input is empty; when null, <paramref name="withInput"/> is used with {input} rendered as "".</param>
    public PromptTemplate(string withInput, string? withoutInput = null)
    {
        ArgumentNullException.ThrowIfNull(withInput);
        _withInput = Parse(withInput, requireInput: true, nameof(withInput));
        _withoutInput = withoutInput is null ? _withInput : Parse(withoutInput, requireInput: false, nameof(withoutInput));
        WithInput = withInput;
        WithoutInput = withoutInput;
    }

    public string WithInput { get; }
    public string? WithoutInput { get; }

    /// <summary>Prompt for an example (ends where the answer starts).</summary>
    public string Render(SftExample example) => Render(example.Instruction, example.Input);

    public string Render(string instruction, string input)
    {
        var parts = input.Length > 0 ? _withInput : _withoutInput;
        var sb = new StringBuilder();
        foreach (var (literal, slot) in parts)
        {
            sb.Append(literal);
            if (slot == "instruction") sb.Append(instruction);
            else if (slot == "input") sb.Append(input);
        }
        return sb.ToString();
    }

    /// <summary>Prompt followed by the answer.</summary>
    public string RenderFull(SftExample example) => Render(example) + example.Output;

    private static (string, string?)[] Parse(string template, bool requireInput, string paramName)
    {
        var parts = new List<(string, string?)>();
        int pos = 0, instructions = 0, inputs = 0;
        foreach (Match m in Placeholder.Matches(template))
        {
            var name = m.Groups[1].Value;
            if (name == "instruction") instructions++;
            else if (name == "input") inputs++;
            else throw new ArgumentException($"Unknown placeholder {{{name}}} in prompt template; only {{instruction}} and {{input}} are allowed.", paramName);
            parts.Add((template[pos..m.Index], name));
            pos = m.Index + m.Length;
        }
        parts.Add((template[pos..], null));
        if (instructions != 1)
            throw new ArgumentException($"Prompt template must contain {{instruction}} exactly once (found {instructions}).", paramName);
        if (requireInput && inputs != 1)
            throw new ArgumentException($"Prompt template for examples with input must contain {{input}} exactly once (found {inputs}).", paramName);
        if (!requireInput && inputs != 0)
            throw new ArgumentException("Prompt template for examples without input must not contain {input}.", paramName);
        return parts.ToArray();
    }
}
