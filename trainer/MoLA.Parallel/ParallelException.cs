namespace MoLA.Parallel;

/// <summary>
/// Invalid parallel configuration (sizes, ranks, placement tables, environment variables). The message
/// names the field, variable or file at fault; <see cref="Field"/> repeats it for callers.
/// </summary>
public sealed class ParallelConfigException(string field, string message) : ArgumentException(message, field)
{
    private readonly string _message = message;

    public string Field { get; } = field;

    /// <summary>"field: problem" (without ArgumentException's "(Parameter ...)" suffix).</summary>
    public override string Message => $"{Field}: {_message}";
}
