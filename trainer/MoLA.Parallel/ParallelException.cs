namespace MoLA.Parallel;

/// <summary>
/// Invalid parallel configuration (sizes, ranks, placement tables, environment variables). The message
/// names the field, variable or file at fault; <see cref="Field"/> repeats it for callers.
/// </summary>
public sealed class ParallelConfigException(string field, string message)
    : ArgumentException($"{field}: {message}", field)
{
    public string Field { get; } = field;
}
