using MoLA.Silo;

namespace MoLA.Cli;

/// <summary>How to start this `mola` again (launch ranks, cluster ranks, benchmark ranks).</summary>
internal static class SelfProgram
{
    /// <summary>This executable; under `dotnet mola.dll` the program is dotnet and the first argument the dll.</summary>
    public static RankProgram Get()
    {
        var self = Environment.ProcessPath ?? "mola";
        return Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? new RankProgram(self, [typeof(SelfProgram).Assembly.Location])
            : new RankProgram(self, []);
    }
}
