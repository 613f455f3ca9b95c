using System.Runtime.InteropServices;

namespace MoLA.Torch.Native;

/// <summary>P/Invoke declarations of native/include/mola_torch.h. All signatures are blittable.</summary>
internal static unsafe class NativeMethods
{
    private const string Lib = NativeLibraryLoader.LibraryName;

    [DllImport(Lib)] internal static extern IntPtr mt_last_error();
    [DllImport(Lib)] internal static extern void mt_clear_error();
    [DllImport(Lib)] internal static extern IntPtr mt_version();
    [DllImport(Lib)] internal static extern IntPtr mt_build_config();
    [DllImport(Lib)] internal static extern IntPtr mt_parallel_info();
    [DllImport(Lib)] internal static extern int mt_get_num_threads();
    [DllImport(Lib)] internal static extern void mt_set_num_threads(int n);
    [DllImport(Lib)] internal static extern void mt_manual_seed(ulong seed);
    [DllImport(Lib)] internal static extern int mt_cuda_is_available();
    [DllImport(Lib)] internal static extern int mt_autocast_get(out int enabled, out int dtype);
    [DllImport(Lib)] internal static extern int mt_autocast_set(int enabled, int dtype, int enter);
    [DllImport(Lib)] internal static extern int mt_cuda_device_count();
    [DllImport(Lib)] internal static extern int mt_cuda_synchronize(int device);
    [DllImport(Lib)] internal static extern IntPtr mt_cuda_current_stream(int device);
    [DllImport(Lib)] internal static extern int mt_has_cuda_build();

