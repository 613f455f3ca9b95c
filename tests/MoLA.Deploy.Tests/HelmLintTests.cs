namespace MoLA.Deploy.Tests;

/// <summary>`helm lint --strict` passes with the default values and with the GPU production example.</summary>
public sealed class HelmLintTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("values-gpu-production.yaml")]
    public async Task LintStrictPasses(string? valuesFile)
    {
        var args = new List<string> { "lint", "--strict", Tools.Chart };
        if (valuesFile is not null) args.AddRange(["-f", Path.Combine(Tools.Chart, valuesFile)]);
        var run = await Tools.Run(Tools.Helm, args);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("1 chart(s) linted, 0 chart(s) failed", run.Stdout, StringComparison.Ordinal);
    }
}
