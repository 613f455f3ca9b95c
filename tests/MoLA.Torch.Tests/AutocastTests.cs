namespace MoLA.Torch.Tests;

public sealed class AutocastTests
{
    [Fact]
    public void RegionsSetAndRestoreTheStateAndNest()
    {
        Assert.False(torch.autocast_state().Enabled);
        using (torch.autocast(DType.BFloat16))
        {
            Assert.Equal((true, DType.BFloat16), torch.autocast_state());
            using (torch.autocast(DType.Float16, enabled: false))
                Assert.False(torch.autocast_state().Enabled);
            Assert.Equal((true, DType.BFloat16), torch.autocast_state());
        }
        Assert.False(torch.autocast_state().Enabled);
    }

    [Fact]
    public void CpuOpsKeepTheirDTypeAndFloat32IsRefused()
    {
        using var scope = torch.NewDisposeScope();
        using (torch.autocast(DType.BFloat16))
        {
            // CUDA autocast leaves CPU tensors alone: the CPU path of a bf16 run stays float32.
            var y = torch.ones([2, 3]).matmul(torch.ones([3, 4]));
            Assert.Equal(DType.Float32, y.DType);
        }
        var e = Assert.Throws<TorchException>(() => torch.autocast(DType.Float32));
        Assert.Contains("bfloat16 or float16", e.Message);
        Assert.False(torch.autocast_state().Enabled);
    }

    [CudaFact]
    public void OnCudaAMatmulRunsInBFloat16()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.ones([4, 8], DType.Float32, Device.CUDA());
        using (torch.autocast(DType.BFloat16))
            Assert.Equal(DType.BFloat16, a.matmul(torch.ones([8, 2], DType.Float32, Device.CUDA())).DType);
        Assert.Equal(DType.Float32, a.matmul(torch.ones([8, 2], DType.Float32, Device.CUDA())).DType);
    }
}
