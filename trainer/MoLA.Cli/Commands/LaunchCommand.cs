using System.CommandLine;
using MoLA.Parallel;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola launch --nproc N [--dp D --ep E] [--master-addr A --master-port P] -- &lt;mola args&gt;</c>: starts N local
/// ranks of a data/expert-parallel job (each gets RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, MOLA_DP, MOLA_EP),
/// prefixes their output with the rank, and exits 0 when all succeeded, 4 when a rank failed (the message names it),
/// 2 for bad input (refused before any process starts).
/// </summary>
internal static class LaunchCommand
{
    public static Command Create()
    {
        var nproc = new Option<int>("--nproc") { Description = "processes to start (= dp x ep)", Required = true };
        var dp = new Option<int?>("--dp") { Description = "data-parallel size (default nproc / ep)" };
        var ep = new Option<int?>("--ep") { Description = "expert-parallel size (default 1)" };
        var addr = new Option<string>("--master-addr") { Description = "rendezvous address", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--master-port") { Description = "rendezvous port (must be free)", DefaultValueFactory = _ => 29500 };
        var timeout = new Option<int>("--timeout-ms") { Description = "rendezvous and collective timeout; survivors of a dead rank stop within it", DefaultValueFactory = _ => 60000 };
        var placement = new Option<string?>("--placement") { Description = "expert placement table (JSON: layer -> experts per EP rank)" };
        var program = new Option<string?>("--program") { Description = "run this program with the arguments instead of mola itself" };
        var args = new Argument<string[]>("args") { Description = "arguments of every rank (after --)", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("launch", "Start a data/expert-parallel job's ranks on this machine (like torchrun)")
        {
            nproc, dp, ep, addr, port, timeout, placement, program, args,
        };
        command.SetAction(parse =>
        {
            var err = parse.InvocationConfiguration.Error!;
            var rest = parse.GetValue(args) ?? [];
            var self = SelfProgram.Get();
            var options = new LaunchOptions
            {
                NProc = parse.GetValue(nproc),
                DataParallel = parse.GetValue(dp),
                ExpertParallel = parse.GetValue(ep),
                MasterAddress = parse.GetValue(addr)!,
                MasterPort = parse.GetValue(port),
                Timeout = TimeSpan.FromMilliseconds(Math.Max(1, parse.GetValue(timeout))),
                PlacementFile = parse.GetValue(placement),
                // --program runs that program with the arguments as given; mola itself may need its dll first.
                Program = parse.GetValue(program) ?? self.Program,
                Arguments = parse.GetValue(program) is null ? [.. self.PrefixArguments, .. rest] : rest,
                OnOutput = (r, line) =>
                {
                    lock (err) err.WriteLine($"[rank {r}] {line}");
                },
            };
            if (parse.GetValue(timeout) < 1) throw new UsageException($"--timeout-ms must be at least 1, got {parse.GetValue(timeout)}");
            LaunchResult result;
            try
            {
                result = Launcher.Run(options);
            }
            catch (ParallelConfigException e)
            {
                throw new UsageException(e.Message);
            }
            lock (err) err.WriteLine($"mola launch: {result.Message} ({result.Elapsed.TotalSeconds:0.0} s)");
            return result.ExitCode == 0 ? ExitCodes.Ok : LaunchResult.RankFailedExitCode;
        });
        return command;
    }
}
