// Pointwise maths, reductions and linear algebra, dispatched on the op codes of ops.h.
#include "common.h"
#include "ops.h"
#include "mola_torch.h"

using mola::T;
using mola::wrap;

namespace {

[[noreturn]] void bad_op(const char* family, int op) {
  throw std::invalid_argument(std::string("unknown ") + family + " op code " + std::to_string(op));
}

at::Tensor unary(int op, const at::Tensor& a) {
  switch (op) {
    case mola::U_NEG: return a.neg();
    case mola::U_EXP: return a.exp();
    case mola::U_LOG: return a.log();
    case mola::U_SQRT: return a.sqrt();
    case mola::U_RSQRT: return a.rsqrt();
    case mola::U_ABS: return a.abs();
    case mola::U_SIN: return a.sin();
    case mola::U_COS: return a.cos();
    case mola::U_TANH: return a.tanh();
    case mola::U_SIGMOID: return a.sigmoid();
    case mola::U_SILU: return at::silu(a);
    case mola::U_RELU: return a.relu();
    case mola::U_GELU: return at::gelu(a);
    case mola::U_SQUARE: return a.square();
    case mola::U_RECIPROCAL: return a.reciprocal();
    case mola::U_LOG1P: return a.log1p();
    case mola::U_SIGN: return a.sign();
    case mola::U_FLOOR: return a.floor();
    case mola::U_CEIL: return a.ceil();
    case mola::U_ROUND: return a.round();
    case mola::U_LOGICAL_NOT: return a.logical_not();
    case mola::U_ISNAN: return a.isnan();
    case mola::U_ISFINITE: return a.isfinite();
    case mola::U_ZERO: return at::zeros_like(a);
    case mola::U_CONTIGUOUS: return a.contiguous();
    case mola::U_CLONE: return a.clone();
    case mola::U_EXPM1: return a.expm1();
    default: bad_op("unary", op);
  }
}

void unary_(int op, at::Tensor& a) {
  switch (op) {
    case mola::U_NEG: a.neg_(); return;
    case mola::U_EXP: a.exp_(); return;
    case mola::U_LOG: a.log_(); return;
    case mola::U_SQRT: a.sqrt_(); return;
    case mola::U_RSQRT: a.rsqrt_(); return;
    case mola::U_ABS: a.abs_(); return;
    case mola::U_TANH: a.tanh_(); return;
    case mola::U_SIGMOID: a.sigmoid_(); return;
    case mola::U_SILU: at::silu_(a); return;
    case mola::U_RELU: a.relu_(); return;
    case mola::U_SQUARE: a.square_(); return;
    case mola::U_RECIPROCAL: a.reciprocal_(); return;
    case mola::U_ZERO: a.zero_(); return;
    default: bad_op("in-place unary", op);
  }
}

at::Tensor binary(int op, const at::Tensor& a, const at::Tensor& b, double alpha) {
  switch (op) {
    case mola::B_ADD: return alpha == 1.0 ? a.add(b) : a.add(b, alpha);
    case mola::B_SUB: return alpha == 1.0 ? a.sub(b) : a.sub(b, alpha);
    case mola::B_MUL: return a.mul(b);
    case mola::B_DIV: return a.div(b);
    case mola::B_POW: return a.pow(b);
    case mola::B_MAXIMUM: return at::maximum(a, b);
    case mola::B_MINIMUM: return at::minimum(a, b);
    case mola::B_EQ: return a.eq(b);
    case mola::B_NE: return a.ne(b);
    case mola::B_LT: return a.lt(b);
    case mola::B_LE: return a.le(b);
    case mola::B_GT: return a.gt(b);
    case mola::B_GE: return a.ge(b);
    case mola::B_LOGICAL_AND: return a.logical_and(b);
    case mola::B_LOGICAL_OR: return a.logical_or(b);
    case mola::B_LERP: return a.lerp(b, alpha);
    case mola::B_ATAN2: return a.atan2(b);
    case mola::B_FMOD: return a.fmod(b);
    default: bad_op("binary", op);
  }
}

void binary_(int op, at::Tensor& a, const at::Tensor& b, double alpha) {
  switch (op) {
    case mola::B_ADD: a.add_(b, alpha); return;
    case mola::B_SUB: a.sub_(b, alpha); return;
    case mola::B_MUL: a.mul_(b); return;
    case mola::B_DIV: a.div_(b); return;
    case mola::B_POW: a.pow_(b); return;
    case mola::B_LERP: a.lerp_(b, alpha); return;
    case mola::B_MAXIMUM: at::maximum_out(a, a, b); return;
    case mola::B_MINIMUM: at::minimum_out(a, a, b); return;
    default: bad_op("in-place binary", op);
  }
}

at::Tensor scalar(int op, const at::Tensor& a, double s) {
  switch (op) {
    case mola::S_ADD: return a.add(s);
    case mola::S_SUB: return a.sub(s);
    case mola::S_MUL: return a.mul(s);
    case mola::S_DIV: return a.div(s);
    case mola::S_POW: return a.pow(s);
    case mola::S_RSUB: return at::rsub(a, s);
    case mola::S_RDIV: return a.reciprocal().mul(s);
    case mola::S_EQ: return a.eq(s);
    case mola::S_NE: return a.ne(s);
    case mola::S_LT: return a.lt(s);
    case mola::S_LE: return a.le(s);
    case mola::S_GT: return a.gt(s);
    case mola::S_GE: return a.ge(s);
    case mola::S_CLAMP_MIN: return a.clamp_min(s);
    case mola::S_CLAMP_MAX: return a.clamp_max(s);
    case mola::S_FMOD: return a.fmod(s);
    case mola::S_RPOW: return at::pow(at::Scalar(s), a);
    default: bad_op("scalar", op);
  }
}

void scalar_(int op, at::Tensor& a, double s) {
  switch (op) {
    case mola::S_ADD: a.add_(s); return;
    case mola::S_SUB: a.sub_(s); return;
    case mola::S_MUL: a.mul_(s); return;
    case mola::S_DIV: a.div_(s); return;
    case mola::S_POW: a.pow_(s); return;
    case mola::S_CLAMP_MIN: a.clamp_min_(s); return;
    case mola::S_CLAMP_MAX: a.clamp_max_(s); return;
    default: bad_op("in-place scalar", op);
  }
}

}  // namespace

