using System.CommandLine;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola demo</c>, the main job. Until the trainer lands it shows what runs today: the machine
/// check (doctor), the op benchmark against PyTorch, and MoLA's inverted-triangle allocation.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "The main job (for now: doctor, the op benchmark against PyTorch, and a MoLA 2468 allocation)");
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output!;
            var error = parse.InvocationConfiguration.Error!;
            string[][] steps =
            [
                ["doctor"],
                ["bench", "ops", "--quick"],
                ["allocate", "--strategy", "mola", "--shape", "2468", "--layers", "32"],
            ];
            foreach (var step in steps)
            {
                output.WriteLine($"== mola {string.Join(' ', step)}");
                var rc = CliApp.Run(step, output, error);
                if (rc != ExitCodes.Ok) return rc;
                output.WriteLine();
            }
            output.WriteLine("Training (mola train) arrives with the trainer; see README.md.");
            return ExitCodes.Ok;
        });
        return command;
    }
}
