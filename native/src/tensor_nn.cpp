// Neural-network functions, indexing, views and shape manipulation.
#include "common.h"
#include "ops.h"
#include "mola_torch.h"
#include <torch/version.h>

using mola::T;
using mola::wrap;

namespace {
c10::optional<at::ScalarType> maybe_dtype(int dtype) {
  return dtype < 0 ? c10::nullopt : c10::optional<at::ScalarType>(static_cast<at::ScalarType>(dtype));
}
}  // namespace

// ---- neural-network functions -------------------------------------------------------------

MT_API mt_tensor mt_softmax(mt_tensor a, int64_t dim, int dtype) {
  MT_GUARD_PTR("softmax", { return wrap(at::softmax(T(a), dim, maybe_dtype(dtype))); })
}
MT_API mt_tensor mt_log_softmax(mt_tensor a, int64_t dim, int dtype) {
  MT_GUARD_PTR("log_softmax", { return wrap(at::log_softmax(T(a), dim, maybe_dtype(dtype))); })
}
MT_API mt_tensor mt_cross_entropy(mt_tensor logits, mt_tensor target, int64_t ignore_index, int reduction, double label_smoothing) {
  MT_GUARD_PTR("cross_entropy", {
    return wrap(at::cross_entropy_loss(T(logits), T(target), {}, reduction, ignore_index, label_smoothing));
  })
}
MT_API mt_tensor mt_embedding(mt_tensor weight, mt_tensor indices) {
  MT_GUARD_PTR("embedding", { return wrap(at::embedding(T(weight), T(indices))); })
}
// mt_dropout: dropout.cpp

// Scaled dot-product attention over [B, H, S, D]. libtorch 2.x has the fused public op;
// 1.13 has the math implementation under a private name with the same semantics.
MT_API mt_tensor mt_attention(mt_tensor q, mt_tensor k, mt_tensor v, mt_tensor mask, double dropout, int causal) {
  MT_GUARD_PTR("attention", {
    c10::optional<at::Tensor> m = mask ? c10::optional<at::Tensor>(T(mask)) : c10::nullopt;
#if TORCH_VERSION_MAJOR >= 2
    return wrap(at::scaled_dot_product_attention(T(q), T(k), T(v), m, dropout, causal != 0));
#else
    return wrap(std::get<0>(at::_scaled_dot_product_attention(T(q), T(k), T(v), m, dropout, false, causal != 0)));
#endif
  })
}

// RMSNorm computed in at least float32 (float64 stays float64): w * x * rsqrt(mean(x^2) + eps).
MT_API mt_tensor mt_rms_norm(mt_tensor x, mt_tensor weight, double eps) {
  MT_GUARD_PTR("rms_norm", {
    auto& in = T(x);
    auto xf = in.to(at::promote_types(in.scalar_type(), at::kFloat));
    auto normed = xf * at::rsqrt(xf.square().mean(-1, /*keepdim=*/true) + eps);
    return wrap(T(weight) * normed.to(in.scalar_type()));
  })
}

// ---- indexing -----------------------------------------------------------------------------------

