using System.CommandLine;
using System.CommandLine.Parsing;
using System.Reflection;
using MoLA.Cli.Commands;

namespace MoLA.Cli;

/// <summary>
/// Builds the command tree and runs it. Kept separate from Program so tests can run the CLI in-process
/// with their own writers. Failures never print a stack trace: a bad command line exits with
/// <see cref="ExitCodes.Usage"/>, a missing native library with <see cref="ExitCodes.NativeLibraryMissing"/>,
/// anything else with <see cref="ExitCodes.Failure"/> (set MOLA_DEBUG=1 to see the exception).
/// </summary>
public static class CliApp
{
    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand("mola: fine-tune LLaMA-family models with mixture-of-LoRA-experts adapters");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(AllocateCommand.Create());
        root.Subcommands.Add(AnalyzeCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(ScoreCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(PretrainCommand.Create());
        root.Subcommands.Add(LaunchCommand.Create());
        root.Subcommands.Add(ClusterCommand.CreateCluster());
        root.Subcommands.Add(ClusterCommand.CreateSilo());
        root.Subcommands.Add(SubmitCommand.Create());
        root.Subcommands.Add(JobCommands.Jobs());
        root.Subcommands.Add(JobCommands.Status());
        root.Subcommands.Add(JobCommands.Cancel());
        root.Subcommands.Add(JobCommands.Logs());
        root.Subcommands.Add(SweepCommand.Create());
        var bench = new Command("bench", "Benchmarks of this machine and of MoLA.Torch against PyTorch");
        bench.Subcommands.Add(BenchOpsCommand.Create());
        bench.Subcommands.Add(BenchAlphaCommand.Create());
        bench.Subcommands.Add(BenchMoeLayerCommand.Create());
        bench.Subcommands.Add(BenchTrainStepCommand.Create());
        bench.Subcommands.Add(BenchAllReduceCommand.Create());
        bench.Subcommands.Add(BenchParallelCommand.Create());
        bench.Subcommands.Add(BenchClusterCommand.Create());
        bench.Subcommands.Add(BenchRecoveryCommand.Create());
        bench.Subcommands.Add(BenchTokenizerCommand.Create());
        root.Subcommands.Add(bench);
        return root;
    }

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        var root = BuildRootCommand();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) error.WriteLine($"mola: error: {Describe(e)}");
            var path = CommandPath(parse.CommandResult.Command);
            error.WriteLine($"Run '{path} --help' for usage.");
            return ExitCodes.Usage;
        }

        var config = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception e) when (FindNativeLibraryError(e) is { } missing)
        {
            error.WriteLine($"mola: error: {missing.Message}");
            Debug(error, e);
            return ExitCodes.NativeLibraryMissing;
        }
        catch (Exception e) when (Unwrap(e) is Configuration.SettingException or MoLA.Training.Data.DatasetException)
        {
            error.WriteLine($"mola: error: {Unwrap(e).Message}");
            return ExitCodes.Usage;
        }
        catch (Exception e) when (Unwrap(e) is Cluster.ClusterException c)
        {
            error.WriteLine($"mola: error: {c.Message}");
            return ExitCodes.Failure;
        }
        catch (UsageException e)
        {
            error.WriteLine($"mola: error: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception e)
        {
            error.WriteLine($"mola: error: {Unwrap(e).Message}");
            Debug(error, e);
            return ExitCodes.Failure;
        }
    }

    /// <summary>A parse error's message, prefixed with the option it is about when the message does not name it.</summary>
    internal static string Describe(ParseError e)
    {
        var option = e.SymbolResult switch
        {
            OptionResult o => o.Option,
            ArgumentResult { Parent: OptionResult o } => o.Option,
            _ => null,
        };
        return option is null || e.Message.Contains(option.Name, StringComparison.Ordinal) ? e.Message : $"{option.Name}: {e.Message}";
    }

    /// <summary>The DllNotFoundException raised by MoLA.Torch's resolver, wherever it is in the chain.</summary>
    internal static DllNotFoundException? FindNativeLibraryError(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is DllNotFoundException d) return d;
        return null;
    }

    private static Exception Unwrap(Exception e)
    {
        while (e is TargetInvocationException or TypeInitializationException or AggregateException && e.InnerException is not null)
            e = e.InnerException!;
        return e;
    }

    private static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (Symbol? s = command; s is Command c; s = c.Parents.FirstOrDefault())
            names.Add(c is RootCommand ? "mola" : c.Name);
        names.Reverse();
        return string.Join(' ', names);
    }

    private static void Debug(TextWriter error, Exception e)
    {
        if (Environment.GetEnvironmentVariable("MOLA_DEBUG") is "1" or "true")
            error.WriteLine(e.ToString());
    }
}