// ---- pointwise ------------------------------------------------------------------------

MT_API mt_tensor mt_unary(int op, mt_tensor a) { MT_GUARD_PTR("unary", { return wrap(unary(op, T(a))); }) }
MT_API int mt_unary_(int op, mt_tensor a) { MT_GUARD_INT("unary_", { unary_(op, T(a)); return 0; }) }
MT_API mt_tensor mt_binary(int op, mt_tensor a, mt_tensor b, double alpha) {
  MT_GUARD_PTR("binary", { return wrap(binary(op, T(a), T(b), alpha)); })
}
MT_API int mt_binary_(int op, mt_tensor a, mt_tensor b, double alpha) {
  MT_GUARD_INT("binary_", { binary_(op, T(a), T(b), alpha); return 0; })
}
MT_API mt_tensor mt_scalar(int op, mt_tensor a, double s) { MT_GUARD_PTR("scalar", { return wrap(scalar(op, T(a), s)); }) }
MT_API int mt_scalar_(int op, mt_tensor a, double s) { MT_GUARD_INT("scalar_", { scalar_(op, T(a), s); return 0; }) }
MT_API int mt_addcmul_(mt_tensor a, mt_tensor t1, mt_tensor t2, double value) {
  MT_GUARD_INT("addcmul_", { T(a).addcmul_(T(t1), T(t2), value); return 0; })
}
MT_API int mt_addcdiv_(mt_tensor a, mt_tensor t1, mt_tensor t2, double value) {
  MT_GUARD_INT("addcdiv_", { T(a).addcdiv_(T(t1), T(t2), value); return 0; })
}
MT_API mt_tensor mt_clamp(mt_tensor a, double lo, double hi, int has_lo, int has_hi) {
  MT_GUARD_PTR("clamp", {
    c10::optional<at::Scalar> l = has_lo ? c10::optional<at::Scalar>(lo) : c10::nullopt;
    c10::optional<at::Scalar> h = has_hi ? c10::optional<at::Scalar>(hi) : c10::nullopt;
    return wrap(at::clamp(T(a), l, h));
  })
}
MT_API mt_tensor mt_where(mt_tensor cond, mt_tensor a, mt_tensor b) {
  MT_GUARD_PTR("where", { return wrap(at::where(T(cond), T(a), T(b))); })
}
MT_API mt_tensor mt_masked_fill(mt_tensor a, mt_tensor mask, double value) {
  MT_GUARD_PTR("masked_fill", { return wrap(T(a).masked_fill(T(mask), value)); })
}

