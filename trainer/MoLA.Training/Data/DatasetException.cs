namespace MoLA.Training.Data;

/// <summary>One problem found while reading a dataset file.</summary>
/// <param name="Path">File the problem is in.</param>
/// <param name="Line">1-based line number; 0 when the problem concerns the whole file (e.g. no examples).</param>
/// <param name="Field">JSON field concerned, or null when the whole line/file is concerned.</param>
/// <param name="Message">What is wrong.</param>
public sealed record DatasetError(string Path, int Line, string? Field, string Message)
{
    public override string ToString()
    {
        var where = Line > 0 ? $"{Path}:{Line}" : Path;
        return Field is null ? $"{where}: {Message}" : $"{where}: field '{Field}': {Message}";
    }
}

/// <summary>
/// A dataset file is malformed. <see cref="Errors"/> holds the first problems found (up to the reader's limit);
/// <see cref="TotalErrors"/> counts all of them. The message lists each as <c>path:line: field 'name': message</c>.
/// </summary>
public sealed class DatasetException : Exception
{
    public DatasetException(IReadOnlyList<DatasetError> errors, int totalErrors)
        : base(BuildMessage(errors, totalErrors))
    {
        if (errors.Count == 0) throw new ArgumentException("At least one error is required.", nameof(errors));
        Errors = errors;
        TotalErrors = totalErrors;
    }

    public DatasetException(DatasetError error) : this([error], 1) { }

    public IReadOnlyList<DatasetError> Errors { get; }
    public int TotalErrors { get; }

    /// <summary>File of the first error.</summary>
    public string Path => Errors[0].Path;
    /// <summary>1-based line of the first error (0 = whole file).</summary>
    public int Line => Errors[0].Line;
    /// <summary>Field of the first error, if any.</summary>
    public string? Field => Errors[0].Field;

    private static string BuildMessage(IReadOnlyList<DatasetError> errors, int total)
    {
        if (errors.Count == 1 && total <= 1) return errors[0].ToString();
        var header = total > errors.Count
            ? $"{total} errors in dataset (showing the first {errors.Count}):"
            : $"{total} errors in dataset:";
        return header + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  " + e));
    }
}
