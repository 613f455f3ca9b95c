namespace MoLA.Safetensors;

/// <summary>
/// A safetensors file is malformed. The message always starts with the file path and names the
/// tensor or field at fault, so a bad shard in a multi-file checkpoint is found without a debugger.
/// Derives from <see cref="FormatException"/> (not <see cref="IOException"/>) so callers can tell a
/// corrupt file, which retrying will not fix, from a missing or unreadable one.
/// </summary>
public sealed class SafetensorsFormatException : FormatException
{
    /// <summary>Creates the exception; <paramref name="detail"/> is prefixed with the path.</summary>
    public SafetensorsFormatException(string filePath, string detail, string? tensorName = null, Exception? inner = null)
        : base($"{filePath}: {detail}", inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }

    /// <summary>The file that failed to parse.</summary>
    public string FilePath { get; }

    /// <summary>The tensor at fault, when the problem belongs to one.</summary>
    public string? TensorName { get; }
}