// ---- reductions -------------------------------------------------------------------------

MT_API mt_tensor mt_reduce(int op, mt_tensor a, const int64_t* dims, int ndims, int keepdim) {
  MT_GUARD_PTR("reduce", {
    auto& x = T(a);
    auto d = mola::dims(dims, ndims);
    bool all = ndims == 0;
    bool k = keepdim != 0;
    switch (op) {
      case mola::R_SUM: return wrap(all ? x.sum() : x.sum(d, k));
      case mola::R_MEAN: return wrap(all ? x.mean() : x.mean(d, k));
      case mola::R_AMAX: return wrap(x.amax(d, k));
      case mola::R_AMIN: return wrap(x.amin(d, k));
      case mola::R_PROD: return wrap(all ? x.prod() : x.prod(d[0], k));
      case mola::R_ALL: return wrap(all ? x.all() : x.all(d[0], k));
      case mola::R_ANY: return wrap(all ? x.any() : x.any(d[0], k));
      case mola::R_VAR: return wrap(all ? x.var() : x.var(d, /*unbiased=*/true, k));
      case mola::R_STD: return wrap(all ? x.std() : x.std(d, /*unbiased=*/true, k));
      case mola::R_LOGSUMEXP: return wrap(at::logsumexp(x, d, k));
      case mola::R_ARGMAX: return wrap(all ? x.argmax() : x.argmax(d[0], k));
      case mola::R_ARGMIN: return wrap(all ? x.argmin() : x.argmin(d[0], k));
      case mola::R_MAX: return wrap(x.max());
      case mola::R_MIN: return wrap(x.min());
      default: bad_op("reduce", op);
    }
  })
}

MT_API int mt_reduce_with_index(int op, mt_tensor a, int64_t dim, int keepdim, mt_tensor* values, mt_tensor* indices) {
  MT_GUARD_INT("reduce_with_index", {
    std::tuple<at::Tensor, at::Tensor> r;
    if (op == mola::R_MAX) r = T(a).max(dim, keepdim != 0);
    else if (op == mola::R_MIN) r = T(a).min(dim, keepdim != 0);
    else bad_op("reduce_with_index", op);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
    return 0;
  })
}

MT_API mt_tensor mt_norm(mt_tensor a, double p, const int64_t* dims, int ndims, int keepdim) {
  MT_GUARD_PTR("norm", {
    if (ndims == 0) return wrap(at::norm(T(a), p));
    return wrap(at::norm(T(a), p, mola::dims(dims, ndims), keepdim != 0));
  })
}

MT_API mt_tensor mt_cumsum(mt_tensor a, int64_t dim) { MT_GUARD_PTR("cumsum", { return wrap(T(a).cumsum(dim)); }) }

// ---- linear algebra ---------------------------------------------------------------------

MT_API mt_tensor mt_matmul(mt_tensor a, mt_tensor b) { MT_GUARD_PTR("matmul", { return wrap(at::matmul(T(a), T(b))); }) }
MT_API mt_tensor mt_mm(mt_tensor a, mt_tensor b) { MT_GUARD_PTR("mm", { return wrap(at::mm(T(a), T(b))); }) }
MT_API mt_tensor mt_bmm(mt_tensor a, mt_tensor b) { MT_GUARD_PTR("bmm", { return wrap(at::bmm(T(a), T(b))); }) }
MT_API mt_tensor mt_linear(mt_tensor x, mt_tensor w, mt_tensor bias) {
  MT_GUARD_PTR("linear", {
    return wrap(bias ? at::linear(T(x), T(w), T(bias)) : at::linear(T(x), T(w)));
  })
}
MT_API mt_tensor mt_svdvals(mt_tensor a) { MT_GUARD_PTR("svdvals", { return wrap(at::linalg_svdvals(T(a))); }) }
MT_API mt_tensor mt_eigvalsh(mt_tensor a) { MT_GUARD_PTR("eigvalsh", { return wrap(at::linalg_eigvalsh(T(a))); }) }
MT_API int mt_qr(mt_tensor a, mt_tensor* q, mt_tensor* r) {
  MT_GUARD_INT("qr", {
    auto res = at::linalg_qr(T(a));
    *q = wrap(std::get<0>(res));
    *r = wrap(std::get<1>(res));
    return 0;
  })
}
