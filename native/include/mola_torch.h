/* libmola_torch: a flat C ABI over libtorch, called from C# (trainer/MoLA.Torch/Native).
 *
 * Conventions
 *  - A tensor crosses the boundary as an opaque handle (an owned at::Tensor*); every
 *    handle a function returns must be released with mt_free.
 *  - Functions returning a handle return NULL on error; functions returning int return
 *    0 on success and -1 on error. The error text is then in mt_last_error() (per thread),
 *    prefixed by the op name; the C# side adds the input shapes.
 *  - dtype codes are c10::ScalarType values (Byte 0, Char 1, Short 2, Int 3, Long 4,
 *    Half 5, Float 6, Double 7, Bool 11, BFloat16 15); device types are c10::DeviceType
 *    values (CPU 0, CUDA 1). Shapes are (const int64_t*, int ndim).
 *  - Op families dispatch on the MT_* codes below, mirrored in C# (NativeOps.cs).
 */
#ifndef MOLA_TORCH_H
#define MOLA_TORCH_H
#include <stdint.h>
#include <stdbool.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef void* mt_tensor;

/* errors, version, runtime */
const char* mt_last_error(void);
void mt_clear_error(void);
const char* mt_version(void);          /* e.g. "1.13.0" */
const char* mt_build_config(void);     /* at::show_config(): BLAS, flags */
const char* mt_parallel_info(void);
int mt_get_num_threads(void);
void mt_set_num_threads(int n);
void mt_manual_seed(uint64_t seed);
int mt_cuda_is_available(void);
int mt_cuda_device_count(void);
int mt_cuda_synchronize(int device);
void* mt_cuda_current_stream(int device);   /* cudaStream_t, NULL without CUDA */
int mt_has_cuda_build(void);

/* lifetime and properties */
void mt_free(mt_tensor t);
int mt_ndim(mt_tensor t);
int mt_shape(mt_tensor t, int64_t* out, int capacity);
int64_t mt_numel(mt_tensor t);
int mt_dtype(mt_tensor t);
int mt_device(mt_tensor t, int* type, int* index);
int mt_requires_grad(mt_tensor t);
int mt_is_contiguous(mt_tensor t);
void* mt_data_ptr(mt_tensor t);

/* creation (MT_FILL_*) */
mt_tensor mt_new(int kind, const int64_t* shape, int ndim, double value, int dtype, int device_type, int device_index);
mt_tensor mt_from_data(const void* data, const int64_t* shape, int ndim, int dtype);
mt_tensor mt_arange(double start, double end, double step, int dtype, int device_type, int device_index);
mt_tensor mt_randint(int64_t low, int64_t high, const int64_t* shape, int ndim, int device_type, int device_index);
int mt_copy_to(mt_tensor t, void* dst, int64_t nbytes);
int mt_item(mt_tensor t, double* out);
mt_tensor mt_to(mt_tensor t, int dtype, int device_type, int device_index, int copy);

/* pointwise families */
mt_tensor mt_unary(int op, mt_tensor a);
int mt_unary_(int op, mt_tensor a);
mt_tensor mt_binary(int op, mt_tensor a, mt_tensor b, double alpha);
int mt_binary_(int op, mt_tensor a, mt_tensor b, double alpha);
mt_tensor mt_scalar(int op, mt_tensor a, double s);
int mt_scalar_(int op, mt_tensor a, double s);
int mt_addcmul_(mt_tensor a, mt_tensor t1, mt_tensor t2, double value);
int mt_addcdiv_(mt_tensor a, mt_tensor t1, mt_tensor t2, double value);
int mt_fill_(mt_tensor a, int kind, double v1, double v2);   /* MT_FILL_* in place */
int mt_copy_(mt_tensor dst, mt_tensor src);
mt_tensor mt_clamp(mt_tensor a, double lo, double hi, int has_lo, int has_hi);
mt_tensor mt_where(mt_tensor cond, mt_tensor a, mt_tensor b);
mt_tensor mt_masked_fill(mt_tensor a, mt_tensor mask, double value);

