using MoLA.Torch.Native;
using static MoLA.Torch.Native.NativeMethods;

namespace MoLA.Torch;

// Views, reshapes and layout. `params ReadOnlySpan<long>` keeps these allocation-free.
public sealed partial class Tensor
{
    private unsafe Tensor ViewOp(ViewOp op, ReadOnlySpan<long> args, string name)
    {
        fixed (long* p = args) return Wrap(mt_view(op, Handle, p, args.Length), name, this);
    }

    public Tensor view(params ReadOnlySpan<long> shape) => ViewOp(Native.ViewOp.View, shape, "view");
    public Tensor reshape(params ReadOnlySpan<long> shape) => ViewOp(Native.ViewOp.Reshape, shape, "reshape");
    public Tensor permute(params ReadOnlySpan<long> dims) => ViewOp(Native.ViewOp.Permute, dims, "permute");
    public Tensor transpose(long dim0, long dim1) => ViewOp(Native.ViewOp.Transpose, [dim0, dim1], "transpose");
    public Tensor unsqueeze(long dim) => ViewOp(Native.ViewOp.Unsqueeze, [dim], "unsqueeze");
    public Tensor squeeze(long dim) => ViewOp(Native.ViewOp.Squeeze, [dim], "squeeze");
    public Tensor squeeze() => ViewOp(Native.ViewOp.SqueezeAll, [], "squeeze");
    public Tensor flatten(long startDim = 0, long endDim = -1) => ViewOp(Native.ViewOp.Flatten, [startDim, endDim], "flatten");
    public Tensor narrow(long dim, long start, long length) => ViewOp(Native.ViewOp.Narrow, [dim, start, length], "narrow");
    public Tensor select(long dim, long index) => ViewOp(Native.ViewOp.Select, [dim, index], "select");
    public Tensor slice(long dim, long start, long end, long step = 1) => ViewOp(Native.ViewOp.Slice, [dim, start, end, step], "slice");
    public Tensor expand(params ReadOnlySpan<long> shape) => ViewOp(Native.ViewOp.Expand, shape, "expand");
    public Tensor repeat(params ReadOnlySpan<long> repeats) => ViewOp(Native.ViewOp.Repeat, repeats, "repeat");
    public Tensor t() => ViewOp(Native.ViewOp.T, [], "t");
    /// <summary>A second handle to the same tensor (shares storage and autograd history).</summary>
    public Tensor alias() => ViewOp(Native.ViewOp.Alias, [], "alias");

    public Tensor triu(long diagonal = 0) => Wrap(mt_tri(Handle, diagonal, 1), "triu", this);
    public Tensor tril(long diagonal = 0) => Wrap(mt_tri(Handle, diagonal, 0), "tril", this);

    public unsafe Tensor[] split(long splitSize, long dim = 0)
    {
        var extent = size((int)dim);
        var capacity = (int)Math.Max(1, (extent + splitSize - 1) / Math.Max(1, splitSize));
        var handles = new IntPtr[capacity];
        int n;
        fixed (IntPtr* p = handles) n = mt_split(Handle, splitSize, dim, p, capacity);
        Check(n, "split", this);
        var result = new Tensor[n];
        for (var i = 0; i < n; i++) result[i] = new Tensor(handles[i]);
        return result;
    }

    public Tensor[] chunk(long chunks, long dim = 0) => split((size((int)dim) + chunks - 1) / chunks, dim);
}
