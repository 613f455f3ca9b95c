// Runtime queries, tensor lifetime and properties, creation, copies and autograd.
#include "common.h"
#include "ops.h"
#include "mola_torch.h"
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/version.h>
#include <cstring>
#ifdef MOLA_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#endif

using mola::T;
using mola::wrap;

namespace {
thread_local std::string g_text;  // backing store for returned strings

at::TensorOptions opts(int dtype, int device_type, int device_index) {
  return at::TensorOptions()
      .dtype(static_cast<at::ScalarType>(dtype))
      .device(at::Device(static_cast<at::DeviceType>(device_type), static_cast<c10::DeviceIndex>(device_index)));
}
}  // namespace

// ---- runtime -------------------------------------------------------------------

MT_API const char* mt_version() { return TORCH_VERSION; }
MT_API const char* mt_build_config() { g_text = at::show_config(); return g_text.c_str(); }
MT_API const char* mt_parallel_info() { g_text = at::get_parallel_info(); return g_text.c_str(); }
MT_API int mt_get_num_threads() { return at::get_num_threads(); }
MT_API void mt_set_num_threads(int n) { at::set_num_threads(n); }
MT_API void mt_manual_seed(uint64_t seed) { at::manual_seed(seed); }
MT_API int mt_has_cuda_build() {
#ifdef MOLA_WITH_CUDA
  return 1;
#else
  return 0;
#endif
}
MT_API int mt_cuda_is_available() { return at::hasCUDA() ? 1 : 0; }
MT_API int mt_cuda_device_count() {
#ifdef MOLA_WITH_CUDA
  return static_cast<int>(c10::cuda::device_count());
#else
  return 0;
#endif
}
MT_API int mt_cuda_synchronize(int device) {
  MT_GUARD_INT("cuda_synchronize", {
#ifdef MOLA_WITH_CUDA
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device));
    c10::cuda::device_synchronize();
    return 0;
#else
    throw std::runtime_error("libmola_torch was built without CUDA");
#endif
  })
}
MT_API void* mt_cuda_current_stream(int device) {
  MT_GUARD_PTR("cuda_current_stream", {
#ifdef MOLA_WITH_CUDA
    return static_cast<void*>(at::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).stream());
#else
    throw std::runtime_error("libmola_torch was built without CUDA");
#endif
  })
}

// ---- lifetime and properties ----------------------------------------------------

MT_API void mt_free(mt_tensor t) { delete static_cast<at::Tensor*>(t); }
MT_API int mt_ndim(mt_tensor t) { return static_cast<int>(T(t).dim()); }
MT_API int mt_shape(mt_tensor t, int64_t* out, int capacity) {
  auto s = T(t).sizes();
  int n = static_cast<int>(s.size());
  for (int i = 0; i < n && i < capacity; ++i) out[i] = s[i];
  return n;
}
MT_API int64_t mt_numel(mt_tensor t) { return T(t).numel(); }
MT_API int mt_dtype(mt_tensor t) { return static_cast<int>(T(t).scalar_type()); }
MT_API int mt_device(mt_tensor t, int* type, int* index) {
  auto d = T(t).device();
  *type = static_cast<int>(d.type());
  *index = d.has_index() ? d.index() : -1;
  return 0;
}
MT_API int mt_requires_grad(mt_tensor t) { return T(t).requires_grad() ? 1 : 0; }
MT_API int mt_is_contiguous(mt_tensor t) { return T(t).is_contiguous() ? 1 : 0; }
MT_API void* mt_data_ptr(mt_tensor t) { MT_GUARD_PTR("data_ptr", { return T(t).data_ptr(); }) }

// ---- creation ---------------------------------------------------------------------

MT_API mt_tensor mt_new(int kind, const int64_t* shape, int ndim, double value, int dtype, int device_type, int device_index) {
  MT_GUARD_PTR("new", {
    auto o = opts(dtype, device_type, device_index);
    auto s = mola::dims(shape, ndim);
    switch (kind) {
      case mola::F_EMPTY: return wrap(at::empty(s, o));
      case mola::F_ZEROS: return wrap(at::zeros(s, o));
      case mola::F_ONES: return wrap(at::ones(s, o));
      case mola::F_FULL: return wrap(at::full(s, value, o));
      case mola::F_RAND: return wrap(at::rand(s, o));
      case mola::F_RANDN: return wrap(at::randn(s, o));
      default: throw std::invalid_argument("unknown fill kind " + std::to_string(kind));
    }
  })
}

MT_API mt_tensor mt_from_data(const void* data, const int64_t* shape, int ndim, int dtype) {
  MT_GUARD_PTR("from_data", {
    auto t = at::empty(mola::dims(shape, ndim), at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)));
    if (t.nbytes() > 0) std::memcpy(t.data_ptr(), data, t.nbytes());
    return wrap(std::move(t));
  })
}

