using MoLA.Torch.Native;
using static MoLA.Torch.Native.NativeMethods;

namespace MoLA.Torch;

// Element-wise maths: unary, tensor-tensor, tensor-scalar, their in-place forms and operators.
public sealed partial class Tensor
{
    private Tensor Unary(UnaryOp op, string name) => Wrap(mt_unary(op, Handle), name, this);

    private Tensor UnaryInPlace(UnaryOp op, string name)
    {
        Check(mt_unary_(op, Handle), name, this);
        return this;
    }

    private Tensor Binary(BinaryOp op, Tensor other, string name, double alpha = 1.0) =>
        Wrap(mt_binary(op, Handle, other.Handle, alpha), name, this, other);

    private Tensor BinaryInPlace(BinaryOp op, Tensor other, string name, double alpha = 1.0)
    {
        Check(mt_binary_(op, Handle, other.Handle, alpha), name, this, other);
        return this;
    }

    private Tensor Scalar(ScalarOp op, double s, string name) => Wrap(mt_scalar(op, Handle, s), name, this);

    private Tensor ScalarInPlace(ScalarOp op, double s, string name)
    {
        Check(mt_scalar_(op, Handle, s), name, this);
        return this;
    }

    public Tensor neg() => Unary(UnaryOp.Neg, "neg");
    public Tensor exp() => Unary(UnaryOp.Exp, "exp");
    public Tensor log() => Unary(UnaryOp.Log, "log");
    public Tensor sqrt() => Unary(UnaryOp.Sqrt, "sqrt");
    public Tensor rsqrt() => Unary(UnaryOp.Rsqrt, "rsqrt");
    public Tensor abs() => Unary(UnaryOp.Abs, "abs");
    public Tensor sin() => Unary(UnaryOp.Sin, "sin");
    public Tensor cos() => Unary(UnaryOp.Cos, "cos");
    public Tensor tanh() => Unary(UnaryOp.Tanh, "tanh");
    public Tensor sigmoid() => Unary(UnaryOp.Sigmoid, "sigmoid");
    public Tensor silu() => Unary(UnaryOp.Silu, "silu");
    public Tensor relu() => Unary(UnaryOp.Relu, "relu");
    public Tensor gelu() => Unary(UnaryOp.Gelu, "gelu");
    public Tensor square() => Unary(UnaryOp.Square, "square");
    public Tensor reciprocal() => Unary(UnaryOp.Reciprocal, "reciprocal");
    public Tensor log1p() => Unary(UnaryOp.Log1p, "log1p");
    public Tensor expm1() => Unary(UnaryOp.Expm1, "expm1");
    public Tensor sign() => Unary(UnaryOp.Sign, "sign");
    public Tensor floor() => Unary(UnaryOp.Floor, "floor");
    public Tensor ceil() => Unary(UnaryOp.Ceil, "ceil");
    public Tensor round() => Unary(UnaryOp.Round, "round");
    public Tensor logical_not() => Unary(UnaryOp.LogicalNot, "logical_not");
    public Tensor isnan() => Unary(UnaryOp.IsNan, "isnan");
    public Tensor isfinite() => Unary(UnaryOp.IsFinite, "isfinite");
    public Tensor zeros_like() => Unary(UnaryOp.Zero, "zeros_like");
    public Tensor contiguous() => Unary(UnaryOp.Contiguous, "contiguous");
    public Tensor clone() => Unary(UnaryOp.Clone, "clone");

