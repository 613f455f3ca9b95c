using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using MoLA.Cli.Configuration;
using MoLA.Cli.Output;
using MoLA.Cli.Training;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola train</c>: fine-tune MoE-LoRA (or plain LoRA) adapters from a YAML config and/or flags (flags win) into a
/// run directory. Ctrl-C (or SIGTERM) finishes the step in progress, writes a checkpoint and exits with 130.
/// </summary>
internal static class TrainCommand
{
    /// <summary>Exit code of a run stopped by Ctrl-C or SIGTERM after writing its checkpoint (128 + SIGINT, as shells do).</summary>
    public const int Interrupted = 130;

    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "YAML file of settings (keys as the flags, without --)", HelpName = "FILE" };
        var options = Settings.CreateOptions(TrainSettings.Specs);
        var json = CommonOptions.Json();
        var command = new Command("train", "Fine-tune MoE-LoRA adapters (layer-wise expert allocation) on a base model") { config, json };
        foreach (var o in options.Values) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var settings = TrainSettings.From(Settings.Resolve(TrainSettings.Specs, parse.GetValue(config), parse, options));
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var interactive = ReferenceEquals(error, Console.Error) && ProgressDisplay.StderrIsInteractive;
            using var cancel = new CancellationTokenSource();
            using var signals = StopSignals.Register(cancel, error);
            var result = new TrainRun(settings, error, interactive, new RunEvaluator(error, Path.Combine(settings.Out, MoLA.Training.Runs.RunFiles.Predictions))).Execute(cancel.Token);
            if (parse.GetValue(json)) Json.Write(output, result);
            else WriteSummary(output, result);
            return result.Interrupted ? Interrupted : ExitCodes.Ok;
        });
        return command;
    }

    internal static void WriteSummary(TextWriter output, TrainResult r)
    {
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine(r.Interrupted ? $"run {r.Name}: interrupted at step {r.Steps}/{r.TotalSteps}" : $"run {r.Name}: {r.Steps} steps");
        output.WriteLine($"  directory            {r.RunDir}");
        output.WriteLine($"  method / allocation  {r.Method} {r.Allocation.Strategy} {r.Allocation.Shape ?? string.Join(",", r.Allocation.Experts)}");
        output.WriteLine(string.Create(inv, $"  trainable params     {r.TrainableParameters:N0}"));
        output.WriteLine(string.Create(inv, $"  final loss           {r.FinalLoss:F4}"));
        output.WriteLine(string.Create(inv, $"  tokens/s             {r.TokensPerSecond:N0}{(r.Mfu is { } m ? $"  (MFU {m:P1})" : "")}"));
        output.WriteLine($"  wall time            {ProgressDisplay.Duration(r.Seconds)}");
        if (r.Checkpoint is not null) output.WriteLine($"  checkpoint           {r.Checkpoint}");
        if (r.Evaluation is { } e)
            foreach (var row in e.Rows.Where(x => x.Task == "all"))
                output.WriteLine(string.Create(inv, $"  accuracy ({row.Format,-15}) {row.Accuracy:P1}  95% CI [{row.CiLow:P1}, {row.CiHigh:P1}]  ({row.Correct}/{row.Total})"));
    }
}

/// <summary>Ctrl-C and SIGTERM request a clean stop; a second Ctrl-C exits at once.</summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly TextWriter _log;
    private readonly PosixSignalRegistration? _term;

    private StopSignals(CancellationTokenSource cancel, TextWriter log)
    {
        _cancel = cancel;
        _log = log;
        Console.CancelKeyPress += OnCancelKeyPress;
        if (!OperatingSystem.IsWindows())
            _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; Request("SIGTERM"); });
    }

    public static StopSignals Register(CancellationTokenSource cancel, TextWriter log) => new(cancel, log);

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (_cancel.IsCancellationRequested) return; // second Ctrl-C: let the runtime end the process
        e.Cancel = true;
        Request("Ctrl-C");
    }

    private void Request(string what)
    {
        _log.WriteLine();
        _log.WriteLine($"{what}: stopping after the current step and writing a checkpoint (Ctrl-C again to quit at once)");
        _cancel.Cancel();
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _term?.Dispose();
    }
}