MT_API mt_tensor mt_arange(double start, double end, double step, int dtype, int device_type, int device_index) {
  MT_GUARD_PTR("arange", { return wrap(at::arange(start, end, step, opts(dtype, device_type, device_index))); })
}

MT_API mt_tensor mt_randint(int64_t low, int64_t high, const int64_t* shape, int ndim, int device_type, int device_index) {
  MT_GUARD_PTR("randint", {
    return wrap(at::randint(low, high, mola::dims(shape, ndim), opts(static_cast<int>(at::kLong), device_type, device_index)));
  })
}

MT_API int mt_copy_to(mt_tensor t, void* dst, int64_t nbytes) {
  MT_GUARD_INT("copy_to", {
    auto c = T(t).detach().to(at::kCPU).contiguous();
    if (static_cast<int64_t>(c.nbytes()) != nbytes)
      throw std::invalid_argument("destination holds " + std::to_string(nbytes) + " bytes, tensor has " + std::to_string(c.nbytes()));
    if (nbytes > 0) std::memcpy(dst, c.data_ptr(), nbytes);
    return 0;
  })
}

MT_API int mt_item(mt_tensor t, double* out) {
  MT_GUARD_INT("item", { *out = T(t).item<double>(); return 0; })
}

MT_API mt_tensor mt_to(mt_tensor t, int dtype, int device_type, int device_index, int copy) {
  MT_GUARD_PTR("to", {
    auto& x = T(t);
    auto st = dtype < 0 ? x.scalar_type() : static_cast<at::ScalarType>(dtype);
    auto dev = device_type < 0 ? x.device() : at::Device(static_cast<at::DeviceType>(device_type), static_cast<c10::DeviceIndex>(device_index));
    return wrap(x.to(dev, st, /*non_blocking=*/false, /*copy=*/copy != 0));
  })
}

// ---- in-place fills and copies (used by initialisers and the optimizer) ------------

MT_API int mt_fill_(mt_tensor a, int kind, double v1, double v2) {
  MT_GUARD_INT("fill_", {
    auto& x = T(a);
    switch (kind) {
      case mola::F_ZEROS: x.zero_(); break;
      case mola::F_ONES: x.fill_(1.0); break;
      case mola::F_FULL: x.fill_(v1); break;
      case mola::F_UNIFORM: x.uniform_(v1, v2); break;
      case mola::F_NORMAL: x.normal_(v1, v2); break;
      default: throw std::invalid_argument("unknown fill kind " + std::to_string(kind));
    }
    return 0;
  })
}

MT_API int mt_copy_(mt_tensor dst, mt_tensor src) { MT_GUARD_INT("copy_", { T(dst).copy_(T(src)); return 0; }) }

// ---- autograd -------------------------------------------------------------------------

MT_API int mt_set_requires_grad(mt_tensor t, int value) {
  MT_GUARD_INT("requires_grad_", { T(t).requires_grad_(value != 0); return 0; })
}

MT_API int mt_backward(mt_tensor t, mt_tensor grad, int retain_graph) {
  MT_GUARD_INT("backward", {
    at::Tensor g = grad ? T(grad) : at::Tensor();
    T(t).backward(g, retain_graph != 0);
    return 0;
  })
}

MT_API mt_tensor mt_grad(mt_tensor t) {
  MT_GUARD_PTR("grad", {
    mt_clear_error();  // NULL below means "no grad", not an error
    const auto& g = T(t).grad();
    return g.defined() ? wrap(g) : nullptr;
  })
}

MT_API int mt_set_grad(mt_tensor t, mt_tensor grad) {
  MT_GUARD_INT("set_grad", {
    T(t).mutable_grad() = grad ? T(grad) : at::Tensor();
    return 0;
  })
}

// Replaces t's data with src's (PyTorch's `param.data = ...`): same handle, same autograd leaf.
MT_API int mt_set_data(mt_tensor t, mt_tensor src) {
  MT_GUARD_INT("set_data", { T(t).set_data(T(src)); return 0; })
}

MT_API int mt_grad_enabled() { return c10::GradMode::is_enabled() ? 1 : 0; }
MT_API void mt_set_grad_enabled(int enabled) { c10::GradMode::set_enabled(enabled != 0); }
MT_API mt_tensor mt_detach(mt_tensor t) { MT_GUARD_PTR("detach", { return wrap(T(t).detach()); }) }
MT_API int mt_detach_(mt_tensor t) { MT_GUARD_INT("detach_", { T(t).detach_(); return 0; }) }
