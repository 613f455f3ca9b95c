using MoLA.Torch.NN;
using static MoLA.Torch.Tests.GradCheck;

namespace MoLA.Torch.Tests;

/// <summary>Finite-difference checks of every differentiable op the model, losses and optimizer use.</summary>
public class GradientTests
{
    public GradientTests() => torch.manual_seed(1234);

    [Fact] public void Add() => Check(x => x[0].add(x[1], 2.5), Rand(3, 4), Rand(3, 4));
    [Fact] public void SubBroadcast() => Check(x => x[0] - x[1], Rand(3, 4), Rand(4));
    [Fact] public void Mul() => Check(x => x[0] * x[1], Rand(3, 4), Rand(3, 4));
    [Fact] public void Div() => Check(x => x[0] / x[1], Rand(3, 4), Positive(3, 4));
    [Fact] public void Scalars() => Check(x => (2.0 - x[0] * 3.0 + 1.5) / 4.0, Rand(5));
    [Fact] public void PowScalar() => Check(x => x[0].pow(3.0), Rand(5));
    [Fact] public void PowTensor() => Check(x => x[0].pow(x[1]), Positive(5), Rand(5));
    [Fact] public void Exp() => Check(x => x[0].exp(), Rand(6));
    [Fact] public void Log() => Check(x => x[0].log(), Positive(6));
    [Fact] public void Sqrt() => Check(x => x[0].sqrt(), Positive(6));
    [Fact] public void Rsqrt() => Check(x => x[0].rsqrt(), Positive(6));
    [Fact] public void Tanh() => Check(x => x[0].tanh(), Rand(6));
    [Fact] public void Sigmoid() => Check(x => x[0].sigmoid(), Rand(6));
    [Fact] public void Silu() => Check(x => x[0].silu(), Rand(6));
    [Fact] public void Gelu() => Check(x => x[0].gelu(), Rand(6));
    [Fact] public void Square() => Check(x => x[0].square(), Rand(6));
    [Fact] public void Neg() => Check(x => -x[0], Rand(6));
    [Fact] public void Maximum() => Check(x => x[0].maximum(x[1]), Rand(6), Rand(6));
    [Fact] public void Clamp() => Check(x => x[0].clamp(-0.5, 0.5), Rand(8));
    [Fact] public void Matmul() => Check(x => x[0].matmul(x[1]), Rand(3, 4), Rand(4, 2));
    [Fact] public void MatmulBatched() => Check(x => x[0].matmul(x[1]), Rand(2, 3, 4), Rand(4, 2));
    [Fact] public void Bmm() => Check(x => x[0].bmm(x[1]), Rand(2, 3, 4), Rand(2, 4, 2));
    [Fact] public void Linear() => Check(x => F.linear(x[0], x[1], x[2]), Rand(3, 4), Rand(5, 4), Rand(5));
    [Fact] public void LinearNoBias() => Check(x => F.linear(x[0], x[1]), Rand(2, 3, 4), Rand(5, 4));
    [Fact] public void Sum() => Check(x => x[0].sum(1, keepdim: true), Rand(3, 4));
    [Fact] public void Mean() => Check(x => x[0].mean([0, 2]), Rand(2, 3, 2));
    [Fact] public void Norm() => Check(x => x[0].norm(2), Rand(3, 4));
    [Fact] public void LogSumExp() => Check(x => x[0].logsumexp(-1), Rand(3, 4));
    [Fact] public void Amax() => Check(x => x[0].amax(1), Rand(3, 4));
    [Fact] public void Softmax() => Check(x => F.softmax(x[0], -1), Rand(3, 5));
    [Fact] public void LogSoftmax() => Check(x => F.log_softmax(x[0], 0), Rand(3, 5));

    [Fact]
    public void CrossEntropyWithIgnoreIndex()
    {
        var target = torch.tensor(new long[] { 2, -100, 0, 4 });
        Check(x => F.cross_entropy(x[0], target), Rand(4, 5));
        Check(x => F.cross_entropy(x[0], target, reduction: F.Reduction.Sum, labelSmoothing: 0.1), Rand(4, 5));
    }

    [Fact]
    public void Embedding()
    {
        var idx = torch.tensor(new long[] { 1, 0, 1, 3 }, 2, 2);
        Check(x => F.embedding(x[0], idx), Rand(4, 3));
    }

    [Fact] public void RmsNorm() => Check(x => F.rms_norm(x[0], x[1], 1e-6), Rand(3, 4), Rand(4));

    [Fact]
    public void CausalAttention() =>
        Check(x => F.scaled_dot_product_attention(x[0], x[1], x[2], isCausal: true), Rand(1, 2, 3, 4), Rand(1, 2, 3, 4), Rand(1, 2, 3, 4));

    [Fact]
    public void AttentionWithAdditiveMask()
    {
        var mask = torch.tensor(new double[] { 0, -1e9, 0, 0, 0, -1e9, 0, 0, 0 }, 3, 3);
        Check(x => F.scaled_dot_product_attention(x[0], x[1], x[2], mask), Rand(1, 1, 3, 2), Rand(1, 1, 3, 2), Rand(1, 1, 3, 2));
    }

    [Fact]
    public void GatherAndTopkValues()
    {
        var idx = torch.tensor(new long[] { 0, 2, 1, 1 }, 2, 2);
        Check(x => x[0].gather(1, idx), Rand(2, 3));
        Check(x => x[0].topk(2, -1).values, Rand(3, 5));
    }

    [Fact]
    public void IndexSelectAndIndexAdd()
    {
        var idx = torch.tensor(new long[] { 2, 0, 2 });
        Check(x => x[0].index_select(0, idx), Rand(3, 2));
        Check(x => x[0].index_add(0, idx, x[1], 0.5), Rand(3, 2), Rand(3, 2));
    }

    [Fact]
    public void ScatterAdd()
    {
        var idx = torch.tensor(new long[] { 0, 1, 0, 1, 1, 1 }, 2, 3);
        Check(x => x[0].scatter_add(1, idx, x[1]), Rand(2, 2), Rand(2, 3));
    }

    [Fact] public void Where() => Check(x => torch.where(x[0].gt(0), x[0], x[1] * 2.0), Rand(6), Rand(6));
    [Fact] public void MaskedFill() => Check(x => x[0].masked_fill(torch.tensor(new[] { true, false, true, false }), 0.0), Rand(4));
    [Fact] public void CatStackSplit() => Check(x => torch.cat([x[0], torch.stack([x[1], x[1]]).sum(0)], 1).split(2, 1)[1], Rand(2, 3), Rand(2, 2));
    [Fact] public void Views() => Check(x => x[0].view(2, 6).transpose(0, 1).reshape(3, 4).permute(1, 0).unsqueeze(0).narrow(1, 1, 2), Rand(3, 4));
    [Fact] public void SelectSliceExpand() => Check(x => x[0].select(0, 1).slice(0, 0, 3, 2).unsqueeze(0).expand(3, 2), Rand(2, 4));
    [Fact] public void Triu() => Check(x => x[0].triu(1) + x[0].tril(), Rand(3, 3));
    [Fact] public void Cumsum() => Check(x => x[0].cumsum(1), Rand(2, 4));
    [Fact] public void DropoutEval() => Check(x => F.dropout(x[0], 0.5, training: false), Rand(5));
    [Fact] public void Repeat() => Check(x => x[0].repeat(2, 1) + x[0].repeat_interleave(2, 0), Rand(2, 3));
}
