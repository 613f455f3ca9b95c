using System.Globalization;

namespace MoLA.Cli.Training;

/// <summary>
/// Under a node agent (MOLA_PROGRESS=1 in the environment) every step is also printed to stdout as one line
/// "@mola {json}", which the agent forwards to the job grain; other output goes to the rank's log file.
/// </summary>
internal static class AgentProgress
{
    public const string Variable = "MOLA_PROGRESS";
    public const string Prefix = "@mola ";
    private static readonly bool Enabled = Environment.GetEnvironmentVariable(Variable) == "1";

    public static void Step(long step, long totalSteps, double loss, double tokensPerSecond)
    {
        if (!Enabled) return;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{Prefix}{{\"step\":{step},\"total_steps\":{totalSteps},\"loss\":{(double.IsFinite(loss) ? loss : 0):R},\"tokens_per_second\":{tokensPerSecond:R}}}");
        lock (Console.Out) Console.Out.WriteLine(line);
        Console.Out.Flush();
    }
}
