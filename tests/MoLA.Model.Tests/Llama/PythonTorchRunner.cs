using System.Diagnostics;
using System.Text.Json;

namespace MoLA.Model.Tests.Llama;

/// <summary>
/// Runs a reference script in Debian's python3-torch (/usr/bin/python3; the first python3 on PATH
/// may lack torch) with a JSON document on stdin, and parses the JSON it prints.
/// </summary>
internal static class PythonTorchRunner
{
    public const string Interpreter = "/usr/bin/python3";

    public static JsonElement Run(string script, object input, int timeoutMs = 120_000)
    {
        var psi = new ProcessStartInfo(Interpreter, ["-c", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // One libtorch thread pool is enough for these tiny models and keeps the 2-core box responsive.
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Interpreter}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(JsonSerializer.Serialize(input));
        process.StandardInput.Close();
        if (!process.WaitForExit(timeoutMs))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"python3-torch reference did not finish in {timeoutMs} ms");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"python3-torch reference failed (exit {process.ExitCode}); is python3-torch installed (./mola installs it)?\n{stderr.Result}");
        return JsonDocument.Parse(stdout.Result).RootElement.Clone();
    }
}
