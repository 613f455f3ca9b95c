using MoLA.Parallel.Benchmarks;
using MoLA.Torch;
using MoLA.Torch.Distributed;

namespace MoLA.Parallel.Tests;

/// <summary>
/// The NCCL backend on device 0 with one rank (NCCL refuses two ranks on one GPU). One-rank reductions
/// are identities, so the checks target what the group can get wrong: pointers and offsets (outputs are
/// slices of a sentinel-filled buffer whose other elements must stay untouched), element counts and
/// types, validation, and a whole training step against the same step without the engine.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class NcclGpuTests
{
    private const float Sentinel = -7f; // exact in every dtype the tests use (integers included)
    private static readonly Device Cuda = Device.CUDA(0);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static NcclProcessGroup Group(TcpStore store, string name) => NcclProcessGroup.Create(store, 0, 1, Timeout, name, Cuda);

    private static Tensor Values(long n, DType dtype) => torch.arange(0, n, 1, DType.Float64).mul(0.5).sub(3).to(dtype).to(Cuda);

    private static double[] Host(Tensor t) => t.to(DType.Float64).cpu().ToArray<double>();

    [CudaFact]
    public void AllReduceBroadcastAndBarrierKeepOneRanksValuesInEveryDtype()
    {
        using var scope = torch.NewDisposeScope();
        using var store = TcpStore.CreateServer(0, Timeout);
        using var g = Group(store, "ops");
        foreach (var dtype in NcclTensorTypes.DataTypes.Keys)
        {
            var x = Values(37, dtype);
            var before = Host(x);
            foreach (var op in Enum.GetValues<ReduceOp>())
            {
                g.AllReduce(x, op);
                Assert.Equal(before, Host(x));
            }
            g.Broadcast(x, 0);
            Assert.Equal(before, Host(x));
        }
        g.Barrier();
        Assert.Throws<ArgumentOutOfRangeException>(() => g.Broadcast(torch.zeros([2], DType.Float32, Cuda), 1));
    }

    [CudaFact]
    public void AllGatherWritesExactlyItsSliceOfTheOutput()
    {
        using var scope = torch.NewDisposeScope();
        using var store = TcpStore.CreateServer(0, Timeout);
        using var g = Group(store, "gather");
        foreach (var dtype in new[] { DType.Float16, DType.Int64, DType.Float64 })
        {
            var input = Values(10, dtype);
            var buffer = torch.full([20], Sentinel, dtype, Cuda);
            g.AllGather(input, buffer.narrow(0, 4, 10));
            var h = Host(buffer);
            Assert.Equal(Host(input), h[4..14]);
            Assert.All(h[..4].Concat(h[14..]), v => Assert.Equal(Sentinel, v));
        }
        var e = Assert.Throws<ArgumentException>(() => g.AllGather(Values(4, DType.Float32), torch.zeros([5], DType.Float32, Cuda)));
        Assert.Contains("needs 1 x 4 = 4 elements", e.Message);
    }

    [CudaFact]
    public void AllToAllMovesRowsWithSplitsIntoAnOffsetSlice()
    {
        using var scope = torch.NewDisposeScope();
        using var store = TcpStore.CreateServer(0, Timeout);
        using var g = Group(store, "a2a");
        var input = Values(5 * 3, DType.BFloat16).view(5, 3);
        var buffer = torch.full([8, 3], Sentinel, DType.BFloat16, Cuda);
        g.AllToAll(buffer.narrow(0, 2, 5), input, [5], [5]);
        var h = Host(buffer);
        Assert.Equal(Host(input), h[6..21]);
        Assert.All(h[..6].Concat(h[21..]), v => Assert.Equal(Sentinel, v));
        // Equal splits, and nothing to move at all.
        var o = torch.zeros([5, 3], DType.BFloat16, Cuda);
        g.AllToAll(o, input, null, null);
        Assert.Equal(Host(input), Host(o));
        g.AllToAll(torch.zeros([0, 3], DType.Float32, Cuda), torch.zeros([0, 3], DType.Float32, Cuda), [0], [0]);
    }

    [CudaFact]
    public void CpuNonContiguousAndUnmappedTensorsAreErrorsNamingOpAndTensor()
    {
        using var scope = torch.NewDisposeScope();
        using var store = TcpStore.CreateServer(0, Timeout);
        using var g = Group(store, "checks");
        var cpu = Assert.Throws<ArgumentException>(() => g.AllReduce(torch.zeros([2, 2])));
        Assert.Contains("NCCL AllReduce(Sum) (group 'checks'): tensor ([2, 2] Float32 on cpu) is a CPU tensor", cpu.Message);
        var strided = Assert.Throws<ArgumentException>(() => g.Broadcast(torch.zeros([3, 4], DType.Float32, Cuda).transpose(0, 1), 0));
        Assert.Contains("Broadcast(root 0) (group 'checks'): tensor ([4, 3] Float32 on cuda:0) is not contiguous", strided.Message);
        var gather = Assert.Throws<ArgumentException>(() => g.AllGather(torch.zeros([2], DType.Float32, Cuda), torch.zeros([2])));
        Assert.Contains("output ([2] Float32 on cpu) is a CPU tensor", gather.Message);
        var flags = Assert.Throws<ArgumentException>(() => g.AllReduce(torch.zeros([2], DType.Float32, Cuda).gt(1)));
        Assert.Contains("has dtype Bool", flags.Message);
        // Validation errors leave the group usable.
        g.Barrier();
    }

    [CudaFact]
    public void ARankWhoseRootNeverPublishesTimesOutNamingTheKey()
    {
        using var store = TcpStore.CreateServer(0, Timeout);
        var e = Assert.Throws<CollectiveException>(() => NcclProcessGroup.Create(store, 1, 2, TimeSpan.FromMilliseconds(300), "orphan", Cuda));
        Assert.Equal("Create", e.Op);
        Assert.Equal("orphan", e.Group);
        Assert.Contains(NcclProcessGroup.UniqueIdKey("orphan"), e.Message);
    }

    [CudaFact]
    public void AnNcclTrainingStepEqualsTheSameStepWithoutTheEngine()
    {
        var o = new TinyRunOptions { Steps = 2, GlobalBatch = 2, Device = Cuda };
        var reference = TinyTrainingRun.Run(o, null, null);
        using var store = TcpStore.CreateServer(0, Timeout);
        using var groups = ParallelGroups.Create(store, 0, new ParallelTopology(1, 1, 1), Timeout, modelDevice: Cuda);
        Assert.Equal(CollectiveBackend.Nccl, groups.Backend);
        Assert.IsType<NcclProcessGroup>(groups.World.Inner);
        var run = TinyTrainingRun.Run(o, groups, null);
        AssertClose(reference, run);
        // The all-to-all dispatcher on one rank: every expert row goes through NCCL send/recv.
        var staged = TinyTrainingRun.Run(o, groups, null, forceDispatcher: true);
        AssertClose(reference, staged);
        Assert.True(groups.Stats.ByOperation["all_to_all"].Calls > 0);
        Assert.True(groups.Stats.ByOperation["all_reduce"].Calls > 0);
    }

    private static void AssertClose(TinyRunResult reference, TinyRunResult run)
    {
        Assert.Equal(reference.Losses.Count, run.Losses.Count);
        for (var s = 0; s < run.Losses.Count; s++)
            Assert.True(Math.Abs(reference.Losses[s] - run.Losses[s]) <= 1e-5, $"step {s + 1}: loss {run.Losses[s]} vs {reference.Losses[s]}");
        Assert.Equal(reference.Tensors.Keys.Order(), run.Tensors.Keys.Order());
        foreach (var (name, values) in run.Tensors)
        {
            var worst = reference.Tensors[name].Zip(values, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 1e-5, $"{name}: max |difference| {worst}");
        }
        // The step moved the adapter, so equality is not between two untouched ones.
        Assert.True(run.Tensors.Where(t => t.Key.Contains(".B", StringComparison.Ordinal)).Max(t => t.Value.Max(Math.Abs)) > 1e-4);
    }
}
