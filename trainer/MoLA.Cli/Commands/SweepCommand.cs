using System.CommandLine;
using System.Globalization;
using MoLA.Cli.Cluster;
using MoLA.Cli.Output;
using MoLA.Cli.Sweeps;
using MoLA.Silo;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola sweep sweep.yaml [--wait] [--dry-run]</c>: expands an allocation sweep (entries x axes x seeds) and runs it
/// on the cluster, one training job per trial; <c>mola sweep status|report|list|cancel</c> follow it. The results
/// (results.json, leaderboard.csv, report.html) go to the sweep's directory under the run root.
/// </summary>
internal static class SweepCommand
{
    public static Command Create()
    {
        var file = new Argument<string?>("sweep") { Description = "Sweep YAML: base settings, allocation entries, axes, seeds, scheduler", Arity = ArgumentArity.ZeroOrOne };
        var wait = new Option<bool>("--wait") { Description = "Follow the sweep until it ends, then write and print its results" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Expand and check the sweep, print its configurations and trials, submit nothing" };
        var json = CommonOptions.Json();
        var (coordinator, tokenFile) = SubmitCommand.ClientOptions();
        var command = new Command("sweep", "Run an allocation sweep on the cluster: which expert allocation wins, with intervals and paired tests")
        {
            file, wait, dryRun, json, coordinator, tokenFile,
        };
        command.Subcommands.Add(Status());
        command.Subcommands.Add(Report());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Cancel());
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var path = parse.GetValue(file) ?? throw new UsageException("give a sweep file (mola sweep sweep.yaml), or one of: status, report, list, cancel");
            var request = SweepExpansion.Expand(SweepFile.Load(path), error);
            if (parse.GetValue(dryRun))
            {
                if (parse.GetValue(json)) Json.Write(output, request);
                else WritePlan(output, request);
                return ExitCodes.Ok;
            }
            using var client = Connect(parse, coordinator, tokenFile);
            var sweep = client.SubmitSweep(request).GetAwaiter().GetResult();
            if (!parse.GetValue(wait))
            {
                if (parse.GetValue(json)) Json.Write(output, sweep);
                else output.WriteLine(sweep.SweepId);
                return ExitCodes.Ok;
            }
            error.WriteLine($"sweep {sweep.SweepId}: {request.Trials!.Count} trials of {request.Configurations!.Count} configurations into {sweep.Directory}; " +
                "following it (Ctrl-C stops following, not the sweep)");
            var final = new SweepProgress(error, SweepProgress.Interactive(error))
                .Follow(() => client.Sweep(sweep.SweepId).GetAwaiter().GetResult(), TimeSpan.FromSeconds(1));
            return Finish(final, output, parse.GetValue(json));
        });
        return command;
    }

    /// <summary>Writes the results of an ended sweep and prints them; exit 0 when at least one trial succeeded.</summary>
    internal static int Finish(SweepView view, TextWriter output, bool json)
    {
        var outcome = SweepOutcome.Write(view);
        if (json) Json.Write(output, new { sweep = view, results = outcome.Results, files = outcome.Files });
        else SweepOutcome.Print(output, view, outcome);
        return view.State == "succeeded" ? ExitCodes.Ok : ExitCodes.Failure;
    }

    private static Command Status()
    {
        var id = SweepArgument();
        var json = CommonOptions.Json();
        var (coordinator, tokenFile) = SubmitCommand.ClientOptions();
        var command = new Command("status", "A sweep's trials: state, step, loss, evaluations, failures and ASHA's stops") { id, json, coordinator, tokenFile };
        command.SetAction(parse =>
        {
            using var client = Connect(parse, coordinator, tokenFile);
            var view = client.Sweep(parse.GetValue(id)!).GetAwaiter().GetResult();
            if (parse.GetValue(json)) Json.Write(parse.InvocationConfiguration.Output, view);
            else WriteStatus(parse.InvocationConfiguration.Output, view);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Report()
    {
        var id = SweepArgument();
        var json = CommonOptions.Json();
        var (coordinator, tokenFile) = SubmitCommand.ClientOptions();
        var command = new Command("report", "Write results.json, leaderboard.csv and report.html into the sweep's directory (from the trials finished so far)")
        {
            id, json, coordinator, tokenFile,
        };
        command.SetAction(parse =>
        {
            using var client = Connect(parse, coordinator, tokenFile);
            var view = client.Sweep(parse.GetValue(id)!).GetAwaiter().GetResult();
            Finish(view, parse.InvocationConfiguration.Output, parse.GetValue(json));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command List()
    {
        var json = CommonOptions.Json();
        var (coordinator, tokenFile) = SubmitCommand.ClientOptions();
        var command = new Command("list", "The cluster's sweeps") { json, coordinator, tokenFile };
        command.SetAction(parse =>
        {
            using var client = Connect(parse, coordinator, tokenFile);
            var sweeps = client.Sweeps().GetAwaiter().GetResult();
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                Json.Write(output, sweeps);
                return ExitCodes.Ok;
            }
            if (sweeps.Count == 0) output.WriteLine("no sweeps");
            else
            {
                var table = new TextTable(("sweep", false), ("name", false), ("state", false), ("trials", true), ("done", true), ("best", true), ("submitted (UTC)", false));
                foreach (var s in sweeps.OrderBy(s => s.SubmittedAt))
                    table.Add(s.SweepId, s.Name, s.State, s.Trials.Count.ToString(CultureInfo.InvariantCulture),
                        s.Trials.Count(t => t.State is "succeeded" or "failed" or "stopped" or "cancelled").ToString(CultureInfo.InvariantCulture),
                        s.BestScore is { } b ? b.ToString("P1", CultureInfo.InvariantCulture) : "-", s.SubmittedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
                table.Write(output);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Cancel()
    {
        var id = SweepArgument();
        var (coordinator, tokenFile) = SubmitCommand.ClientOptions();
        var command = new Command("cancel", "Cancel a sweep: trials not yet ended are cancelled (their ranks checkpoint)") { id, coordinator, tokenFile };
        command.SetAction(parse =>
        {
            using var client = Connect(parse, coordinator, tokenFile);
            var view = client.CancelSweep(parse.GetValue(id)!).GetAwaiter().GetResult();
            parse.InvocationConfiguration.Output.WriteLine($"{view.SweepId}: {view.State}");
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static void WriteStatus(TextWriter output, SweepView s)
    {
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine(SweepProgress.Header(s));
        output.WriteLine($"  directory {s.Directory}   metric {s.Metric}   baseline {s.Baseline ?? "-"}" +
            (s.Asha is { } a ? string.Create(inv, $"   asha first-rung {a.FirstRung} eta {a.Eta} min-seeds {a.MinSeeds}") : "   scheduler fifo"));
        if (s.Reason is not null) output.WriteLine($"  {s.Reason}");
        var table = new TextTable(("trial", false), ("configuration", false), ("seed", true), ("state", false), ("step", true), ("loss", true),
            ("score", true), ("attempts", true), ("job", false));
        foreach (var t in s.Trials)
            table.Add(t.Name, t.Configuration, t.Seed.ToString(inv), t.State, t.TotalSteps > 0 ? $"{t.Step}/{t.TotalSteps}" : "-",
                t.Loss is { } l ? l.ToString("F3", inv) : "-", t.Score is { } sc ? sc.ToString("P1", inv) : "-", t.Attempts.ToString(inv), t.JobId ?? "-");
        table.Write(output, "  ");
        foreach (var stop in s.Stops) output.WriteLine($"  stopped {stop.Configuration}: {stop.Reason}");
        foreach (var t in s.Trials.Where(t => t.FailedAttempts.Count > 0 || t.State == "failed"))
            output.WriteLine($"  {t.Name} {t.State}: {t.Reason}{string.Concat(t.FailedAttempts.Select(f => $"\n    {f}"))}");
    }

    private static void WritePlan(TextWriter output, SubmitSweepRequest request)
    {
        output.WriteLine($"sweep {request.Name}: {request.Configurations!.Count} configurations x {request.Trials!.Count / request.Configurations.Count} seeds = {request.Trials.Count} trials; " +
            $"metric {request.Metric}, baseline {request.Baseline}, scheduler {(request.Asha is { } a ? string.Create(CultureInfo.InvariantCulture, $"asha (first rung {a.FirstRung}, eta {a.Eta}, min-seeds {a.MinSeeds})") : "fifo")}");
        var table = new TextTable(("configuration", false), ("allocation", false), ("settings beyond the base", false));
        var common = request.Configurations.Select(c => c.Settings).Aggregate((a, b) => a.Where(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value).ToDictionary());
        foreach (var c in request.Configurations)
            table.Add(c.Name, c.Entry, string.Join(" ", c.Settings.Where(kv => !common.ContainsKey(kv.Key)).Select(kv => $"{kv.Key}={kv.Value}")));
        table.Write(output);
        foreach (var pair in request.MirrorPairs ?? []) output.WriteLine($"mirror pair: {pair[0]} / {pair[1]} (tests \"higher layers need more experts\")");
    }

    private static Argument<string> SweepArgument() => new("id") { Description = "Sweep id (from `mola sweep` or `mola sweep list`)" };

    private static ClusterClient Connect(ParseResult parse, Option<string?> coordinator, Option<string?> tokenFile) =>
        new(ClusterEndpoint.Resolve(parse.GetValue(coordinator), parse.GetValue(tokenFile)));
}
