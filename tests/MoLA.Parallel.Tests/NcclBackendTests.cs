using MoLA.Torch;
using MoLA.Torch.Distributed;
using NcclSharp;

namespace MoLA.Parallel.Tests;

/// <summary>The NCCL backend's choice, checks and mappings: everything that runs without a GPU.</summary>
public sealed class NcclBackendTests
{
    [Theory]
    [InlineData("gloo", CollectiveBackend.Gloo)]
    [InlineData(" NCCL ", CollectiveBackend.Nccl)]
    public void BackendNamesParse(string text, CollectiveBackend expected)
    {
        Assert.Equal(expected, CollectiveBackends.Parse(text));
        Assert.Equal(expected, CollectiveBackends.Parse(expected.Name()));
    }

    [Theory]
    [InlineData("mpi")]
    [InlineData("")]
    [InlineData(null)]
    public void UnknownBackendIsAnErrorNamingTheField(string? text)
    {
        var e = Assert.Throws<ParallelConfigException>(() => CollectiveBackends.Parse(text, "--backend"));
        Assert.Equal("--backend", e.Field);
        Assert.Contains("gloo or nccl", e.Message);
    }

    [Fact]
    public void DefaultIsNcclOnCudaAndGlooOnCpu()
    {
        Assert.Equal(CollectiveBackend.Gloo, CollectiveBackends.Default(Device.CPU));
        Assert.Equal(CollectiveBackend.Nccl, CollectiveBackends.Default(Device.CUDA(0)));
        Assert.Equal(CollectiveBackend.Gloo, CollectiveBackends.Resolve(null, Device.CPU));
    }

    [Fact]
    public void EachMissingPieceOfNcclIsNamedWithWhatToSet()
    {
        Assert.Null(CollectiveBackends.NcclProblem(Device.CUDA(0), null, null, null));
        var cpu = CollectiveBackends.NcclProblem(Device.CPU, null, null, null)!;
        Assert.Contains("CUDA device", cpu);
        Assert.Contains("on cpu", cpu);
        Assert.Contains("MOLA_BACKEND=gloo", cpu);
        var gpu = CollectiveBackends.NcclProblem(Device.CUDA(0), "libtorch sees no CUDA device", null, null)!;
        Assert.Contains("no CUDA GPU", gpu);
        Assert.Contains("sees no CUDA device", gpu);
        var cudart = CollectiveBackends.NcclProblem(Device.CUDA(0), null, "libcudart not found (x)", null)!;
        Assert.Contains("CUDART_LIBRARY", cudart);
        var nccl = CollectiveBackends.NcclProblem(Device.CUDA(0), null, null, "libnccl.so.2 was not found")!;
        Assert.Contains("NCCL_LIBRARY", nccl);
        Assert.Contains("libnccl.so.2 was not found", nccl);
    }

    [Fact]
    public void NcclForACpuModelFailsBeforeAnyGroupIsCreated()
    {
        using var store = TcpStore.CreateServer(0, TimeSpan.FromSeconds(5));
        var e = Assert.Throws<ParallelConfigException>(() =>
            ParallelGroups.Create(store, 0, new ParallelTopology(1, 1, 1), TimeSpan.FromSeconds(5), backend: CollectiveBackend.Nccl));
        Assert.Equal("backend", e.Field);
        Assert.Contains("nccl needs the model on a CUDA device, but it is on cpu", e.Message);
        Assert.False(store.Check(NcclProcessGroup.UniqueIdKey("world")));
    }

    [Fact]
    public void ACudaModelGetsNcclWhereItIsUsableAndAnErrorNamingTheGapElsewhere()
    {
        using var store = TcpStore.CreateServer(0, TimeSpan.FromSeconds(5));
        ParallelGroups Make() => ParallelGroups.Create(store, 0, new ParallelTopology(1, 1, 1), TimeSpan.FromSeconds(5), modelDevice: Device.CUDA(0));
        if (CudaEnvironment.SkipReason is null)
        {
            using var g = Make();
            Assert.Equal(CollectiveBackend.Nccl, g.Backend);
            Assert.Equal(Device.CUDA(0), g.Device);
            return;
        }
        var e = Assert.Throws<ParallelConfigException>(Make);
        Assert.Equal("backend", e.Field);
        // This CPU machine: the prebuilt shim is a CPU libtorch build, so the GPU is what is missing.
        if (!torch.cuda.is_available()) Assert.Contains("no CUDA GPU", e.Message);
        Assert.Contains("gloo", e.Message);
    }

