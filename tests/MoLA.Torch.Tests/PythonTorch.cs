using System.Diagnostics;
using System.Text.Json;

namespace MoLA.Torch.Tests;

/// <summary>
/// Runs a reference computation in Debian's python3-torch (the same libtorch 1.13) and returns its
/// JSON output. The interpreter must be /usr/bin/python3: the first python3 on PATH may lack torch.
/// </summary>
internal static class PythonTorch
{
    public const string Interpreter = "/usr/bin/python3";

    public static JsonElement Run(string script, object input)
    {
        var psi = new ProcessStartInfo(Interpreter, ["-c", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Interpreter}");
        p.StandardInput.Write(JsonSerializer.Serialize(input));
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("python3-torch reference timed out"); }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"python3-torch reference failed ({p.ExitCode}); is python3-torch installed (./mola installs it)? {stderr.Result}");
        return JsonDocument.Parse(stdout.Result).RootElement.Clone();
    }
}
