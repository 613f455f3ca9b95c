using System.CommandLine;
using MoLA.Cli.Output;

namespace MoLA.Cli.Commands;

/// <summary>What the cluster benchmarks share: a scratch directory removed afterwards, the result as JSON or a table.</summary>
internal static class ClusterBench
{
    public static int Run<T>(ParseResult parse, Option<bool> json, string name, Func<string, TextWriter, T> run, Func<T, string> table)
    {
        var root = Directory.CreateTempSubdirectory($"mola-bench-{name}-").FullName;
        try
        {
            var result = run(root, parse.InvocationConfiguration.Error);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json)) Json.Write(output, result);
            else output.Write(table(result));
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
        return ExitCodes.Ok;
    }

    public static double Median(IReadOnlyCollection<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