    [Fact]
    public void GlooGroupsStayOnTheCpu()
    {
        using var store = TcpStore.CreateServer(0, TimeSpan.FromSeconds(5));
        if (torch.cuda.is_built)
        {
            // A pip torch ships no gloo headers, so CUDA builds of the shim have no Gloo: that must be said, not hidden.
            try { using var _ = ParallelGroups.Create(store, 0, new ParallelTopology(1, 1, 1), TimeSpan.FromSeconds(5), backend: CollectiveBackend.Gloo); }
            catch (MoLA.Torch.Distributed.CollectiveException e) when (e.Message.Contains("built without Gloo", StringComparison.Ordinal)) { return; }
        }
        using var g = ParallelGroups.Create(store, 0, new ParallelTopology(1, 1, 1), TimeSpan.FromSeconds(5));
        Assert.Equal(CollectiveBackend.Gloo, g.Backend);
        Assert.Equal(Device.CPU, g.Device);
    }

    [Fact]
    public void TheBackendTravelsInTheEnvironment()
    {
        var env = new Dictionary<string, string?> { ["RANK"] = "0", ["WORLD_SIZE"] = "1", ["MASTER_PORT"] = "29500" };
        Assert.Null(RendezvousInfo.FromEnvironment(k => env.GetValueOrDefault(k)).Backend);
        env["MOLA_BACKEND"] = "nccl";
        var info = RendezvousInfo.FromEnvironment(k => env.GetValueOrDefault(k));
        Assert.Equal(CollectiveBackend.Nccl, info.Backend);
        Assert.Equal("nccl", info.ToEnvironment()["MOLA_BACKEND"]);
        Assert.False((info with { Backend = null }).ToEnvironment().ContainsKey("MOLA_BACKEND"));
        env["MOLA_BACKEND"] = "tcp";
        var e = Assert.Throws<ParallelConfigException>(() => RendezvousInfo.FromEnvironment(k => env.GetValueOrDefault(k)));
        Assert.Equal("MOLA_BACKEND", e.Field);
        Assert.Contains("'tcp'", e.Message);
    }

    [Fact]
    public void DTypesMapOntoNcclTypesOfTheSameSizeAndTheRestAreNamed()
    {
        var expected = new Dictionary<DType, NcclDataType>
        {
            [DType.Float32] = NcclDataType.Float32, [DType.Float64] = NcclDataType.Float64,
            [DType.Float16] = NcclDataType.Float16, [DType.BFloat16] = NcclDataType.BFloat16,
            [DType.Int64] = NcclDataType.Int64, [DType.Int32] = NcclDataType.Int32,
        };
        foreach (var d in Enum.GetValues<DType>())
        {
            if (expected.TryGetValue(d, out var t))
            {
                Assert.Equal(t, NcclTensorTypes.DataType(d));
                Assert.Equal(d.ElementSize(), t.ElementSize());
                continue;
            }
            var e = Assert.Throws<ArgumentException>(() => NcclTensorTypes.DataType(d, "AllReduce(Sum)", "grads"));
            Assert.Contains($"AllReduce(Sum): grads has dtype {d}", e.Message);
            Assert.Contains("Float32", e.Message);
        }
        Assert.Equal(expected.Keys.Order(), NcclTensorTypes.DataTypes.Keys.Order());
    }

