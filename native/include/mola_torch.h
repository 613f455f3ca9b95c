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

/* CUDA autocast state of the calling thread (autocast.cpp). mt_autocast_set enters (enter = 1) or leaves
   (enter = 0) a region; dtype is a ScalarType code (bfloat16 or float16 when enabled). 0 = ok, -1 = error. */
int mt_autocast_get(int* enabled, int* dtype);
int mt_autocast_set(int enabled, int dtype, int enter);
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

/* ---- c10d rendezvous and CPU collectives (src/c10d.cpp) ---------------------------
 * Every collective waits with the group's timeout, so a dead or stalled peer is an error
 * (message contains "timed out" or the peer's disconnection), never a hang. */
typedef void* mt_store;   /* owned c10d::TCPStore, release with mt_store_free */
typedef void* mt_pg;      /* owned Gloo process group, release with mt_pg_free */

/* TCPStore. host: the server's address (clients connect to it, the server binds all
   interfaces); port 0 with is_server picks a free port (see mt_store_port).
   world_size <= 0: unknown. wait_workers (server only, needs world_size > 0): block
   until world_size stores (the server's own included) have joined, or timeout_ms;
   a store created with world_size > 0 counts as joined (key "mola/store/joined").
   timeout_ms also bounds connecting and every get/wait. After a get/wait timed out
   the handle reconnects (torch 1.13's client would otherwise read the stale reply of
   the abandoned wait later). Thread-safe. */
mt_store mt_store_create(const char* host, int port, int is_server, int world_size,
                         int64_t timeout_ms, int wait_workers);
int mt_store_port(mt_store s);                                  /* -1 on error */
int mt_store_set(mt_store s, const char* key, const uint8_t* data, int64_t len);
/* Blocks until key exists (store timeout). Returns a per-thread buffer holding the
   value, valid until the next mt_store_get on this thread; *len = its size. NULL on error. */
const uint8_t* mt_store_get(mt_store s, const char* key, int64_t* len);
int mt_store_add(mt_store s, const char* key, int64_t delta, int64_t* result);
/* timeout_ms < 0: the store's timeout. */
int mt_store_wait(mt_store s, const char* const* keys, int n, int64_t timeout_ms);
int mt_store_check(mt_store s, const char* const* keys, int n);  /* 1 all set, 0 not, -1 error */
int mt_store_delete(mt_store s, const char* key);                /* 1 deleted, 0 absent, -1 error */
void mt_store_free(mt_store s);

/* Gloo process group over the store (on its own connection to the store's server), its
   keys under the prefix "mola/pg/<group>/" so several groups share one store (group names
   must be unique per store and job; NULL = "default").
   hostname: address Gloo binds and advertises (NULL/"" = "127.0.0.1"); iface: a network
   interface name, used instead of hostname when non-empty. timeout_ms bounds the
   rendezvous and every collective. Rendezvous blocks until all `size` ranks joined. */
mt_pg mt_pg_gloo_create(mt_store s, const char* group, int rank, int size, int64_t timeout_ms,
                        const char* hostname, const char* iface);
int mt_pg_rank(mt_pg g);
int mt_pg_size(mt_pg g);
/* op: 0 sum, 1 avg, 2 max, 3 min, 4 product. In place on t. AVG is SUM then a division
   by size (Gloo has no AVG); integer tensors are divided with truncation. */
int mt_pg_allreduce(mt_pg g, mt_tensor t, int op);
int mt_pg_broadcast(mt_pg g, mt_tensor t, int root);
/* output: one contiguous tensor of size * input.numel() elements of input's dtype
   ([size * d0, ...] or [size, ...]); rank r's input lands in block r. */
int mt_pg_allgather(mt_pg g, mt_tensor input, mt_tensor output);
/* Splits count rows of dim 0 (elements for 1-D tensors); n == size, or n == 0 for equal
   splits. in_splits[p] rows of input go to rank p; out_splits[p] rows come from rank p. */
int mt_pg_alltoall(mt_pg g, mt_tensor output, mt_tensor input, const int64_t* out_splits,
                   const int64_t* in_splits, int n);
int mt_pg_barrier(mt_pg g);
void mt_pg_free(mt_pg g);

#ifdef __cplusplus
}
#endif
#endif
