using System.Diagnostics;

namespace MoLA.Cli.Tests;

/// <summary>Result of one CLI run: exit code and everything written to stdout/stderr.</summary>
internal sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs <c>mola</c> in this process (CliApp.Run) or as a child process (dotnet mola.dll).</summary>
internal static class Cli
{
    public static CliRun InProcess(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = CliApp.Run(args, stdout, stderr);
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The mola.dll built next to this test assembly (the project reference copies it).</summary>
    public static string MolaDll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "mola.dll");
            Assert.True(File.Exists(path), $"{path} is missing: the test project must reference trainer/MoLA.Cli");
            return path;
        }
    }

    public static CliRun ChildProcess(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(MolaDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"mola {string.Join(' ', args)} did not finish within 60 s");
        }
        p.WaitForExit();
        return new CliRun(p.ExitCode, stdout.Result, stderr.Result);
    }
}
