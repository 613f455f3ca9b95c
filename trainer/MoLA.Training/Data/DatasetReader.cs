using System.Text;
using System.Text.Json;

namespace MoLA.Training.Data;

/// <summary>How a plain-text pre-training file is split into documents.</summary>
public enum PlainTextMode
{
    /// <summary>Each non-blank line is one document.</summary>
    LinePerDocument,
    /// <summary>The whole file is one document.</summary>
    WholeFile,
}

/// <summary>
/// Reads datasets. JSONL readers validate the WHOLE file before returning anything: every malformed line is
/// collected (the first <c>maxErrors</c> are kept) and one <see cref="DatasetException"/> is thrown listing them,
/// so training never starts on a partially consumed file. Blank (whitespace-only) lines are skipped, a UTF-8 BOM is
/// accepted, invalid UTF-8 is an error, and a file without examples is an error.
/// </summary>
public static class DatasetReader
{
    public const int DefaultMaxErrors = 20;

    /// <summary>
    /// Alpaca JSONL: one object per line with string "instruction" (non-empty), optional "input" (string or null,
    /// may be empty) and string "output" (non-empty). Other fields are ignored.
    /// </summary>
    public static IReadOnlyList<SftExample> ReadAlpaca(string path, int maxErrors = DefaultMaxErrors) =>
        ReadJsonl(path, maxErrors, ParseAlpaca);

    /// <summary>
    /// Multiple-choice JSONL: string "question" (non-empty), "choices" an array of 2..26 distinct non-empty strings,
    /// "answer" either a letter string "A".."Z" (upper case) or a 0-based integer index, within the choices; optional
    /// "answer_form": "letter" (default: "The answer is B.") or "choice" ("The answer is &lt;the choice's text&gt;.").
    /// </summary>
    public static IReadOnlyList<MultipleChoiceExample> ReadMultipleChoice(string path, int maxErrors = DefaultMaxErrors) =>
        ReadJsonl(path, maxErrors, ParseMultipleChoice);

    /// <summary>Plain text for pre-training; documents are returned as written (lines without their terminator).</summary>
    public static IReadOnlyList<string> ReadPlainText(string path, PlainTextMode mode = PlainTextMode.LinePerDocument)
    {
        var docs = new List<string>();
        if (mode == PlainTextMode.WholeFile)
        {
            string text;
            try { text = ReadAllText(path); }
            catch (DecoderFallbackException e) { throw new DatasetException(new DatasetError(path, 0, null, "invalid UTF-8: " + e.Message)); }
            if (!string.IsNullOrWhiteSpace(text)) docs.Add(text);
        }
        else
        {
            foreach (var (lineNo, line) in Utf8LineReader.ReadLines(path))
            {
                if (line is null) throw new DatasetException(new DatasetError(path, lineNo, null, "invalid UTF-8"));
                if (!string.IsNullOrWhiteSpace(line)) docs.Add(line);
            }
        }
        if (docs.Count == 0) throw new DatasetException(new DatasetError(path, 0, null, "the file contains no documents"));
        return docs;
    }

    private static StreamReader OpenReader(string path) =>
        new(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false);

    private static string ReadAllText(string path)
    {
        using var reader = OpenReader(path);
        var text = reader.ReadToEnd();
        return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
    }

    private delegate T? LineParser<T>(JsonElement obj, Action<string?, string> error) where T : class;

