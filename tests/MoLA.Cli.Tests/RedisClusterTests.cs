using MoLA.TestSupport;

namespace MoLA.Cli.Tests;

/// <summary>The same two-node cluster on Debian's redis-server (membership, grain state and reminders in Redis; no schema).</summary>
public sealed class RedisClusterTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-redis-cluster-").FullName;
    private readonly RedisServer _redis = RedisServer.Start();
    private readonly SiloCluster _cluster;

    public RedisClusterTests() => _cluster = new SiloCluster(_root, "redis", _redis.ConnectionString);

    public void Dispose()
    {
        _cluster.Dispose();
        _redis.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void TwoSilosRunADataParallelJobOneRankPerNode()
    {
        var a = _cluster.Start();
        _cluster.RunOneRankPerNodeLikeLaunch(a, dp: 2, ep: 1);
    }
}
