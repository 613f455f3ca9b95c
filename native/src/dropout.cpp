// Dropout. On CPU the keep mask comes from a counter-based generator filled in parallel, because libtorch's CPU
// bernoulli_ draws every element serially from one mt19937 (in a MoE-LoRA step, where every wrapped projection
// drops its input, that was 12% of a small model's step in python3-torch's profile).
//
// Mask element i keeps with probability 1 - p: 32 bits of SplitMix64's output function applied to
// seed + (i / 2 + 1) * golden-gamma (two elements per 64-bit value) compared with floor((1 - p) * 2^32). The seed
// is ONE random64() draw from libtorch's default CPU generator, so torch.manual_seed makes the masks reproducible,
// and they do not depend on the thread count. Kept elements are scaled by 1 / (1 - p), as torch.dropout does; the
// masks themselves differ from torch.dropout's. Other devices, p outside (0, 1) and eval mode use at::dropout.
#include "common.h"
#include "mola_torch.h"
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <mutex>

using mola::T;
using mola::wrap;

namespace {

constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;

inline uint64_t splitmix_output(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t draw_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

// mask[i] = scale with probability keep, else 0; same sizes and dtype as x, contiguous.
at::Tensor keep_mask(const at::Tensor& x, double keep) {
  const uint64_t seed = draw_seed();
  const auto threshold = static_cast<uint64_t>(keep * 4294967296.0);  // keep < 1, so threshold < 2^32
  auto mask = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
  const int64_t n = mask.numel();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, mask.scalar_type(), "mola_dropout_mask", [&] {
    scalar_t* out = mask.data_ptr<scalar_t>();
    const auto kept = static_cast<scalar_t>(1.0 / keep);
    const auto dropped = static_cast<scalar_t>(0);
    at::parallel_for(0, (n + 1) / 2, 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const uint64_t r = splitmix_output(seed + static_cast<uint64_t>(i + 1) * kGoldenGamma);
        const int64_t e = 2 * i;
        out[e] = (r & 0xFFFFFFFFULL) < threshold ? kept : dropped;
        if (e + 1 < n) out[e + 1] = (r >> 32) < threshold ? kept : dropped;
      }
    });
  });
  return mask;
}

}  // namespace

MT_API mt_tensor mt_dropout(mt_tensor a, double p, int train) {
  MT_GUARD_PTR("dropout", {
    const at::Tensor& x = T(a);
    if (train == 0 || !(p > 0.0 && p < 1.0) || !x.device().is_cpu() || !at::isFloatingType(x.scalar_type()))
      return wrap(at::dropout(x, p, train != 0));
    at::Tensor mask;
    {
      at::NoGradGuard no_grad;
      mask = keep_mask(x, 1.0 - p);
    }
    return wrap(x * mask);  // the backward is grad * mask, as torch.dropout's
  })
}