    private static IReadOnlyList<T> ReadJsonl<T>(string path, int maxErrors, LineParser<T> parse) where T : class
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxErrors, 1);
        var items = new List<T>();
        var errors = new List<DatasetError>();
        var total = 0;
        var lineNo = 0;
        void Report(string? field, string message)
        {
            total++;
            if (errors.Count < maxErrors) errors.Add(new DatasetError(path, lineNo, field, message));
        }

        foreach (var (line, text) in Utf8LineReader.ReadLines(path))
        {
            lineNo = line;
            if (text is null) { Report(null, "invalid UTF-8"); continue; }
            if (string.IsNullOrWhiteSpace(text)) continue;

            JsonDocument doc;
            try { doc = JsonDocument.Parse(text); }
            catch (JsonException e)
            {
                // System.Text.Json appends "LineNumber: 0 | BytePositionInLine: N." (line 0 of the one-line document): say column N+1.
                var what = System.Text.RegularExpressions.Regex.Replace(e.Message, @"\s*(Path: \S+ \| )?LineNumber: \d+ \| BytePositionInLine: \d+\.\s*$", "");
                Report(null, $"invalid JSON at column {(e.BytePositionInLine ?? 0) + 1}: {what}");
                continue;
            }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    Report(null, $"expected a JSON object, got {doc.RootElement.ValueKind}");
                    continue;
                }
                var before = total;
                var item = parse(doc.RootElement, Report);
                if (item is not null && total == before) items.Add(item);
            }
        }

        if (total > 0) throw new DatasetException(errors, total);
        if (items.Count == 0) throw new DatasetException(new DatasetError(path, 0, null, "the file contains no examples"));
        return items;
    }

    private static string? RequiredString(JsonElement obj, string field, Action<string?, string> error)
    {
        if (!obj.TryGetProperty(field, out var v)) { error(field, "missing"); return null; }
        if (v.ValueKind != JsonValueKind.String) { error(field, $"expected a string, got {v.ValueKind}"); return null; }
        var s = v.GetString()!;
        if (string.IsNullOrWhiteSpace(s)) { error(field, "empty"); return null; }
        return s;
    }

    private static SftExample? ParseAlpaca(JsonElement obj, Action<string?, string> error)
    {
        var instruction = RequiredString(obj, "instruction", error);
        var input = "";
        if (obj.TryGetProperty("input", out var inp))
        {
            if (inp.ValueKind == JsonValueKind.String) input = inp.GetString()!;
            else if (inp.ValueKind != JsonValueKind.Null) { error("input", $"expected a string or null, got {inp.ValueKind}"); input = null; }
        }
        var output = RequiredString(obj, "output", error);
        return instruction is null || input is null || output is null ? null : new SftExample(instruction, input, output);
    }

    private static MultipleChoiceExample? ParseMultipleChoice(JsonElement obj, Action<string?, string> error)
    {
        var question = RequiredString(obj, "question", error);

        List<string>? choices = null;
        if (!obj.TryGetProperty("choices", out var ch)) error("choices", "missing");
        else if (ch.ValueKind != JsonValueKind.Array) error("choices", $"expected an array of strings, got {ch.ValueKind}");
        else
        {
            var n = ch.GetArrayLength();
            if (n < MultipleChoiceExample.MinChoices || n > MultipleChoiceExample.MaxChoices)
                error("choices", $"expected {MultipleChoiceExample.MinChoices} to {MultipleChoiceExample.MaxChoices} choices, got {n}");
            else
            {
                choices = new List<string>(n);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                var i = 0;
                foreach (var c in ch.EnumerateArray())
                {
                    if (c.ValueKind != JsonValueKind.String) { error("choices", $"choice {i} is {c.ValueKind}, expected a string"); choices = null; break; }
                    var s = c.GetString()!;
                    if (string.IsNullOrWhiteSpace(s)) { error("choices", $"choice {i} is empty"); choices = null; break; }
                    if (!seen.Add(s.Trim())) { error("choices", $"duplicate choice \"{s}\""); choices = null; break; }
                    choices.Add(s);
                    i++;
                }
            }
        }

        int? answer = null;
        if (!obj.TryGetProperty("answer", out var a)) error("answer", "missing");
        else if (a.ValueKind == JsonValueKind.String)
        {
            var s = a.GetString()!;
            if (s.Length == 1 && s[0] is >= 'A' and <= 'Z') answer = s[0] - 'A';
            else error("answer", $"expected a letter \"A\"..\"Z\" or a 0-based index, got \"{s}\"");
        }
        else if (a.ValueKind == JsonValueKind.Number)
        {
            if (a.TryGetInt32(out var idx) && idx >= 0) answer = idx;
            else error("answer", $"expected a non-negative integer index, got {a.GetRawText()}");
        }
        else error("answer", $"expected a letter string or an integer index, got {a.ValueKind}");

        if (answer is int ai && choices is not null && ai >= choices.Count)
        {
            error("answer", $"answer {a.GetRawText()} is out of range for {choices.Count} choices");
            return null;
        }
        var form = AnswerForm.Letter;
        if (obj.TryGetProperty("answer_form", out var f))
        {
            if (f.ValueKind == JsonValueKind.String && f.GetString() is "letter" or "choice")
                form = f.GetString() == "choice" ? AnswerForm.Choice : AnswerForm.Letter;
            else error("answer_form", $"expected \"letter\" (\"The answer is B.\") or \"choice\" (\"The answer is <the choice's text>.\"), got {f.GetRawText()}");
        }
        return question is null || choices is null || answer is null ? null : new MultipleChoiceExample(question, choices, answer.Value) { Form = form };
    }
}
