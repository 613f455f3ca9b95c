using System.CommandLine;
using System.Globalization;
using MoLA.Cli.Cluster;
using MoLA.Cli.Output;
using MoLA.Silo;

namespace MoLA.Cli.Commands;

/// <summary><c>mola jobs</c>, <c>mola status JOB</c>, <c>mola cancel JOB</c>, <c>mola logs JOB [--rank R]</c>: the cluster's jobs.</summary>
internal static class JobCommands
{
    public static Command Jobs()
    {
        var json = CommonOptions.Json();
        var (coordinator, tokenFile) = SubmitCommand.ClientOptions();
        var command = new Command("jobs", "List the cluster's jobs") { json, coordinator, tokenFile };
        command.SetAction(parse =>
        {
            using var client = Connect(parse, coordinator, tokenFile);
            var jobs = client.Jobs().GetAwaiter().GetResult();
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                Json.Write(output, jobs);
                return ExitCodes.Ok;
            }
            if (jobs.Count == 0) output.WriteLine("no jobs");
            else output.WriteLine($"{"JOB",-26} {"NAME",-20} {"STATE",-10} {"WORLD",5} {"STEP",11}  SUBMITTED (UTC)");
            foreach (var j in jobs.OrderBy(j => j.SubmittedAt))
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{j.JobId,-26} {Cut(j.Name, 20),-20} {j.State,-10} {j.WorldSize,5} {j.Step + "/" + j.TotalSteps,11}  {j.SubmittedAt:yyyy-MM-dd HH:mm:ss}"));
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Status()
    {
        var job = JobArgument();
        var json = CommonOptions.Json();
        var (coordinator, tokenFile) = SubmitCommand.ClientOptions();
        var command = new Command("status", "One job: state, generation, progress, each rank's node and process") { job, json, coordinator, tokenFile };
        command.SetAction(parse =>
        {
            using var client = Connect(parse, coordinator, tokenFile);
            var view = client.Status(parse.GetValue(job)!).GetAwaiter().GetResult();
            if (parse.GetValue(json)) Json.Write(parse.InvocationConfiguration.Output, view);
            else WriteStatus(parse.InvocationConfiguration.Output, view);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Cancel()
    {
        var job = JobArgument();
        var (coordinator, tokenFile) = SubmitCommand.ClientOptions();
        var command = new Command("cancel", "Cancel a job (its ranks get SIGTERM and checkpoint)") { job, coordinator, tokenFile };
        command.SetAction(parse =>
        {
            using var client = Connect(parse, coordinator, tokenFile);
            var view = client.Cancel(parse.GetValue(job)!).GetAwaiter().GetResult();
            parse.InvocationConfiguration.Output.WriteLine($"{view.JobId}: {view.State}");
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Logs()
    {
        var job = JobArgument();
        var rank = new Option<int>("--rank") { Description = "Which rank's log", DefaultValueFactory = _ => 0 };
        var (coordinator, tokenFile) = SubmitCommand.ClientOptions();
        var command = new Command("logs", "A rank's output (stdout and stderr of its mola train)") { job, rank, coordinator, tokenFile };
        command.SetAction(parse =>
        {
            using var client = Connect(parse, coordinator, tokenFile);
            parse.InvocationConfiguration.Output.Write(client.Logs(parse.GetValue(job)!, parse.GetValue(rank)).GetAwaiter().GetResult());
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static void WriteStatus(TextWriter output, JobView j)
    {
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine($"job {j.JobId} ({j.Name}): {j.State}{(j.Reason is null ? "" : $"  {j.Reason}")}");
        output.WriteLine(string.Create(inv, $"  world {j.WorldSize} (dp {j.Dp} x ep {j.Ep})  generation {j.Generation}  step {j.Step}/{j.TotalSteps}"));
        output.WriteLine($"  run directory  {j.RunDirectory}");
        if (j.Rendezvous is not null) output.WriteLine($"  rendezvous     {j.Rendezvous}");
        foreach (var r in j.Ranks.OrderBy(r => r.Rank))
            output.WriteLine(string.Create(inv,
                $"  rank {r.Rank}: {r.Node} slot {r.Slot}  pid {(r.Pid?.ToString(inv) ?? "-")}  step {(r.Step?.ToString(inv) ?? "-")}{(r.Loss is { } l ? $"  loss {l:F4}" : "")}{(r.Exit is null ? "" : "  " + r.Exit)}"));
        if (j.RestartLog.Count == 0) return;
        output.WriteLine(string.Create(inv,
            $"  restarts {j.Restarts} of {j.MaxRestarts}  steps redone {j.StepsLost}{(j.RecoverySeconds is { } rs ? $"  last recovery {rs:F1} s" : "")}"));
        foreach (var r in j.RestartLog)
            output.WriteLine(string.Create(inv,
                $"    {r.At:HH:mm:ss} generation {r.Generation} at step {r.StepReached}: {r.Reason}{(r.ResumedFrom is { } from ? $"  -> resumed from step {from}, {r.StepsLost} redone, {r.RecoverySeconds:F1} s" : "")}"));
    }

    private static Argument<string> JobArgument() => new("job") { Description = "Job id (from `mola submit` or `mola jobs`)" };

    private static ClusterClient Connect(ParseResult parse, Option<string?> coordinator, Option<string?> tokenFile) =>
        new(ClusterEndpoint.Resolve(parse.GetValue(coordinator), parse.GetValue(tokenFile)));

    private static string Cut(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}
