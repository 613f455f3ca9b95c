using MoLA.Torch.Native;
using static MoLA.Torch.Native.NativeMethods;

namespace MoLA.Torch;

// Reductions, linear algebra and indexing.
public sealed partial class Tensor
{
    private unsafe Tensor Reduce(ReductionOp op, ReadOnlySpan<long> dims, bool keepdim, string name)
    {
        fixed (long* p = dims) return Wrap(mt_reduce(op, Handle, p, dims.Length, keepdim ? 1 : 0), name, this);
    }

    public Tensor sum() => Reduce(ReductionOp.Sum, [], false, "sum");
    public Tensor sum(long dim, bool keepdim = false) => Reduce(ReductionOp.Sum, [dim], keepdim, "sum");
    public Tensor sum(ReadOnlySpan<long> dims, bool keepdim = false) => Reduce(ReductionOp.Sum, dims, keepdim, "sum");
    public Tensor mean() => Reduce(ReductionOp.Mean, [], false, "mean");
    public Tensor mean(long dim, bool keepdim = false) => Reduce(ReductionOp.Mean, [dim], keepdim, "mean");
    public Tensor mean(ReadOnlySpan<long> dims, bool keepdim = false) => Reduce(ReductionOp.Mean, dims, keepdim, "mean");
    public Tensor amax(long dim, bool keepdim = false) => Reduce(ReductionOp.Amax, [dim], keepdim, "amax");
    public Tensor amin(long dim, bool keepdim = false) => Reduce(ReductionOp.Amin, [dim], keepdim, "amin");
    public Tensor prod() => Reduce(ReductionOp.Prod, [], false, "prod");
    public Tensor prod(long dim, bool keepdim = false) => Reduce(ReductionOp.Prod, [dim], keepdim, "prod");
    public Tensor all() => Reduce(ReductionOp.All, [], false, "all");
    public Tensor all(long dim, bool keepdim = false) => Reduce(ReductionOp.All, [dim], keepdim, "all");
    public Tensor any() => Reduce(ReductionOp.Any, [], false, "any");
    public Tensor any(long dim, bool keepdim = false) => Reduce(ReductionOp.Any, [dim], keepdim, "any");
    /// <summary>Unbiased variance.</summary>
    public Tensor var() => Reduce(ReductionOp.Var, [], false, "var");
    public Tensor var(long dim, bool keepdim = false) => Reduce(ReductionOp.Var, [dim], keepdim, "var");
    public Tensor std() => Reduce(ReductionOp.Std, [], false, "std");
    public Tensor std(long dim, bool keepdim = false) => Reduce(ReductionOp.Std, [dim], keepdim, "std");
    public Tensor logsumexp(long dim, bool keepdim = false) => Reduce(ReductionOp.LogSumExp, [dim], keepdim, "logsumexp");
    public Tensor argmax() => Reduce(ReductionOp.Argmax, [], false, "argmax");
    public Tensor argmax(long dim, bool keepdim = false) => Reduce(ReductionOp.Argmax, [dim], keepdim, "argmax");
    public Tensor argmin() => Reduce(ReductionOp.Argmin, [], false, "argmin");
    public Tensor argmin(long dim, bool keepdim = false) => Reduce(ReductionOp.Argmin, [dim], keepdim, "argmin");
    public Tensor max() => Reduce(ReductionOp.Max, [], false, "max");
    public Tensor min() => Reduce(ReductionOp.Min, [], false, "min");

    public unsafe (Tensor values, Tensor indices) max(long dim, bool keepdim = false)
    {
        IntPtr v, i;
        Check(mt_reduce_with_index(ReductionOp.Max, Handle, dim, keepdim ? 1 : 0, &v, &i), "max", this);
        return (new Tensor(v), new Tensor(i));
    }

    public unsafe (Tensor values, Tensor indices) min(long dim, bool keepdim = false)
    {
        IntPtr v, i;
        Check(mt_reduce_with_index(ReductionOp.Min, Handle, dim, keepdim ? 1 : 0, &v, &i), "min", this);
        return (new Tensor(v), new Tensor(i));
    }

    public unsafe Tensor norm(double p = 2, ReadOnlySpan<long> dims = default, bool keepdim = false)
    {
        fixed (long* d = dims) return Wrap(mt_norm(Handle, p, d, dims.Length, keepdim ? 1 : 0), "norm", this);
    }

    public Tensor cumsum(long dim) => Wrap(mt_cumsum(Handle, dim), "cumsum", this);

    // ---- linear algebra -------------------------------------------------------------------

    public Tensor matmul(Tensor other) => Wrap(mt_matmul(Handle, other.Handle), "matmul", this, other);
    public Tensor mm(Tensor other) => Wrap(mt_mm(Handle, other.Handle), "mm", this, other);
    public Tensor bmm(Tensor other) => Wrap(mt_bmm(Handle, other.Handle), "bmm", this, other);

    // ---- indexing -------------------------------------------------------------------------

    public unsafe (Tensor values, Tensor indices) topk(long k, long dim = -1, bool largest = true, bool sorted = true)
    {
        IntPtr v, i;
        Check(mt_topk(Handle, k, dim, largest ? 1 : 0, sorted ? 1 : 0, &v, &i), "topk", this);
        return (new Tensor(v), new Tensor(i));
    }

    /// <summary>Stable sort along dim.</summary>
    public unsafe (Tensor values, Tensor indices) sort(long dim = -1, bool descending = false)
    {
        IntPtr v, i;
        Check(mt_sort(Handle, dim, descending ? 1 : 0, &v, &i), "sort", this);
        return (new Tensor(v), new Tensor(i));
    }

    public Tensor argsort(long dim = -1, bool descending = false)
    {
        var (values, indices) = sort(dim, descending);
        values.Dispose();
        return indices;
    }

    public Tensor gather(long dim, Tensor index) => Wrap(mt_gather(Handle, dim, index.Handle), "gather", this, index);
    public Tensor scatter_add(long dim, Tensor index, Tensor src) =>
        Wrap(mt_scatter_add(Handle, dim, index.Handle, src.Handle), "scatter_add", this, index, src);
    public Tensor index_select(long dim, Tensor index) => Wrap(mt_index_select(Handle, dim, index.Handle), "index_select", this, index);
    public Tensor index_add(long dim, Tensor index, Tensor source, double alpha = 1.0) =>
        Wrap(mt_index_add(Handle, dim, index.Handle, source.Handle, alpha), "index_add", this, index, source);
    public Tensor bincount(Tensor? weights = null, long minlength = 0) =>
        Wrap(mt_bincount(Handle, weights?.Handle ?? IntPtr.Zero, minlength), "bincount", this, weights);
    public Tensor nonzero() => Wrap(mt_nonzero(Handle), "nonzero", this);
    public Tensor repeat_interleave(long repeats, long dim) => Wrap(mt_repeat_interleave(Handle, repeats, dim), "repeat_interleave", this);
}
