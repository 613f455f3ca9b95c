using System.Diagnostics;
using System.Text.Json;

namespace MoLA.Reporting.Tests;

/// <summary>A [Fact] that is skipped, saying why, when /usr/bin/python3 cannot import scipy (./mola installs python3-scipy).</summary>
public sealed class ScipyFactAttribute : FactAttribute
{
    public ScipyFactAttribute()
    {
        if (!Scipy.Available.Value) Skip = $"{Scipy.Interpreter} cannot import scipy: apt-get install -y python3-scipy";
    }
}

/// <summary>Reference values from Debian's python3-scipy: runs a script with a JSON document on stdin, returns the JSON it prints.</summary>
internal static class Scipy
{
    /// <summary>Debian's interpreter: the first python3 on PATH may be another one without the Debian packages.</summary>
    public const string Interpreter = "/usr/bin/python3";

    public static readonly Lazy<bool> Available = new(() =>
    {
        if (!File.Exists(Interpreter)) return false;
        using var p = Process.Start(new ProcessStartInfo(Interpreter, ["-c", "import scipy.stats"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        p.WaitForExit(60_000);
        return p.HasExited && p.ExitCode == 0;
    });

    public static async Task<JsonElement> RunAsync(string script, object input)
    {
        var psi = new ProcessStartInfo(Interpreter, ["-c", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Interpreter}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(JsonSerializer.Serialize(input));
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the scipy reference did not finish in 2 minutes");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"the scipy reference failed (exit {process.ExitCode}):\n{await stderr}");
        return JsonDocument.Parse(await stdout).RootElement.Clone();
    }
}
