using MoLA.Torch.Distributed;

namespace MoLA.Parallel;

/// <summary>
/// The process groups of one rank, all created over one TCPStore rendezvous: World (every rank),
/// ExpertParallel (the EP ranks that split the experts and exchange tokens), ExpertDataParallel (the
/// replicas of this rank's experts) and DataParallel (same as World: non-expert trainables are
/// replicated on every rank). Gloo on CPU. Groups of size 1 are still real groups (cheap, uniform code).
/// Every group's calls are timed into <see cref="Stats"/>.
/// </summary>
public sealed class ParallelGroups : IDisposable
{
    public const string FailureKey = "mola/failed";
    private readonly List<IDisposable> _owned = [];

    private ParallelGroups(int rank, ParallelTopology topology, TcpStore store, CollectiveStats stats)
    {
        Rank = rank;
        Topology = topology;
        Store = store;
        Stats = stats;
    }

    public int Rank { get; }
    public ParallelTopology Topology { get; }
    public TcpStore Store { get; }
    public CollectiveStats Stats { get; }
    public InstrumentedCollectives World { get; private set; } = null!;
    public InstrumentedCollectives ExpertParallel { get; private set; } = null!;
    public InstrumentedCollectives ExpertDataParallel { get; private set; } = null!;
    public ICollectives DataParallel => World;
    public int EpRank => Topology.EpRankOf(Rank);

    /// <summary>
    /// Joins the job described by <paramref name="info"/>: opens the store (rank 0 serves it unless the
    /// launcher does) and creates the groups. Blocks until every rank joined or the timeout passed.
    /// </summary>
    public static ParallelGroups Join(RendezvousInfo info, CollectiveStats? stats = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        var serve = info.Rank == 0 && !info.StoreHostedByLauncher;
        var store = serve
            ? TcpStore.CreateServer(info.MasterPort, info.Timeout, info.WorldSize, host: info.MasterAddress)
            : TcpStore.Connect(info.MasterAddress, info.MasterPort, info.Timeout, info.WorldSize);
        try
        {
            return Create(store, info.Rank, info.Topology, info.Timeout, stats, ownsStore: true);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Creates the groups of <paramref name="rank"/> over an open store.</summary>
    public static ParallelGroups Create(TcpStore store, int rank, ParallelTopology topology, TimeSpan timeout,
        CollectiveStats? stats = null, bool ownsStore = false)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(topology);
        var g = new ParallelGroups(rank, topology, store, stats ?? new CollectiveStats());
        try
        {
            if (ownsStore) g._owned.Add(store);
            var world = GlooProcessGroup.Create(store, rank, topology.WorldSize, timeout, "world");
            g._owned.Add(world);
            g.World = new InstrumentedCollectives(world, g.Stats, "world");
            // Every rank creates only its own EP and EDP groups; names keep their store keys apart.
            var epRanks = topology.EpGroupRanks(rank);
            var ep = GlooProcessGroup.Create(store, Array.IndexOf(epRanks, rank), epRanks.Length, timeout, $"ep{topology.EpGroupOf(rank)}");
            g._owned.Add(ep);
            g.ExpertParallel = new InstrumentedCollectives(ep, g.Stats, "ep");
            var edpRanks = topology.ExpertDataParallelRanks(rank);
            var edp = GlooProcessGroup.Create(store, Array.IndexOf(edpRanks, rank), edpRanks.Length, timeout, $"edp{topology.EpRankOf(rank)}");
            g._owned.Add(edp);
            g.ExpertDataParallel = new InstrumentedCollectives(edp, g.Stats, "edp");
            return g;
        }
        catch
        {
            g.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What the launcher posted about a failed rank (e.g. "rank 1 (pid 123) was killed by signal 9"),
    /// waiting up to <paramref name="wait"/> for it; null when nothing was posted or the store is gone.
    /// Used to name the dead rank when a collective fails.
    /// </summary>
    public string? FailureReport(TimeSpan wait)
    {
        try
        {
            Store.Wait(wait, FailureKey);
            return Store.GetString(FailureKey);
        }
        catch (StoreException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        _owned.Clear();
    }
}
