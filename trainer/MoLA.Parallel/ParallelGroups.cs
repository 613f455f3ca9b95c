using MoLA.Torch;
using MoLA.Torch.Distributed;

namespace MoLA.Parallel;

/// <summary>
/// The process groups of one rank, all created over one TCPStore rendezvous: World (every rank),
/// ExpertParallel (the EP ranks that split the experts and exchange tokens), ExpertDataParallel (the
/// replicas of this rank's experts) and DataParallel (same as World: non-expert trainables are
/// replicated on every rank). <see cref="Backend"/> is Gloo (CPU tensors) or NCCL (CUDA tensors of
/// <see cref="Device"/>; by default when the model is on CUDA). Groups of size 1 are still real groups
/// (cheap, uniform code). Every group's calls are timed into <see cref="Stats"/>.
/// </summary>
public sealed class ParallelGroups : IDisposable
{
    public const string FailureKey = "mola/failed";
    private readonly List<IDisposable> _owned = [];

    private ParallelGroups(int rank, ParallelTopology topology, TcpStore store, CollectiveStats stats, CollectiveBackend backend, Device device)
    {
        Rank = rank;
        Topology = topology;
        Store = store;
        Stats = stats;
        Backend = backend;
        Device = device;
    }

    public CollectiveBackend Backend { get; }

    /// <summary>Where tensors handed to these groups must live: the CUDA device under NCCL, the CPU under Gloo.</summary>
    public Device Device { get; }

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
    /// The backend is <paramref name="backend"/>, else info's (MOLA_BACKEND), else the default for
    /// <paramref name="modelDevice"/> (CPU when not given); it is checked before the store is opened.
    /// </summary>
    public static ParallelGroups Join(RendezvousInfo info, CollectiveStats? stats = null, Device? modelDevice = null, CollectiveBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        var device = modelDevice ?? Device.CPU;
        var chosen = CollectiveBackends.Resolve(backend ?? info.Backend, device);
        var serve = info.Rank == 0 && !info.StoreHostedByLauncher;
        var store = serve
            ? TcpStore.CreateServer(info.MasterPort, info.Timeout, info.WorldSize, host: info.MasterAddress)
            : TcpStore.Connect(info.MasterAddress, info.MasterPort, info.Timeout, info.WorldSize);
        try
        {
            return Create(store, info.Rank, info.Topology, info.Timeout, stats, ownsStore: true, chosen, device);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates the groups of <paramref name="rank"/> over an open store, with <paramref name="backend"/> (default:
    /// NCCL when <paramref name="modelDevice"/> is CUDA, Gloo otherwise; NCCL is checked first: CUDA device,
    /// GPU, libcudart, libnccl.so.2, each failure a <see cref="ParallelConfigException"/> saying what to set).
    /// </summary>
    public static ParallelGroups Create(TcpStore store, int rank, ParallelTopology topology, TimeSpan timeout,
        CollectiveStats? stats = null, bool ownsStore = false, CollectiveBackend? backend = null, Device? modelDevice = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(topology);
        var device = modelDevice ?? Device.CPU;
        var chosen = CollectiveBackends.Resolve(backend, device);
        var g = new ParallelGroups(rank, topology, store, stats ?? new CollectiveStats(), chosen,
            chosen == CollectiveBackend.Nccl ? device : Device.CPU);
        try
        {
            if (ownsStore) g._owned.Add(store);
            g.World = g.Join(rank, topology.WorldSize, timeout, "world", "world");
            // Every rank creates only its own EP and EDP groups; names keep their store keys apart.
            var epRanks = topology.EpGroupRanks(rank);
            g.ExpertParallel = g.Join(Array.IndexOf(epRanks, rank), epRanks.Length, timeout, $"ep{topology.EpGroupOf(rank)}", "ep");
            var edpRanks = topology.ExpertDataParallelRanks(rank);
            g.ExpertDataParallel = g.Join(Array.IndexOf(edpRanks, rank), edpRanks.Length, timeout, $"edp{topology.EpRankOf(rank)}", "edp");
            return g;
        }
        catch
        {
            g.Dispose();
            throw;
        }
    }

    private InstrumentedCollectives Join(int rank, int size, TimeSpan timeout, string group, string role)
    {
        if (Backend == CollectiveBackend.Nccl)
        {
            var nccl = NcclProcessGroup.Create(Store, rank, size, timeout, group, Device);
            _owned.Add(nccl);
            return new InstrumentedCollectives(nccl, Stats, role);
        }
        var gloo = GlooProcessGroup.Create(Store, rank, size, timeout, group);
        _owned.Add(gloo);
        return new InstrumentedCollectives(gloo, Stats, role);
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