    [DllImport(Lib)] internal static extern void mt_free(IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern int mt_ndim(IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern int mt_shape(IntPtr t, long* output, int capacity);
    [DllImport(Lib), SuppressGCTransition] internal static extern long mt_numel(IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern int mt_dtype(IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern int mt_device(IntPtr t, int* type, int* index);
    [DllImport(Lib), SuppressGCTransition] internal static extern int mt_requires_grad(IntPtr t);
    [DllImport(Lib), SuppressGCTransition] internal static extern int mt_is_contiguous(IntPtr t);
    [DllImport(Lib)] internal static extern IntPtr mt_data_ptr(IntPtr t);

    [DllImport(Lib)] internal static extern IntPtr mt_new(FillKind kind, long* shape, int ndim, double value, int dtype, int deviceType, int deviceIndex);
    [DllImport(Lib)] internal static extern IntPtr mt_from_data(void* data, long* shape, int ndim, int dtype);
    [DllImport(Lib)] internal static extern IntPtr mt_arange(double start, double end, double step, int dtype, int deviceType, int deviceIndex);
    [DllImport(Lib)] internal static extern IntPtr mt_randint(long low, long high, long* shape, int ndim, int deviceType, int deviceIndex);
    [DllImport(Lib)] internal static extern int mt_copy_to(IntPtr t, void* dst, long nbytes);
    [DllImport(Lib)] internal static extern int mt_item(IntPtr t, double* output);
    [DllImport(Lib)] internal static extern IntPtr mt_to(IntPtr t, int dtype, int deviceType, int deviceIndex, int copy);

    [DllImport(Lib)] internal static extern IntPtr mt_unary(UnaryOp op, IntPtr a);
    [DllImport(Lib)] internal static extern int mt_unary_(UnaryOp op, IntPtr a);
    [DllImport(Lib)] internal static extern IntPtr mt_binary(BinaryOp op, IntPtr a, IntPtr b, double alpha);
    [DllImport(Lib)] internal static extern int mt_binary_(BinaryOp op, IntPtr a, IntPtr b, double alpha);
    [DllImport(Lib)] internal static extern IntPtr mt_scalar(ScalarOp op, IntPtr a, double s);
    [DllImport(Lib)] internal static extern int mt_scalar_(ScalarOp op, IntPtr a, double s);
    [DllImport(Lib)] internal static extern int mt_addcmul_(IntPtr a, IntPtr t1, IntPtr t2, double value);
    [DllImport(Lib)] internal static extern int mt_addcdiv_(IntPtr a, IntPtr t1, IntPtr t2, double value);
    [DllImport(Lib)] internal static extern int mt_fill_(IntPtr a, FillKind kind, double v1, double v2);
    [DllImport(Lib)] internal static extern int mt_copy_(IntPtr dst, IntPtr src);
    [DllImport(Lib)] internal static extern IntPtr mt_clamp(IntPtr a, double lo, double hi, int hasLo, int hasHi);
    [DllImport(Lib)] internal static extern IntPtr mt_where(IntPtr cond, IntPtr a, IntPtr b);
    [DllImport(Lib)] internal static extern IntPtr mt_masked_fill(IntPtr a, IntPtr mask, double value);

    [DllImport(Lib)] internal static extern IntPtr mt_reduce(ReductionOp op, IntPtr a, long* dims, int ndims, int keepdim);
    [DllImport(Lib)] internal static extern int mt_reduce_with_index(ReductionOp op, IntPtr a, long dim, int keepdim, IntPtr* values, IntPtr* indices);
    [DllImport(Lib)] internal static extern IntPtr mt_norm(IntPtr a, double p, long* dims, int ndims, int keepdim);
    [DllImport(Lib)] internal static extern IntPtr mt_cumsum(IntPtr a, long dim);

    [DllImport(Lib)] internal static extern IntPtr mt_matmul(IntPtr a, IntPtr b);
    [DllImport(Lib)] internal static extern IntPtr mt_mm(IntPtr a, IntPtr b);
    [DllImport(Lib)] internal static extern IntPtr mt_bmm(IntPtr a, IntPtr b);
    [DllImport(Lib)] internal static extern IntPtr mt_linear(IntPtr x, IntPtr w, IntPtr bias);
    [DllImport(Lib)] internal static extern IntPtr mt_svdvals(IntPtr a);
    [DllImport(Lib)] internal static extern IntPtr mt_eigvalsh(IntPtr a);
    [DllImport(Lib)] internal static extern int mt_qr(IntPtr a, IntPtr* q, IntPtr* r);

    [DllImport(Lib)] internal static extern IntPtr mt_softmax(IntPtr a, long dim, int dtype);
    [DllImport(Lib)] internal static extern IntPtr mt_log_softmax(IntPtr a, long dim, int dtype);
    [DllImport(Lib)] internal static extern IntPtr mt_cross_entropy(IntPtr logits, IntPtr target, long ignoreIndex, int reduction, double labelSmoothing);
    [DllImport(Lib)] internal static extern IntPtr mt_embedding(IntPtr weight, IntPtr indices);
    [DllImport(Lib)] internal static extern IntPtr mt_dropout(IntPtr a, double p, int train);
    [DllImport(Lib)] internal static extern IntPtr mt_attention(IntPtr q, IntPtr k, IntPtr v, IntPtr mask, double dropout, int causal);
    [DllImport(Lib)] internal static extern IntPtr mt_rms_norm(IntPtr x, IntPtr weight, double eps);

    [DllImport(Lib)] internal static extern int mt_topk(IntPtr a, long k, long dim, int largest, int sorted, IntPtr* values, IntPtr* indices);
    [DllImport(Lib)] internal static extern int mt_sort(IntPtr a, long dim, int descending, IntPtr* values, IntPtr* indices);
    [DllImport(Lib)] internal static extern IntPtr mt_gather(IntPtr a, long dim, IntPtr index);
    [DllImport(Lib)] internal static extern IntPtr mt_scatter_add(IntPtr a, long dim, IntPtr index, IntPtr src);
    [DllImport(Lib)] internal static extern IntPtr mt_index_select(IntPtr a, long dim, IntPtr index);
    [DllImport(Lib)] internal static extern IntPtr mt_index_add(IntPtr a, long dim, IntPtr index, IntPtr src, double alpha);
    [DllImport(Lib)] internal static extern IntPtr mt_one_hot(IntPtr a, long classes);
    [DllImport(Lib)] internal static extern IntPtr mt_bincount(IntPtr a, IntPtr weights, long minlength);
    [DllImport(Lib)] internal static extern IntPtr mt_nonzero(IntPtr a);
    [DllImport(Lib)] internal static extern IntPtr mt_repeat_interleave(IntPtr a, long repeats, long dim);

    [DllImport(Lib)] internal static extern IntPtr mt_view(ViewOp op, IntPtr a, long* args, int nargs);
    [DllImport(Lib)] internal static extern IntPtr mt_cat(IntPtr* ts, int n, long dim, int stack);
    [DllImport(Lib)] internal static extern int mt_split(IntPtr a, long size, long dim, IntPtr* output, int capacity);
    [DllImport(Lib)] internal static extern IntPtr mt_tri(IntPtr a, long diagonal, int upper);

    [DllImport(Lib)] internal static extern int mt_set_requires_grad(IntPtr t, int value);
    [DllImport(Lib)] internal static extern int mt_backward(IntPtr t, IntPtr grad, int retainGraph);
    [DllImport(Lib)] internal static extern IntPtr mt_grad(IntPtr t);
    [DllImport(Lib)] internal static extern int mt_set_grad(IntPtr t, IntPtr grad);
    [DllImport(Lib)] internal static extern int mt_set_data(IntPtr t, IntPtr src);
    [DllImport(Lib), SuppressGCTransition] internal static extern int mt_grad_enabled();
    [DllImport(Lib), SuppressGCTransition] internal static extern void mt_set_grad_enabled(int enabled);
    [DllImport(Lib)] internal static extern IntPtr mt_detach(IntPtr t);
    [DllImport(Lib)] internal static extern int mt_detach_(IntPtr t);

    internal static string LastError() => Marshal.PtrToStringUTF8(mt_last_error()) ?? "unknown error";
    internal static string Text(IntPtr p) => Marshal.PtrToStringUTF8(p) ?? "";
}
