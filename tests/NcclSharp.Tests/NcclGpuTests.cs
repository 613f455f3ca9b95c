using NcclSharp;

namespace NcclSharp.Tests;

/// <summary>
/// Real NCCL calls on device 0 with a one-rank communicator (NCCL refuses two ranks on one GPU).
/// With one rank every reduction is the identity, so the tests check what the bindings can get
/// wrong: element counts (size_t), element types, buffer roles, and that nothing past
/// <c>count</c> is written (each receive buffer carries a guard tail of sentinels).
/// All tests are in one class so xunit runs them one after another.
/// </summary>
public sealed class NcclGpuTests
{
    private const int N = 1000;
    private const int Guard = 24;
    private const float Sentinel = -7.5f;

    private static float[] Data(int count, float offset = 0)
    {
        var data = new float[count];
        for (var i = 0; i < count; i++)
        {
            data[i] = offset + (i * 0.5f) - 100;
        }

        return data;
    }

    private static float[] WithGuard(int count) => Enumerable.Repeat(Sentinel, count + Guard).ToArray();

    private static void AssertResult(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length + Guard, actual.Length);
        Assert.Equal(expected, actual[..expected.Length]);
        Assert.All(actual[expected.Length..], v => Assert.Equal(Sentinel, v));
    }

    [GpuFact]
    public void CommunicatorReportsRankSizeAndDevice()
    {
        using var s = new GpuSession();

        Assert.True(s.Comm.IsOpen);
        Assert.Equal(0, s.Comm.Rank);
        Assert.Equal(1, s.Comm.Size);
        Assert.Equal(0, s.Comm.CudaDevice);
        Assert.Equal(2, Nccl.Version.Major);
    }

    [GpuFact]
    public void UniqueIdsAreFreshEachTime()
    {
        var a = NcclUniqueId.Create();
        var b = NcclUniqueId.Create();

        Assert.NotEqual(a, b);
        Assert.Equal(a, NcclUniqueId.FromBase64(a.ToBase64()));
    }

    [GpuFact]
    public void AllReduceSumAndAvgOnFloat32()
    {
        using var s = new GpuSession();
        var data = Data(N);
        var send = s.Upload(data);

        foreach (var op in new[] { NcclRedOp.Sum, NcclRedOp.Avg })
        {
            var recv = s.Upload(WithGuard(N));
            s.Comm.AllReduce(send, recv, N, NcclDataType.Float32, op, s.Stream);
            AssertResult(data, s.Download<float>(recv, N + Guard));
        }
    }

    [GpuFact]
    public void AllReduceInPlaceOnFloat64()
    {
        using var s = new GpuSession();
        var data = Enumerable.Range(0, N).Select(i => Math.PI * i).ToArray();
        var buffer = s.Upload(data.Concat(Enumerable.Repeat(-1.0, Guard)).ToArray());

        s.Comm.AllReduce(buffer, buffer, N, NcclDataType.Float64, NcclRedOp.Sum, s.Stream);

        var result = s.Download<double>(buffer, N + Guard);
        Assert.Equal(data, result[..N]);
        Assert.All(result[N..], v => Assert.Equal(-1.0, v));
    }

    [GpuFact]
    public void BroadcastFromRoot()
    {
        using var s = new GpuSession();
        var data = Data(N, 3);
        var send = s.Upload(data);
        var recv = s.Upload(WithGuard(N));

        s.Comm.Broadcast(send, recv, N, NcclDataType.Float32, root: 0, s.Stream);

        AssertResult(data, s.Download<float>(recv, N + Guard));
    }

    [GpuFact]
    public void AllGatherPlacesEachRanksBlock()
    {
        using var s = new GpuSession();
        var data = Data(N, 5);
        var send = s.Upload(data);
        var recv = s.Upload(WithGuard(N * s.Comm.Size));

        s.Comm.AllGather(send, recv, N, NcclDataType.Float32, s.Stream);

        AssertResult(data, s.Download<float>(recv, (N * s.Comm.Size) + Guard));
    }

    [GpuFact]
    public void ReduceScatterKeepsThisRanksBlock()
    {
        using var s = new GpuSession();
        var data = Data(N * s.Comm.Size, 9);
        var send = s.Upload(data);
        var recv = s.Upload(WithGuard(N));

        s.Comm.ReduceScatter(send, recv, N, NcclDataType.Float32, NcclRedOp.Sum, s.Stream);

        AssertResult(data[(s.Comm.Rank * N)..((s.Comm.Rank + 1) * N)], s.Download<float>(recv, N + Guard));
    }

    [GpuFact]
    public void SendAndRecvToSelfInAGroup()
    {
        using var s = new GpuSession();
        var data = Data(N, 11);
        var send = s.Upload(data);
        var recv = s.Upload(WithGuard(N));

        using (NcclGroup.Begin())
        {
            s.Comm.Send(send, N, NcclDataType.Float32, peer: 0, s.Stream);
            s.Comm.Recv(recv, N, NcclDataType.Float32, peer: 0, s.Stream);
        }

        AssertResult(data, s.Download<float>(recv, N + Guard));
    }

    [GpuFact]
    public void AsyncErrorIsSuccessOnAHealthyCommunicator()
    {
        using var s = new GpuSession();
        var buffer = s.Upload(Data(N));
        s.Comm.AllReduce(buffer, buffer, N, NcclDataType.Float32, NcclRedOp.Sum, s.Stream);
        CudaRuntime.StreamSynchronize(s.Stream);

        Assert.Equal(NcclResult.Success, s.Comm.GetAsyncError());
        s.Comm.CheckAsyncError();
    }

    [GpuFact]
    public void InvalidArgumentsBecomeNcclExceptions()
    {
        using var s = new GpuSession();
        var buffer = s.Upload(Data(N));

        var ex = Assert.Throws<NcclException>(
            () => s.Comm.Broadcast(buffer, buffer, N, NcclDataType.Float32, root: 3, s.Stream));

        Assert.Equal("ncclBroadcast", ex.Function);
        Assert.Equal(NcclResult.InvalidArgument, ex.Result);
        Assert.Contains("ncclBroadcast failed: ncclInvalidArgument", ex.Message);
    }

    [GpuFact]
    public void AbortClosesTheCommunicator()
    {
        using var s = new GpuSession();
        var buffer = s.Upload(Data(N));

        s.Comm.Abort();

        Assert.False(s.Comm.IsOpen);
        Assert.Throws<ObjectDisposedException>(
            () => s.Comm.AllReduce(buffer, buffer, N, NcclDataType.Float32, NcclRedOp.Sum, s.Stream));
        Assert.Throws<ObjectDisposedException>(() => s.Comm.GetAsyncError());
        s.Comm.Abort();
        s.Comm.Dispose();
    }

    /// <summary>Device 0, a stream, a one-rank communicator and the buffers a test allocates.</summary>
    private sealed class GpuSession : IDisposable
    {
        private readonly List<IntPtr> _buffers = [];

        public GpuSession()
        {
            // The current device is per thread and xunit may switch threads between tests.
            CudaRuntime.SetDevice(0);
            Stream = CudaRuntime.StreamCreate();
            // Through base64, as the id travels between ranks in the trainer.
            var id = NcclUniqueId.FromBase64(NcclUniqueId.Create().ToBase64());
            Comm = NcclCommunicator.Create(id, worldSize: 1, rank: 0);
        }

        public IntPtr Stream { get; }

        public NcclCommunicator Comm { get; }

        public IntPtr Upload<T>(T[] data)
            where T : unmanaged
        {
            var ptr = CudaRuntime.Upload<T>(data);
            _buffers.Add(ptr);
            return ptr;
        }

        public T[] Download<T>(IntPtr ptr, int count)
            where T : unmanaged
        {
            CudaRuntime.StreamSynchronize(Stream);
            var host = new T[count];
            CudaRuntime.CopyToHost<T>(ptr, host);
            return host;
        }

        public void Dispose()
        {
            CudaRuntime.StreamSynchronize(Stream);
            Comm.Dispose();
            foreach (var ptr in _buffers)
            {
                CudaRuntime.Free(ptr);
            }

            CudaRuntime.StreamDestroy(Stream);
        }
    }
}
