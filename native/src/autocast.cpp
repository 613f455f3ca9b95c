// CUDA autocast (automatic mixed precision) state. Under an enabled region, libtorch's autocast dispatch key runs
// the ops on PyTorch's lower-precision list (matmul, linear, attention) in the autocast dtype and keeps the
// precision-sensitive ones (softmax, norms, losses) in float32. C# opens a region with torch.autocast(...) and
// restores the previous state when the region is disposed, so regions nest.
#include "common.h"
#include <ATen/autocast_mode.h>
#include <torch/version.h>

// Torch 2.4 replaced the CUDA-only calls with per-device-type ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define MT_AUTOCAST_BY_DEVICE 1
#endif

namespace {
bool cuda_enabled() {
#ifdef MT_AUTOCAST_BY_DEVICE
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}
at::ScalarType cuda_dtype() {
#ifdef MT_AUTOCAST_BY_DEVICE
  return at::autocast::get_autocast_dtype(at::kCUDA);
#else
  return at::autocast::get_autocast_gpu_dtype();
#endif
}
void set_cuda(bool enabled, at::ScalarType dtype) {
#ifdef MT_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
#else
  at::autocast::set_autocast_gpu_dtype(dtype);
  at::autocast::set_enabled(enabled);
#endif
}
}  // namespace

// Reads the CUDA autocast state of this thread into *enabled / *dtype.
MT_API int mt_autocast_get(int* enabled, int* dtype) {
  MT_GUARD_INT("autocast_get", {
    *enabled = cuda_enabled() ? 1 : 0;
    *dtype = static_cast<int>(cuda_dtype());
    return 0;
  })
}

// Sets the CUDA autocast state. Leaving the outermost region (enter = 0 and the nesting back at 0) clears the
// autocast weight-cast cache, as torch.autocast's __exit__ does.
MT_API int mt_autocast_set(int enabled, int dtype, int enter) {
  MT_GUARD_INT("autocast_set", {
    auto type = static_cast<at::ScalarType>(dtype);
    if (enabled && type != at::kBFloat16 && type != at::kHalf)
      throw std::invalid_argument(std::string("autocast dtype must be bfloat16 or float16, got ") + c10::toString(type));
    set_cuda(enabled != 0, type);
    if (enter) {
      at::autocast::increment_nesting();
    } else if (at::autocast::decrement_nesting() == 0) {
      at::autocast::clear_cache();
    }
    return 0;
  })
}
