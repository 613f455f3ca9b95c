using System.CommandLine;

namespace MoLA.Cli;

/// <summary>Options shared by several commands. Each call returns a new instance (an option belongs to one command).</summary>
internal static class CommonOptions
{
    public const int MaxThreads = 1024;

    public static Option<bool> Json() => new("--json")
    {
        Description = "Print machine-readable JSON on stdout instead of a table",
    };

    /// <summary>
    /// libtorch intra-op threads. Debian's torch starts with one, so every measurement sets it explicitly
    /// (and to the same value on the PyTorch side of a comparison).
    /// </summary>
    public static Option<int> Threads()
    {
        var option = new Option<int>("--threads")
        {
            Description = "libtorch intra-op threads (default: the number of logical CPUs)",
            HelpName = "N",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        option.Validators.Add(result =>
        {
            int value;
            try { value = result.GetValueOrDefault<int>(); }
            catch (InvalidOperationException) { return; } // not a number: the parser reports that itself
            if (value < 1 || value > MaxThreads)
                result.AddError($"--threads must be between 1 and {MaxThreads}, got {value}");
        });
        return option;
    }
}
