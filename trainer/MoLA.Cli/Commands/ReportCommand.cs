using System.CommandLine;
using MoLA.Cli.Output;
using MoLA.Reporting;
using MoLA.Training.Runs;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola report DIR</c>: one self-contained HTML page for a run directory, or comparing every run directory under
/// DIR. A missing or malformed run file is bad input: exit 2 with the message naming the file (and line or field).
/// </summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("DIR") { Description = "a run directory (holds run.json), or a folder of run directories to compare" };
        var output = new Option<string?>("--out") { Description = "where to write the page (default: DIR/report.html)", HelpName = "FILE" };
        var json = CommonOptions.Json();
        var command = new Command("report", "Write an HTML report (loss curves, expert load, allocation, accuracy) of one run or a comparison of several")
        {
            dir, output, json,
        };
        command.SetAction(parse =>
        {
            var outPath = parse.GetValue(output);
            if (outPath is not null && Directory.Exists(outPath)) throw new UsageException($"--out: {outPath} is a directory, expected a file path");
            ReportResult result;
            try
            {
                result = HtmlReport.Write(parse.GetValue(dir)!, outPath);
            }
            catch (RunDirectoryException e)
            {
                throw new UsageException(e.Message);
            }
            catch (ArgumentException e) when (e.ParamName == "outPath")
            {
                throw new UsageException($"--out: {e.Message.Replace(" (Parameter 'outPath')", "")}");
            }
            var stdout = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json)) Json.Write(stdout, new { report = result.Path, runs = result.Runs });
            else stdout.WriteLine($"wrote {result.Path} ({result.Runs} run{(result.Runs == 1 ? "" : "s")})");
            return ExitCodes.Ok;
        });
        return command;
    }
}
