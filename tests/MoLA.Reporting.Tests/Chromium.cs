using System.Diagnostics;

namespace MoLA.Reporting.Tests;

/// <summary>A [Fact] that is skipped, saying why, when Debian's chromium is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!File.Exists(Chromium.Path)) Skip = $"{Chromium.Path} not found: apt-get install -y chromium";
    }
}

/// <summary>Headless Chromium: loads a page from disk and returns the DOM after its scripts ran, and its console log.</summary>
internal static class Chromium
{
    public const string Path = "/usr/bin/chromium";

    public sealed record Rendered(string Dom, string Log)
    {
        /// <summary>Console lines ("INFO:CONSOLE...") reporting an uncaught exception.</summary>
        public IReadOnlyList<string> UncaughtErrors => Log.Split('\n').Where(l => l.Contains("CONSOLE", StringComparison.Ordinal) && l.Contains("Uncaught", StringComparison.Ordinal)).ToList();
    }

    /// <param name="windowSize">"WIDTH,HEIGHT" of the viewport that lays the page out (Chromium's default when null).</param>
    public static Rendered Render(string file, TimeSpan timeout, string? windowSize = null)
    {
        var profile = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mola-chromium-" + Guid.NewGuid().ToString("N"));
        var psi = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // --enable-logging=stderr --v=0 makes Chromium print console messages (and uncaught exceptions) to stderr.
        foreach (var a in new[] { "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
                     $"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom", new Uri(file).AbsoluteUri })
            psi.ArgumentList.Add(a);
        if (windowSize is not null) psi.ArgumentList.Insert(0, $"--window-size={windowSize}");
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeout))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail($"chromium did not finish rendering {file} within {timeout.TotalSeconds} s");
            }
            p.WaitForExit();
            return new Rendered(stdout.Result, stderr.Result);
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { }
        }
    }
}
