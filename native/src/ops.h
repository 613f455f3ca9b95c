// Op codes of the dispatching entry points (mt_unary, mt_binary, ...). Mirrored in
// trainer/MoLA.Torch/Native/OpCodes.cs: append only, never renumber.
#pragma once

namespace mola {

enum Unary {
  U_NEG = 0, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_ABS, U_SIN, U_COS, U_TANH, U_SIGMOID,
  U_SILU, U_RELU, U_GELU, U_SQUARE, U_RECIPROCAL, U_LOG1P, U_SIGN, U_FLOOR, U_CEIL,
  U_ROUND, U_LOGICAL_NOT, U_ISNAN, U_ISFINITE, U_ZERO, U_CONTIGUOUS, U_CLONE, U_EXPM1,
};

enum Binary {
  B_ADD = 0, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM, B_MINIMUM, B_EQ, B_NE, B_LT, B_LE,
  B_GT, B_GE, B_LOGICAL_AND, B_LOGICAL_OR, B_LERP, B_ATAN2, B_FMOD,
};

enum ScalarOp {
  S_ADD = 0, S_SUB, S_MUL, S_DIV, S_POW, S_RSUB, S_RDIV, S_EQ, S_NE, S_LT, S_LE, S_GT,
  S_GE, S_CLAMP_MIN, S_CLAMP_MAX, S_FMOD, S_RPOW,
};

enum Fill { F_EMPTY = 0, F_ZEROS, F_ONES, F_FULL, F_RAND, F_RANDN, F_UNIFORM, F_NORMAL };

enum Reduce { R_SUM = 0, R_MEAN, R_AMAX, R_AMIN, R_PROD, R_ALL, R_ANY, R_VAR, R_STD, R_LOGSUMEXP,
              R_ARGMAX, R_ARGMIN, R_MAX, R_MIN };

enum View {
  V_VIEW = 0, V_RESHAPE, V_PERMUTE, V_TRANSPOSE, V_UNSQUEEZE, V_SQUEEZE, V_SQUEEZE_ALL,
  V_FLATTEN, V_NARROW, V_SELECT, V_SLICE, V_EXPAND, V_REPEAT, V_T, V_ALIAS,
};

}  // namespace mola
