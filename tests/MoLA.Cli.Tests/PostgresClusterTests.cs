using System.Globalization;
using MoLA.TestSupport;

namespace MoLA.Cli.Tests;

/// <summary>
/// A real two-node cluster on Debian's PostgreSQL (started in a temp directory on a free port): membership, grain state
/// and reminders in the database, schema applied by `mola silo migrate`. DP=2 and dp 1 x ep 2 jobs run one rank per node.
/// </summary>
public sealed class PostgresClusterTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-pg-cluster-").FullName;
    private readonly PostgresServer _postgres = PostgresServer.Start();
    private readonly SiloCluster _cluster;

    public PostgresClusterTests() => _cluster = new SiloCluster(_root, "postgres", _postgres.ConnectionString);

    public void Dispose()
    {
        _cluster.Dispose();
        _postgres.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void TwoSilosRunDataAndExpertParallelJobsOneRankPerNode()
    {
        // A silo refuses a database without our schema, naming the setting and the command that fixes it.
        var refused = SiloProcess.RunToExit(_cluster.SiloArgs("node-a", LoopbackPorts.Free()));
        Assert.True(refused.ExitCode == 2, refused.Output);
        Assert.Contains("connection-string: ", refused.Output, StringComparison.Ordinal);
        Assert.Contains("mola silo migrate", refused.Output, StringComparison.Ordinal);

        var migrate = Cli.ChildProcess(new Dictionary<string, string>(), "silo", "migrate", "--connection-string", _postgres.ConnectionString);
        Assert.True(migrate.ExitCode == 0, migrate.ToString());
        Assert.Contains("schema version 0 -> 1", migrate.Stdout, StringComparison.Ordinal);
        var again = Cli.ChildProcess(new Dictionary<string, string>(), "silo", "migrate", "--connection-string", _postgres.ConnectionString);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("up to date", again.Stdout, StringComparison.Ordinal);

        var a = _cluster.Start();
        _cluster.RunOneRankPerNodeLikeLaunch(a, dp: 2, ep: 1);
        _cluster.RunOneRankPerNodeLikeLaunch(a, dp: 1, ep: 2);
    }
}
