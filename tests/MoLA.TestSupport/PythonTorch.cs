using System.Diagnostics;
using System.Text.Json;

namespace MoLA.TestSupport;

/// <summary>
/// Runs a reference computation in Debian's python3-torch (the same libtorch 1.13) with a JSON
/// document on stdin and returns the JSON it prints. The interpreter must be /usr/bin/python3: the
/// first python3 on PATH may lack torch.
/// </summary>
public static class PythonTorch
{
    public const string Interpreter = "/usr/bin/python3";

    /// <summary>Runs <paramref name="script"/> (source text) with <c>python3 -c</c>.</summary>
    public static JsonElement Run(string script, object input, int timeoutMs = 120_000) =>
        Start(["-c", script], input, timeoutMs, "python3-torch reference");

    /// <summary>Runs the script file at <paramref name="path"/>.</summary>
    public static JsonElement RunFile(string path, object input, int timeoutMs = 120_000) =>
        Start([path], input, timeoutMs, Path.GetFileName(path));

    private static JsonElement Start(string[] args, object input, int timeoutMs, string what)
    {
        var psi = new ProcessStartInfo(Interpreter, args)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // One libtorch thread is enough for these small references and keeps the 2-core box responsive.
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Interpreter}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(JsonSerializer.Serialize(input));
        process.StandardInput.Close();
        if (!process.WaitForExit(timeoutMs))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{what} did not finish in {timeoutMs} ms");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{what} failed (exit {process.ExitCode}); is python3-torch installed (./mola installs it)?\n{stderr.Result}");
        return JsonDocument.Parse(stdout.Result).RootElement.Clone();
    }
}
