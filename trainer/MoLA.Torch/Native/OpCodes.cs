namespace MoLA.Torch.Native;

// Mirrors native/src/ops.h: append only, never renumber.
internal enum UnaryOp
{
    Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sin, Cos, Tanh, Sigmoid, Silu, Relu, Gelu, Square, Reciprocal,
    Log1p, Sign, Floor, Ceil, Round, LogicalNot, IsNan, IsFinite, Zero, Contiguous, Clone, Expm1,
}

internal enum BinaryOp
{
    Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, Lerp, Atan2, Fmod,
}

internal enum ScalarOp
{
    Add, Sub, Mul, Div, Pow, RSub, RDiv, Eq, Ne, Lt, Le, Gt, Ge, ClampMin, ClampMax, Fmod, RPow,
}

internal enum FillKind { Empty, Zeros, Ones, Full, Rand, Randn, Uniform, Normal }

internal enum ReductionOp
{
    Sum, Mean, Amax, Amin, Prod, All, Any, Var, Std, LogSumExp, Argmax, Argmin, Max, Min,
}

internal enum ViewOp
{
    View, Reshape, Permute, Transpose, Unsqueeze, Squeeze, SqueezeAll, Flatten, Narrow, Select, Slice,
    Expand, Repeat, T, Alias,
}