    public Tensor neg_() => UnaryInPlace(UnaryOp.Neg, "neg_");
    public Tensor exp_() => UnaryInPlace(UnaryOp.Exp, "exp_");
    public Tensor log_() => UnaryInPlace(UnaryOp.Log, "log_");
    public Tensor sqrt_() => UnaryInPlace(UnaryOp.Sqrt, "sqrt_");
    public Tensor rsqrt_() => UnaryInPlace(UnaryOp.Rsqrt, "rsqrt_");
    public Tensor abs_() => UnaryInPlace(UnaryOp.Abs, "abs_");
    public Tensor tanh_() => UnaryInPlace(UnaryOp.Tanh, "tanh_");
    public Tensor sigmoid_() => UnaryInPlace(UnaryOp.Sigmoid, "sigmoid_");
    public Tensor silu_() => UnaryInPlace(UnaryOp.Silu, "silu_");
    public Tensor relu_() => UnaryInPlace(UnaryOp.Relu, "relu_");
    public Tensor square_() => UnaryInPlace(UnaryOp.Square, "square_");
    public Tensor reciprocal_() => UnaryInPlace(UnaryOp.Reciprocal, "reciprocal_");
    public Tensor zero_() => UnaryInPlace(UnaryOp.Zero, "zero_");

    public Tensor add(Tensor other, double alpha = 1.0) => Binary(BinaryOp.Add, other, "add", alpha);
    public Tensor sub(Tensor other, double alpha = 1.0) => Binary(BinaryOp.Sub, other, "sub", alpha);
    public Tensor mul(Tensor other) => Binary(BinaryOp.Mul, other, "mul");
    public Tensor div(Tensor other) => Binary(BinaryOp.Div, other, "div");
    public Tensor pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent, "pow");
    public Tensor maximum(Tensor other) => Binary(BinaryOp.Maximum, other, "maximum");
    public Tensor minimum(Tensor other) => Binary(BinaryOp.Minimum, other, "minimum");
    public Tensor eq(Tensor other) => Binary(BinaryOp.Eq, other, "eq");
    public Tensor ne(Tensor other) => Binary(BinaryOp.Ne, other, "ne");
    public Tensor lt(Tensor other) => Binary(BinaryOp.Lt, other, "lt");
    public Tensor le(Tensor other) => Binary(BinaryOp.Le, other, "le");
    public Tensor gt(Tensor other) => Binary(BinaryOp.Gt, other, "gt");
    public Tensor ge(Tensor other) => Binary(BinaryOp.Ge, other, "ge");
    public Tensor logical_and(Tensor other) => Binary(BinaryOp.LogicalAnd, other, "logical_and");
    public Tensor logical_or(Tensor other) => Binary(BinaryOp.LogicalOr, other, "logical_or");
    public Tensor lerp(Tensor end, double weight) => Binary(BinaryOp.Lerp, end, "lerp", weight);
    public Tensor atan2(Tensor other) => Binary(BinaryOp.Atan2, other, "atan2");
    public Tensor fmod(Tensor other) => Binary(BinaryOp.Fmod, other, "fmod");

    public Tensor add_(Tensor other, double alpha = 1.0) => BinaryInPlace(BinaryOp.Add, other, "add_", alpha);
    public Tensor sub_(Tensor other, double alpha = 1.0) => BinaryInPlace(BinaryOp.Sub, other, "sub_", alpha);
    public Tensor mul_(Tensor other) => BinaryInPlace(BinaryOp.Mul, other, "mul_");
    public Tensor div_(Tensor other) => BinaryInPlace(BinaryOp.Div, other, "div_");
    public Tensor pow_(Tensor exponent) => BinaryInPlace(BinaryOp.Pow, exponent, "pow_");
    public Tensor lerp_(Tensor end, double weight) => BinaryInPlace(BinaryOp.Lerp, end, "lerp_", weight);
    public Tensor maximum_(Tensor other) => BinaryInPlace(BinaryOp.Maximum, other, "maximum_");
    public Tensor minimum_(Tensor other) => BinaryInPlace(BinaryOp.Minimum, other, "minimum_");

    public Tensor add(double s) => Scalar(ScalarOp.Add, s, "add");
    public Tensor sub(double s) => Scalar(ScalarOp.Sub, s, "sub");
    public Tensor mul(double s) => Scalar(ScalarOp.Mul, s, "mul");
    public Tensor div(double s) => Scalar(ScalarOp.Div, s, "div");
    public Tensor pow(double exponent) => Scalar(ScalarOp.Pow, exponent, "pow");
    public Tensor eq(double s) => Scalar(ScalarOp.Eq, s, "eq");
    public Tensor ne(double s) => Scalar(ScalarOp.Ne, s, "ne");
    public Tensor lt(double s) => Scalar(ScalarOp.Lt, s, "lt");
    public Tensor le(double s) => Scalar(ScalarOp.Le, s, "le");
    public Tensor gt(double s) => Scalar(ScalarOp.Gt, s, "gt");
    public Tensor ge(double s) => Scalar(ScalarOp.Ge, s, "ge");
    public Tensor clamp_min(double min) => Scalar(ScalarOp.ClampMin, min, "clamp_min");
    public Tensor clamp_max(double max) => Scalar(ScalarOp.ClampMax, max, "clamp_max");
    public Tensor fmod(double s) => Scalar(ScalarOp.Fmod, s, "fmod");

    public Tensor add_(double s) => ScalarInPlace(ScalarOp.Add, s, "add_");
    public Tensor sub_(double s) => ScalarInPlace(ScalarOp.Sub, s, "sub_");
    public Tensor mul_(double s) => ScalarInPlace(ScalarOp.Mul, s, "mul_");
    public Tensor div_(double s) => ScalarInPlace(ScalarOp.Div, s, "div_");
    public Tensor pow_(double exponent) => ScalarInPlace(ScalarOp.Pow, exponent, "pow_");
    public Tensor clamp_min_(double min) => ScalarInPlace(ScalarOp.ClampMin, min, "clamp_min_");
    public Tensor clamp_max_(double max) => ScalarInPlace(ScalarOp.ClampMax, max, "clamp_max_");

    public Tensor clamp(double? min = null, double? max = null) =>
        Wrap(mt_clamp(Handle, min ?? 0, max ?? 0, min.HasValue ? 1 : 0, max.HasValue ? 1 : 0), "clamp", this);

    public Tensor masked_fill(Tensor mask, double value) => Wrap(mt_masked_fill(Handle, mask.Handle, value), "masked_fill", this, mask);

    /// <summary>this += value * t1 * t2 (the optimizer's second-moment update).</summary>
    public Tensor addcmul_(Tensor t1, Tensor t2, double value = 1.0)
    {
        Check(mt_addcmul_(Handle, t1.Handle, t2.Handle, value), "addcmul_", this, t1, t2);
        return this;
    }

    /// <summary>this += value * t1 / t2 (the optimizer's update).</summary>
    public Tensor addcdiv_(Tensor t1, Tensor t2, double value = 1.0)
    {
        Check(mt_addcdiv_(Handle, t1.Handle, t2.Handle, value), "addcdiv_", this, t1, t2);
        return this;
    }

    public Tensor fill_(double value)
    {
        Check(mt_fill_(Handle, FillKind.Full, value, 0), "fill_", this);
        return this;
    }

    public Tensor uniform_(double low, double high)
    {
        Check(mt_fill_(Handle, FillKind.Uniform, low, high), "uniform_", this);
        return this;
    }

    public Tensor normal_(double mean = 0, double std = 1)
    {
        Check(mt_fill_(Handle, FillKind.Normal, mean, std), "normal_", this);
        return this;
    }

    public Tensor copy_(Tensor source)
    {
        Check(mt_copy_(Handle, source.Handle), "copy_", this, source);
        return this;
    }

    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    public static Tensor operator +(Tensor a, double s) => a.add(s);
    public static Tensor operator -(Tensor a, double s) => a.sub(s);
    public static Tensor operator *(Tensor a, double s) => a.mul(s);
    public static Tensor operator /(Tensor a, double s) => a.div(s);
    public static Tensor operator +(double s, Tensor a) => a.add(s);
    public static Tensor operator -(double s, Tensor a) => a.Scalar(ScalarOp.RSub, s, "rsub");
    public static Tensor operator *(double s, Tensor a) => a.mul(s);
    public static Tensor operator /(double s, Tensor a) => a.Scalar(ScalarOp.RDiv, s, "rdiv");
    public static Tensor operator -(Tensor a) => a.neg();
}
