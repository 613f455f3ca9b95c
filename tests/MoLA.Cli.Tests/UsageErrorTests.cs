namespace MoLA.Cli.Tests;

public sealed class UsageErrorTests
{
    [Theory]
    [InlineData("--threads", "0", "doctor")]
    [InlineData("--threads", "abc", "doctor")]
    [InlineData("--threads", "-3", "bench", "ops")]
    [InlineData("--threads", "99999", "bench", "ops")]
    [InlineData("--clock", "sundial", "bench", "ops")]
    public void A_bad_flag_value_exits_2_and_names_the_flag(string flag, string value, params string[] command)
    {
        var run = Cli.InProcess([.. command, flag, value]);
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains(flag, run.Stderr);
        Assert.Contains("--help", run.Stderr);
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public void An_unknown_flag_exits_2()
    {
        var run = Cli.InProcess("bench", "ops", "--fast");
        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("--fast", run.Stderr);
    }

    [Fact]
    public void The_real_executable_exits_2_on_a_bad_flag_value()
    {
        var run = Cli.ChildProcess(new Dictionary<string, string>(), "doctor", "--threads", "many");
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains("--threads", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
    }
}
