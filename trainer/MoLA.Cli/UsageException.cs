namespace MoLA.Cli;

/// <summary>A user error found after parsing (e.g. a combination of flags); exits with <see cref="ExitCodes.Usage"/>.</summary>
internal sealed class UsageException(string message) : Exception(message);