/* reductions (MT_RED_*); dims may be empty = all */
mt_tensor mt_reduce(int op, mt_tensor a, const int64_t* dims, int ndims, int keepdim);
int mt_reduce_with_index(int op, mt_tensor a, int64_t dim, int keepdim, mt_tensor* values, mt_tensor* indices);
mt_tensor mt_norm(mt_tensor a, double p, const int64_t* dims, int ndims, int keepdim);
mt_tensor mt_cumsum(mt_tensor a, int64_t dim);

/* linear algebra */
mt_tensor mt_matmul(mt_tensor a, mt_tensor b);
mt_tensor mt_mm(mt_tensor a, mt_tensor b);
mt_tensor mt_bmm(mt_tensor a, mt_tensor b);
mt_tensor mt_linear(mt_tensor x, mt_tensor w, mt_tensor bias /* nullable */);
mt_tensor mt_svdvals(mt_tensor a);
mt_tensor mt_eigvalsh(mt_tensor a);
int mt_qr(mt_tensor a, mt_tensor* q, mt_tensor* r);

/* neural-network functions */
mt_tensor mt_softmax(mt_tensor a, int64_t dim, int dtype /* -1 = same */);
mt_tensor mt_log_softmax(mt_tensor a, int64_t dim, int dtype);
mt_tensor mt_cross_entropy(mt_tensor logits, mt_tensor target, int64_t ignore_index, int reduction, double label_smoothing);
mt_tensor mt_embedding(mt_tensor weight, mt_tensor indices);
mt_tensor mt_dropout(mt_tensor a, double p, int train);
mt_tensor mt_attention(mt_tensor q, mt_tensor k, mt_tensor v, mt_tensor mask /* nullable */, double dropout, int causal);
mt_tensor mt_rms_norm(mt_tensor x, mt_tensor weight, double eps);

/* indexing */
int mt_topk(mt_tensor a, int64_t k, int64_t dim, int largest, int sorted, mt_tensor* values, mt_tensor* indices);
int mt_sort(mt_tensor a, int64_t dim, int descending, mt_tensor* values, mt_tensor* indices);
mt_tensor mt_gather(mt_tensor a, int64_t dim, mt_tensor index);
mt_tensor mt_scatter_add(mt_tensor a, int64_t dim, mt_tensor index, mt_tensor src);
mt_tensor mt_index_select(mt_tensor a, int64_t dim, mt_tensor index);
mt_tensor mt_index_add(mt_tensor a, int64_t dim, mt_tensor index, mt_tensor src, double alpha);
mt_tensor mt_one_hot(mt_tensor a, int64_t classes);
mt_tensor mt_bincount(mt_tensor a, mt_tensor weights /* nullable */, int64_t minlength);
mt_tensor mt_nonzero(mt_tensor a);
mt_tensor mt_repeat_interleave(mt_tensor a, int64_t repeats, int64_t dim);

/* views and shape (MT_VIEW_*) */
mt_tensor mt_view(int op, mt_tensor a, const int64_t* args, int nargs);
mt_tensor mt_cat(const mt_tensor* ts, int n, int64_t dim, int stack);
int mt_split(mt_tensor a, int64_t size, int64_t dim, mt_tensor* out, int capacity);
mt_tensor mt_tri(mt_tensor a, int64_t diagonal, int upper);

/* autograd */
int mt_set_requires_grad(mt_tensor t, int value);
int mt_backward(mt_tensor t, mt_tensor grad /* nullable */, int retain_graph);
mt_tensor mt_grad(mt_tensor t);          /* NULL without error when there is no grad */
int mt_set_grad(mt_tensor t, mt_tensor grad /* nullable = clear */);
int mt_set_data(mt_tensor t, mt_tensor src);
int mt_grad_enabled(void);
void mt_set_grad_enabled(int enabled);
mt_tensor mt_detach(mt_tensor t);
int mt_detach_(mt_tensor t);

#ifdef __cplusplus
}
#endif
#endif