MT_API int mt_topk(mt_tensor a, int64_t k, int64_t dim, int largest, int sorted, mt_tensor* values, mt_tensor* indices) {
  MT_GUARD_INT("topk", {
    auto r = T(a).topk(k, dim, largest != 0, sorted != 0);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
    return 0;
  })
}
MT_API int mt_sort(mt_tensor a, int64_t dim, int descending, mt_tensor* values, mt_tensor* indices) {
  MT_GUARD_INT("sort", {
    auto r = T(a).sort(/*stable=*/true, dim, descending != 0);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
    return 0;
  })
}
MT_API mt_tensor mt_gather(mt_tensor a, int64_t dim, mt_tensor index) {
  MT_GUARD_PTR("gather", { return wrap(T(a).gather(dim, T(index))); })
}
MT_API mt_tensor mt_scatter_add(mt_tensor a, int64_t dim, mt_tensor index, mt_tensor src) {
  MT_GUARD_PTR("scatter_add", { return wrap(T(a).scatter_add(dim, T(index), T(src))); })
}
MT_API mt_tensor mt_index_select(mt_tensor a, int64_t dim, mt_tensor index) {
  MT_GUARD_PTR("index_select", { return wrap(T(a).index_select(dim, T(index))); })
}
MT_API mt_tensor mt_index_add(mt_tensor a, int64_t dim, mt_tensor index, mt_tensor src, double alpha) {
  MT_GUARD_PTR("index_add", { return wrap(T(a).index_add(dim, T(index), T(src), alpha)); })
}
MT_API mt_tensor mt_one_hot(mt_tensor a, int64_t classes) {
  MT_GUARD_PTR("one_hot", { return wrap(at::one_hot(T(a), classes)); })
}
MT_API mt_tensor mt_bincount(mt_tensor a, mt_tensor weights, int64_t minlength) {
  MT_GUARD_PTR("bincount", {
    c10::optional<at::Tensor> w = weights ? c10::optional<at::Tensor>(T(weights)) : c10::nullopt;
    return wrap(at::bincount(T(a), w, minlength));
  })
}
MT_API mt_tensor mt_nonzero(mt_tensor a) { MT_GUARD_PTR("nonzero", { return wrap(T(a).nonzero()); }) }
MT_API mt_tensor mt_repeat_interleave(mt_tensor a, int64_t repeats, int64_t dim) {
  MT_GUARD_PTR("repeat_interleave", { return wrap(T(a).repeat_interleave(repeats, dim)); })
}

// ---- views and shape -----------------------------------------------------------------------------

MT_API mt_tensor mt_view(int op, mt_tensor a, const int64_t* args, int nargs) {
  MT_GUARD_PTR("view", {
    auto& x = T(a);
    auto all = mola::dims(args, nargs);
    auto need = [&](int n) {
      if (nargs < n) throw std::invalid_argument("view op " + std::to_string(op) + " needs " + std::to_string(n) + " arguments");
    };
    switch (op) {
      case mola::V_VIEW: return wrap(x.view(all));
      case mola::V_RESHAPE: return wrap(x.reshape(all));
      case mola::V_PERMUTE: return wrap(x.permute(all));
      case mola::V_TRANSPOSE: need(2); return wrap(x.transpose(args[0], args[1]));
      case mola::V_UNSQUEEZE: need(1); return wrap(x.unsqueeze(args[0]));
      case mola::V_SQUEEZE: need(1); return wrap(x.squeeze(args[0]));
      case mola::V_SQUEEZE_ALL: return wrap(x.squeeze());
      case mola::V_FLATTEN: need(2); return wrap(x.flatten(args[0], args[1]));
      case mola::V_NARROW: need(3); return wrap(x.narrow(args[0], args[1], args[2]));
      case mola::V_SELECT: need(2); return wrap(x.select(args[0], args[1]));
      case mola::V_SLICE: need(4); return wrap(x.slice(args[0], args[1], args[2], args[3]));
      case mola::V_EXPAND: return wrap(x.expand(all));
      case mola::V_REPEAT: return wrap(x.repeat(all));
      case mola::V_T: return wrap(x.t());
      case mola::V_ALIAS: return wrap(x);
      default: throw std::invalid_argument("unknown view op code " + std::to_string(op));
    }
  })
}

MT_API mt_tensor mt_cat(const mt_tensor* ts, int n, int64_t dim, int stack) {
  MT_GUARD_PTR(stack ? "stack" : "cat", {
    std::vector<at::Tensor> v;
    v.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) v.push_back(T(ts[i]));
    return wrap(stack ? at::stack(v, dim) : at::cat(v, dim));
  })
}

// Splits into chunks of `size` along dim; writes up to `capacity` handles, returns the count.
MT_API int mt_split(mt_tensor a, int64_t size, int64_t dim, mt_tensor* out, int capacity) {
  MT_GUARD_INT("split", {
    auto parts = T(a).split(size, dim);
    int n = static_cast<int>(parts.size());
    if (n > capacity) throw std::invalid_argument("split yields " + std::to_string(n) + " parts, buffer holds " + std::to_string(capacity));
    for (int i = 0; i < n; ++i) out[i] = wrap(parts[static_cast<size_t>(i)]);
    return n;
  })
}

MT_API mt_tensor mt_tri(mt_tensor a, int64_t diagonal, int upper) {
  MT_GUARD_PTR(upper ? "triu" : "tril", { return wrap(upper ? T(a).triu(diagonal) : T(a).tril(diagonal)); })
}
