namespace MoLA.Cli;

/// <summary>Process exit codes of <c>mola</c>; scripts and tests rely on these values.</summary>
public static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Ok = 0;

    /// <summary>The command ran and failed (an unexpected error; the message says which).</summary>
    public const int Failure = 1;

    /// <summary>The command line was wrong: unknown command or flag, or a flag value out of range.</summary>
    public const int Usage = 2;

    /// <summary>libmola_torch.so (or libtorch under it) could not be loaded.</summary>
    public const int NativeLibraryMissing = 3;
}
