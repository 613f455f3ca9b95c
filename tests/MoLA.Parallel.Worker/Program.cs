using MoLA.Parallel.Benchmarks;

namespace MoLA.Parallel.Worker;

/// <summary>One rank of the multi-process tests: <see cref="RankProgram"/> with the command-line options it parses.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        TinyRunOptions options;
        string? outPath;
        try
        {
            (options, outPath) = RankProgram.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"usage: [--steps N] [--batch B] [--micro M] [--sleep-ms S] [--lr X] [--out FILE]: {e.Message}");
            return 2;
        }
        return RankProgram.Run(options, outPath);
    }
}
