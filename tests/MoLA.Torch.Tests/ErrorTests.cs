using MoLA.Torch.NN;

namespace MoLA.Torch.Tests;

/// <summary>Bad input fails with a TorchException naming the op and the inputs, never a crash.</summary>
public class ErrorTests
{
    [Fact]
    public void ShapeMismatchNamesOpAndShapes()
    {
        using var s = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => torch.ones([2, 3]).add(torch.ones([4, 3])));
        Assert.StartsWith("add([2, 3] Float32 cpu, [4, 3] Float32 cpu) failed:", ex.Message);
        Assert.Contains("must match", ex.Message);
        Assert.DoesNotContain("frame #", ex.Message); // no C++ backtrace
        ex = Assert.Throws<TorchException>(() => F.linear(torch.ones([2, 3]), torch.ones([5, 4])));
        Assert.StartsWith("linear([2, 3] Float32 cpu, [5, 4] Float32 cpu)", ex.Message);
        ex = Assert.Throws<TorchException>(() => torch.ones([6]).view(4, -1));
        Assert.StartsWith("view([6] Float32 cpu)", ex.Message);
    }

    [Fact]
    public void WrongDTypes()
    {
        using var s = torch.NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => torch.ones([3]).index_select(0, torch.tensor(new float[] { 0 })));
        Assert.StartsWith("index_select([3] Float32 cpu, [1] Float32 cpu)", ex.Message);
        ex = Assert.Throws<TorchException>(() => torch.ones([3]).ToArray<long>());
        Assert.Contains("has dtype Float32, not Int64", ex.Message);
        ex = Assert.Throws<TorchException>(() => F.cross_entropy(torch.ones([2, 3]), torch.tensor(new float[] { 0, 1 })));
        Assert.StartsWith("cross_entropy(", ex.Message);
    }

    [Fact]
    public void BadArguments()
    {
        using var s = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => torch.tensor(new float[] { 1, 2, 3 }, 2, 2));
        Assert.Throws<ArgumentException>(() => torch.from_bytes(new byte[7], DType.Float32, [2]));
        Assert.StartsWith("topk([3] Float32 cpu)", Assert.Throws<TorchException>(() => torch.ones([3]).topk(5)).Message);
        Assert.Throws<TorchException>(() => torch.ones([2]).backward()); // non-scalar, no grad given
        Assert.Throws<ArgumentOutOfRangeException>(() => torch.set_num_threads(0));
        Assert.Throws<ArgumentException>(() => Device.Parse("gpu"));
    }

    [Fact]
    public void UseAfterDisposeIsAnObjectDisposedException()
    {
        var t = torch.ones([2]);
        t.Dispose();
        t.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => t.add(1));
        Assert.Equal("Tensor(disposed)", t.ToString());
    }

    [Fact]
    public void CudaQueriesAgreeWithTheBuild()
    {
        if (!torch.cuda.is_built)
        {
            Assert.False(torch.cuda.is_available());
            Assert.Equal(0, torch.cuda.device_count());
            Assert.Contains("without CUDA", Assert.Throws<TorchException>(() => torch.cuda.synchronize()).Message);
        }
        else if (torch.cuda.is_available())
        {
            Assert.True(torch.cuda.device_count() > 0);
            torch.cuda.synchronize();
            _ = torch.cuda.current_stream(); // the legacy default stream is a null handle: it must not throw
        }
        else
        {
            Assert.Equal(0, torch.cuda.device_count());
        }
    }
}
