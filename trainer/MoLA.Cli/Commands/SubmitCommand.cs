using System.CommandLine;
using System.Globalization;
using MoLA.Cli.Cluster;
using MoLA.Cli.Configuration;
using MoLA.Cli.Output;
using MoLA.Silo;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola submit job.yaml [--dp D --ep E] [--wait] [--json]</c>: a training job for the cluster, from the same YAML and
/// flags as <c>mola train</c>. Only the settings the user gave travel (the cluster's ranks apply the same defaults);
/// paths are made absolute because the ranks start in another directory. The silo validates the job as
/// <c>mola train</c> would and refuses it, naming the setting, before anything is scheduled.
/// </summary>
internal static class SubmitCommand
{
    public static Command Create()
    {
        var config = new Argument<string?>("job") { Description = "YAML file of `mola train` settings", Arity = ArgumentArity.ZeroOrOne };
        var options = Settings.CreateOptions(TrainSettings.Specs.Where(s => s.Name is not ("out" or "resume" or "name")));
        var name = new Option<string?>("--name") { Description = "Job name (default: the job id)", HelpName = "NAME" };
        var dp = new Option<int>("--dp") { Description = "Data-parallel ranks", DefaultValueFactory = _ => 1 };
        var ep = new Option<int>("--ep") { Description = "Expert-parallel ranks (world size = dp x ep)", DefaultValueFactory = _ => 1 };
        var priority = new Option<int>("--priority") { Description = "Higher runs first when devices are short", DefaultValueFactory = _ => 0 };
        var maxRestarts = new Option<int>("--max-restarts")
        {
            Description = "Failed generations (a rank or node lost) replaced from the last checkpoint before the job fails",
            DefaultValueFactory = _ => MoLA.Grains.JobSpec.DefaultMaxRestarts,
        };
        var hangTimeout = new Option<double>("--hang-timeout")
        {
            Description = "Seconds without a training step after which a rank is killed as hung and replaced (before its first step: at least 10 minutes)",
            DefaultValueFactory = _ => MoLA.Grains.JobSpec.DefaultHangTimeout.TotalSeconds,
            HelpName = "SECONDS",
        };
        var wait = new Option<bool>("--wait") { Description = "Follow the job until it ends; exit 0 only if it succeeded" };
        var json = CommonOptions.Json();
        var (coordinator, tokenFile) = ClientOptions();
        var command = new Command("submit", "Submit a training job to the cluster (same settings as `mola train`)")
        {
            config, name, dp, ep, priority, maxRestarts, hangTimeout, wait, json, coordinator, tokenFile,
        };
        foreach (var o in options.Values) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var file = parse.GetValue(config);
            var settings = Settings.Resolve(TrainSettings.Specs, file, parse, options);
            var request = new SubmitJobRequest
            {
                Name = parse.GetValue(name) ?? settings.String("name"),
                Settings = JobSettings(settings),
                Dp = parse.GetValue(dp),
                Ep = parse.GetValue(ep),
                Priority = parse.GetValue(priority),
                MaxRestarts = parse.GetValue(maxRestarts),
                HangTimeout = parse.GetValue(hangTimeout),
            };
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            using var client = new ClusterClient(ClusterEndpoint.Resolve(parse.GetValue(coordinator), parse.GetValue(tokenFile)));
            var job = client.Submit(request).GetAwaiter().GetResult();
            if (!parse.GetValue(wait))
            {
                if (parse.GetValue(json)) Json.Write(output, job);
                else output.WriteLine(job.JobId);
                return ExitCodes.Ok;
            }
            error.WriteLine($"job {job.JobId}: {job.State} (world {job.WorldSize}); following it (Ctrl-C stops following, not the job)");
            var final = Follow(client, job.JobId, error);
            if (parse.GetValue(json)) Json.Write(output, final);
            else JobCommands.WriteStatus(output, final);
            return final.State == "succeeded" ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return command;
    }

    /// <summary>--coordinator and --token-file, shared by the client commands.</summary>
    internal static (Option<string?> Coordinator, Option<string?> TokenFile) ClientOptions() =>
        (new Option<string?>("--coordinator") { Description = "API URL of a silo (default: the embedded cluster of this checkout)", HelpName = "URL" },
         new Option<string?>("--token-file") { Description = "API bearer token file (default: the embedded cluster's)", HelpName = "FILE" });

    /// <summary>The explicit settings, with file paths made absolute (the ranks run elsewhere).</summary>
    internal static Dictionary<string, string> JobSettings(Settings settings)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in settings.Explicit())
        {
            if (key is "out" or "resume" or "name") continue;
            result[key] = key is "base-model" or "data" or "eval-data" && value is not (TrainSettings.Embedded or "none") && value.Length > 0
                ? Path.GetFullPath(value)
                : value;
        }
        return result;
    }

    /// <summary>
    /// Polls the job twice a second until it ends. On a terminal one line is redrawn with a bar (step, loss, ETA);
    /// in a log a line is printed on every state change and every tenth of the steps.
    /// </summary>
    private static JobView Follow(ClusterClient client, string id, TextWriter error)
    {
        var interactive = ReferenceEquals(error, Console.Error) && ProgressDisplay.StderrIsInteractive;
        var lastState = "";
        var lastDecile = -1L;
        var running = System.Diagnostics.Stopwatch.StartNew();
        long firstStep = -1;
        while (true)
        {
            var job = client.Status(id).GetAwaiter().GetResult();
            var final = job.State is "succeeded" or "failed" or "cancelled";
            if (job.State == "running" && job.TotalSteps > 0)
            {
                if (firstStep < 0) { firstStep = job.Step; running.Restart(); }
                var done = job.Step - firstStep;
                var eta = done > 0 ? running.Elapsed.TotalSeconds / done * (job.TotalSteps - job.Step) : 0;
                var loss = job.Ranks.FirstOrDefault(r => r.Rank == 0)?.Loss;
                var width = 24;
                var filled = (int)(width * job.Step / job.TotalSteps);
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"[{new string('#', filled)}{new string('.', width - filled)}] step {job.Step}/{job.TotalSteps}{(loss is { } l ? $"  loss {l:F4}" : "")}  ETA {ProgressDisplay.Duration(eta)}");
                var decile = job.Step * 10 / job.TotalSteps;
                if (interactive) error.Write("\r\u001b[2K" + line);
                else if (decile != lastDecile) error.WriteLine("  " + line);
                lastDecile = decile;
            }
            if (job.State != lastState && job.State != "running" || final)
            {
                if (interactive) error.Write("\r\u001b[2K");
                if (job.State != lastState) error.WriteLine($"  {job.State}{(job.Reason is null ? "" : $": {job.Reason}")}");
            }
            lastState = job.State;
            error.Flush();
            if (final) return job;
            Thread.Sleep(TimeSpan.FromMilliseconds(500));
        }
    }
}
