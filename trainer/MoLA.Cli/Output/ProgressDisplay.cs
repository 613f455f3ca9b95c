using System.Globalization;

namespace MoLA.Cli.Output;

/// <summary>
/// Training progress on stderr: one line rewritten in place on a terminal (step, loss, tokens/s, ETA), plain log
/// lines every <c>logEvery</c> steps otherwise (CI logs, pipes, files), so logs stay readable.
/// </summary>
public sealed class ProgressDisplay(TextWriter writer, bool interactive, int totalSteps, int logEvery)
{
    private readonly DateTime _started = DateTime.UtcNow;
    private int _firstStep = -1;
    private bool _lineOpen;

    /// <summary>True when stderr is a terminal (not redirected) and TERM is not "dumb".</summary>
    public static bool StderrIsInteractive =>
        !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") is not "dumb";

    public void Step(int step, double loss, double tokensPerSecond, double learningRate, string? extra = null)
    {
        if (_firstStep < 0) _firstStep = step - 1;
        var done = step - _firstStep;
        var elapsed = (DateTime.UtcNow - _started).TotalSeconds;
        var eta = done > 0 ? elapsed / done * (totalSteps - step) : 0;
        var text = string.Create(CultureInfo.InvariantCulture,
            $"step {step}/{totalSteps}  loss {loss:F4}  {tokensPerSecond:N0} tok/s  lr {learningRate:E2}  ETA {Duration(eta)}{(extra is null ? "" : "  " + extra)}");
        if (interactive)
        {
            writer.Write("\r\u001b[2K" + text);
            _lineOpen = true;
            if (step == totalSteps) EndLine();
        }
        else if (step % logEvery == 0 || step == totalSteps || step == _firstStep + 1)
        {
            writer.WriteLine(text);
        }
        writer.Flush();
    }

    /// <summary>A message on its own line (an evaluation result, a checkpoint).</summary>
    public void Message(string text)
    {
        EndLine();
        writer.WriteLine(text);
        writer.Flush();
    }

    public void EndLine()
    {
        if (!_lineOpen) return;
        writer.WriteLine();
        _lineOpen = false;
    }

    public static string Duration(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return "?";
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
    }
}
