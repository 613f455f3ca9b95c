using MoLA.Torch;

namespace MoLA.Torch.Tests;

public class SmokeTests
{
    [Fact]
    public void MatmulAndAutograd()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.tensor(new float[] { 1, 2, 3, 4 }, 2, 2).requires_grad_();
        var b = torch.tensor(new float[] { 5, 6, 7, 8 }, 2, 2);
        var c = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.ToArray<float>());
        c.sum().backward();
        Assert.Equal(new float[] { 11, 15, 11, 15 }, a.grad!.ToArray<float>());
        var ex = Assert.Throws<TorchException>(() => a.matmul(torch.zeros([3, 3])));
        Assert.Contains("matmul([2, 2] Float32 cpu, [3, 3] Float32 cpu)", ex.Message);
    }
}