    [Fact]
    public void ReduceOpsMapOntoNcclOps()
    {
        Assert.Equal(NcclRedOp.Sum, NcclTensorTypes.RedOp(ReduceOp.Sum));
        Assert.Equal(NcclRedOp.Avg, NcclTensorTypes.RedOp(ReduceOp.Avg));
        Assert.Equal(NcclRedOp.Max, NcclTensorTypes.RedOp(ReduceOp.Max));
        Assert.Equal(NcclRedOp.Min, NcclTensorTypes.RedOp(ReduceOp.Min));
        Assert.Equal(NcclRedOp.Prod, NcclTensorTypes.RedOp(ReduceOp.Product));
        Assert.Throws<ArgumentOutOfRangeException>(() => NcclTensorTypes.RedOp((ReduceOp)99));
    }

    [Fact]
    public void ACpuTensorHandedToAnNcclOpIsAnErrorNamingOpGroupAndTensor()
    {
        using var t = torch.zeros([3, 4]);
        var e = Assert.Throws<ArgumentException>(() => NcclTensorTypes.CheckTensor("AllReduce(Sum)", "world", "tensor", t, Device.CUDA(0)));
        Assert.Contains("NCCL AllReduce(Sum) (group 'world'): tensor ([3, 4] Float32 on cpu) is a CPU tensor", e.Message);
        Assert.Contains(".to(cuda:0)", e.Message);
        Assert.Equal("tensor", e.ParamName);
        Assert.Throws<ArgumentNullException>(() => NcclTensorTypes.CheckTensor("Broadcast(root 0)", "ep0", "tensor", null, Device.CUDA(0)));
    }

    [Fact]
    public void TheDataPointerNcclGetsIncludesASlicesOffset()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.zeros([4, 6], DType.Float64);
        var row2 = x.narrow(0, 2, 1);
        Assert.Equal(2 * 6 * 8, (long)row2.data_ptr() - (long)x.data_ptr());
        Assert.NotEqual(IntPtr.Zero, x.data_ptr());
    }

    [Fact]
    public void AllToAllPlansUnevenSplitsIntoRowOffsets()
    {
        var p = AllToAllPlan.Create("ep0", 3, [5, 2, 4], [6, 2, 4], [2, 0, 3], [1, 4, 1]);
        Assert.Equal(8, p.RowElements);
        Assert.Equal([0L, 1, 5], p.InOffsets);
        Assert.Equal([0L, 2, 2], p.OutOffsets);
        Assert.False(p.IsEmpty);
        var equal = AllToAllPlan.Create("ep0", 2, [4], [4], null, null);
        Assert.Equal([2L, 2], equal.InRows);
        Assert.Equal([0L, 2], equal.OutOffsets);
        Assert.Equal(1, equal.RowElements);
        Assert.True(AllToAllPlan.Create("ep0", 2, [0, 3], [0, 3], [0, 0], [0, 0]).IsEmpty);
    }

    [Theory]
    [InlineData(new long[] { 1, 1 }, new long[] { 1, 1, 0 }, "inSplits has 2 entries, the group has 3 ranks")]
    [InlineData(new long[] { 1, 1, 0 }, new long[] { 3, -1, 0 }, "negative split")]
    [InlineData(new long[] { 1, 1, 0 }, new long[] { 1, 1, 1 }, "outSplits [1, 1, 1] adds up to 3 rows, output has 2")]
    public void BadSplitsAreNamed(long[] inSplits, long[] outSplits, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => AllToAllPlan.Create("ep1", 3, [2, 4], [2, 4], outSplits, inSplits));
        Assert.Contains("NCCL AllToAll (group 'ep1')", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void MismatchedRowsOrHalfGivenSplitsAreErrors()
    {
        Assert.Contains("differ in size", Assert.Throws<ArgumentException>(() => AllToAllPlan.Create("g", 1, [2, 3], [2, 4], null, null)).Message);
        Assert.Contains("give both", Assert.Throws<ArgumentException>(() => AllToAllPlan.Create("g", 1, [2], [2], [2], null)).Message);
        Assert.Contains("divisible by the group size 2", Assert.Throws<ArgumentException>(() => AllToAllPlan.Create("g", 2, [3], [3], null, null)).Message);
        Assert.Contains("row dimension", Assert.Throws<ArgumentException>(() => AllToAllPlan.Create("g", 1, [], [2], null, null)).Message);
    }
}
