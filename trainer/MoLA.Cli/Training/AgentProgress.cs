using System.Globalization;

namespace MoLA.Cli.Training;

/// <summary>
/// Under a node agent (MOLA_PROGRESS=1 in the environment) every step is also printed to stdout as one line
/// "@mola {json}", which the agent forwards to the job grain; other output goes to the rank's log file.
/// With MOLA_EXIT_WITH_AGENT=1 the rank dies with its agent (the agent holds our stdin open; end of file means it is
/// gone), as a container's processes die with its pod: the cluster then runs the job's next generation elsewhere, and
/// an orphaned rank must not go on writing the run directory beside it.
/// </summary>
internal static class AgentProgress
{
    public const string Variable = "MOLA_PROGRESS";
    public const string ExitWithAgentVariable = "MOLA_EXIT_WITH_AGENT";
    public const string Prefix = "@mola ";
    private static readonly bool Enabled = Environment.GetEnvironmentVariable(Variable) == "1";

    public static void ExitWithAgent(TextWriter log)
    {
        if (Environment.GetEnvironmentVariable(ExitWithAgentVariable) != "1") return;
        var watch = new Thread(() =>
        {
            using var stdin = Console.OpenStandardInput();
            var buffer = new byte[256];
            try
            {
                while (stdin.Read(buffer, 0, buffer.Length) > 0) { }
            }
            catch (IOException) { }
            log.WriteLine("mola: the node agent is gone (its pipe closed): this rank stops now");
            log.Flush();
            // SIGKILL of ourselves: nothing half-written survives (checkpoints and adapters are replaced atomically).
            System.Diagnostics.Process.GetCurrentProcess().Kill();
        }) { IsBackground = true, Name = "agent-watch" };
        watch.Start();
    }

    public static void Step(long step, long totalSteps, double loss, double tokensPerSecond)
    {
        if (!Enabled) return;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{Prefix}{{\"step\":{step},\"total_steps\":{totalSteps},\"loss\":{(double.IsFinite(loss) ? loss : 0):R},\"tokens_per_second\":{tokensPerSecond:R}}}");
        lock (Console.Out) Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    /// <summary>
    /// Rank 0's evaluation of the whole set: "@mola {"eval_step": N, "accuracy": {"generation": 0.41}}", what a sweep's
    /// scheduler compares trials on at its rungs.
    /// </summary>
    public static void Evaluation(long step, MoLA.Training.Runs.EvaluationSummary summary)
    {
        if (!Enabled) return;
        var formats = summary.Rows.Where(r => r.Task == "all")
            .Select(r => string.Create(CultureInfo.InvariantCulture, $"\"{r.Format}\":{r.Accuracy:R}"));
        var line = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{{\"eval_step\":{step},\"accuracy\":{{{string.Join(",", formats)}}}}}");
        lock (Console.Out) Console.Out.WriteLine(line);
        Console.Out.Flush();
    }
}
