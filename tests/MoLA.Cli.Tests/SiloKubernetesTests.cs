using MoLA.TestSupport;

namespace MoLA.Cli.Tests;

/// <summary>
/// `mola silo --kubernetes true` (the Helm chart's silo.yaml key): refused where it cannot work, each error naming the
/// setting; and wired to Orleans' Kubernetes hosting, which a silo on a real PostgreSQL shows outside a cluster by
/// failing to start on the missing in-cluster credentials (PostgresClusterTests starts the same silo without the flag).
/// </summary>
public sealed class SiloKubernetesTests
{
    private static readonly Dictionary<string, string> InPod = new()
    {
        ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1",
        ["POD_NAME"] = "mola-silo-0",
        ["POD_NAMESPACE"] = "ml",
        ["POD_IP"] = "127.0.0.1",
    };

    [Fact]
    public void RefusedWithTheEmbeddedProvider()
    {
        var run = Cli.ChildProcess(InPod, "silo", "--kubernetes", "true", "--state-dir", Path.GetTempPath());
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("--kubernetes: needs provider postgres or redis", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KUBERNETES_SERVICE_HOST", "not inside a Kubernetes pod")]
    [InlineData("POD_IP", "POD_IP is not set")]
    [InlineData("POD_NAMESPACE", "POD_NAMESPACE is not set")]
    public void RefusedWithoutThePodEnvironment(string missing, string message)
    {
        var environment = new Dictionary<string, string>(InPod) { [missing] = "" };
        var run = Cli.ChildProcess(environment, "silo", "--kubernetes", "true", "--provider", "postgres",
            "--connection-string", "Host=127.0.0.1;Database=mola;Username=mola", "--state-dir", Path.GetTempPath());
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains($"--kubernetes: {message}", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void StartsOrleansKubernetesHosting()
    {
        using var postgres = PostgresServer.Start();
        var state = Directory.CreateTempSubdirectory("mola-k8s-silo-").FullName;
        try
        {
            var migrate = Cli.ChildProcess(new Dictionary<string, string>(), "silo", "migrate", "--connection-string", postgres.ConnectionString);
            Assert.True(migrate.ExitCode == 0, migrate.ToString());
            string[] args =
            [
                "silo", "--provider", "postgres", "--connection-string", postgres.ConnectionString, "--state-dir", state,
                "--agent", "false", "--api-port", LoopbackPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--silo-port", LoopbackPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--gateway-port", LoopbackPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--kubernetes", "true",
            ];
            // Orleans' Kubernetes agent reads the pod's service account (a fixed path no test can provide): its
            // refusal shows the silo asked for it.
            var run = Cli.ChildProcess(InPod, args);
            Assert.True(run.ExitCode != 0, run.ToString());
            Assert.Contains("Unable to load in-cluster configuration", run.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }
}
