using System.Globalization;
using System.Text;

namespace MoLA.Training.Data;

/// <summary>
/// Hand-written JSONL output, so bytes do not depend on System.Text.Json's escaping policy (which may change
/// between .NET versions): only '"', '\\' and control characters are escaped; UTF-8 without BOM, '\n' line ends.
/// </summary>
public static class Jsonl
{
    public static void AppendString(StringBuilder sb, string value)
    {
        sb.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    public static string Alpaca(SftExample e, string? task = null)
    {
        var sb = new StringBuilder("{");
        if (task is not null) { sb.Append("\"task\":"); AppendString(sb, task); sb.Append(','); }
        sb.Append("\"instruction\":"); AppendString(sb, e.Instruction);
        sb.Append(",\"input\":"); AppendString(sb, e.Input);
        sb.Append(",\"output\":"); AppendString(sb, e.Output);
        return sb.Append('}').ToString();
    }

    public static string MultipleChoice(MultipleChoiceExample e, string? task = null)
    {
        var sb = new StringBuilder("{");
        if (task is not null) { sb.Append("\"task\":"); AppendString(sb, task); sb.Append(','); }
        sb.Append("\"question\":"); AppendString(sb, e.Question);
        sb.Append(",\"choices\":[");
        for (int i = 0; i < e.Choices.Count; i++)
        {
            if (i > 0) sb.Append(',');
            AppendString(sb, e.Choices[i]);
        }
        sb.Append("],\"answer\":\"").Append(e.AnswerLetter).Append('"');
        if (e.Form == AnswerForm.Choice) sb.Append(",\"answer_form\":\"choice\"");
        sb.Append('}');
        return sb.ToString();
    }

    /// <summary>Writes lines ('\n' after each) atomically over <paramref name="path"/>, creating its folder.</summary>
    public static void WriteLinesAtomic(string path, IEnumerable<string> lines)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        MoLA.Torch.IO.AtomicFile.WriteLines(path, lines);
    }
}
