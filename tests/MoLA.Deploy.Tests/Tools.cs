using System.Diagnostics;

namespace MoLA.Deploy.Tests;

/// <summary>One finished tool run.</summary>
internal sealed record ToolRun(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>The checkout and the real tools: helm and kubectl from ./mola's bootstrap, Debian's promtool.</summary>
internal static class Tools
{
    public static string Root { get; } = FindRoot();

    public static string Chart => Path.Combine(Root, "helm", "mola-distributed");

    public static string Helm => Find("MOLA_HELM", "helm");

    public static string Kubectl => Find("MOLA_KUBECTL", "kubectl");

    public const string Promtool = "/usr/bin/promtool";

    public static async Task<ToolRun> Run(string program, IEnumerable<string> args, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Root,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // helm keeps a cache and config per user: point them into a temp dir so no test depends on (or writes) $HOME.
        var home = Path.Combine(Path.GetTempPath(), "mola-deploy-tests-helm");
        psi.Environment["HELM_CACHE_HOME"] = Path.Combine(home, "cache");
        psi.Environment["HELM_CONFIG_HOME"] = Path.Combine(home, "config");
        psi.Environment["HELM_DATA_HOME"] = Path.Combine(home, "data");
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} did not finish within 120 s");
        }
        return new ToolRun(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>helm template of the chart (or <paramref name="chart"/>) with the given values files and --set pairs.</summary>
    public static async Task<string> Template(IEnumerable<string>? valuesFiles = null, IEnumerable<string>? sets = null, string? chart = null, string release = "mola")
    {
        var args = new List<string> { "template", release, chart ?? Chart, "--namespace", "ml" };
        foreach (var f in valuesFiles ?? []) args.AddRange(["-f", f]);
        foreach (var s in sets ?? []) args.AddRange(["--set", s]);
        var run = await Run(Helm, args);
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Stdout;
    }

    private static string Find(string variable, string name)
    {
        var path = Environment.GetEnvironmentVariable(variable) is { Length: > 0 } v ? v : Path.Combine(Root, ".build", "tools", name);
        Assert.True(File.Exists(path), $"{name} is missing at {path}: `./mola test` fetches it into .build/tools (or set {variable})");
        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MoLA.Distributed.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no MoLA.Distributed.sln above {AppContext.BaseDirectory}");
    }
}
