using static MoLA.Torch.Native.NativeMethods;

namespace MoLA.Torch.NN;

/// <summary>Stateless functions, as torch.nn.functional (import it as F).</summary>
public static class F
{
    public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null) =>
        Tensor.Wrap(mt_linear(input.Handle, weight.Handle, bias?.Handle ?? IntPtr.Zero), "linear", input, weight, bias);

    /// <summary>Softmax along dim; <paramref name="dtype"/> computes in that type (e.g. float32 routing).</summary>
    public static Tensor softmax(Tensor input, long dim, DType? dtype = null) =>
        Tensor.Wrap(mt_softmax(input.Handle, dim, dtype is null ? -1 : (int)dtype), "softmax", input);

    public static Tensor log_softmax(Tensor input, long dim, DType? dtype = null) =>
        Tensor.Wrap(mt_log_softmax(input.Handle, dim, dtype is null ? -1 : (int)dtype), "log_softmax", input);

    public enum Reduction { None = 0, Mean = 1, Sum = 2 }

    /// <summary>Cross-entropy of logits [N, C] against class indices [N]; targets equal to ignoreIndex do not count.</summary>
    public static Tensor cross_entropy(Tensor logits, Tensor target, long ignoreIndex = -100, Reduction reduction = Reduction.Mean, double labelSmoothing = 0) =>
        Tensor.Wrap(mt_cross_entropy(logits.Handle, target.Handle, ignoreIndex, (int)reduction, labelSmoothing), "cross_entropy", logits, target);

    public static Tensor embedding(Tensor weight, Tensor indices) =>
        Tensor.Wrap(mt_embedding(weight.Handle, indices.Handle), "embedding", weight, indices);

    public static Tensor dropout(Tensor input, double p, bool training) =>
        Tensor.Wrap(mt_dropout(input.Handle, p, training ? 1 : 0), "dropout", input);

    /// <summary>softmax(q k^T / sqrt(d) + mask) v over [B, H, S, D]; fused where libtorch has it.</summary>
    public static Tensor scaled_dot_product_attention(Tensor q, Tensor k, Tensor v, Tensor? mask = null, double dropout = 0, bool isCausal = false) =>
        Tensor.Wrap(mt_attention(q.Handle, k.Handle, v.Handle, mask?.Handle ?? IntPtr.Zero, dropout, isCausal ? 1 : 0), "scaled_dot_product_attention", q, k, v);

    public static Tensor rms_norm(Tensor input, Tensor weight, double eps) =>
        Tensor.Wrap(mt_rms_norm(input.Handle, weight.Handle, eps), "rms_norm", input, weight);

    public static Tensor silu(Tensor input) => input.silu();

    public static Tensor one_hot(Tensor indices, long numClasses) =>
        Tensor.Wrap(mt_one_hot(indices.Handle, numClasses), "one_hot", indices);
}

/// <summary>Initialisers, as torch.nn.init (in place, without recording gradients).</summary>
public static class init
{
    [ThreadStatic] private static int _skipDepth;

    /// <summary>True inside <see cref="skip_init"/> on this thread.</summary>
    public static bool skipping => _skipDepth > 0;

    /// <summary>
    /// Layers built inside this scope (on this thread) leave their parameters uninitialised, for a
    /// loader that overwrites every weight next: a 7B model would otherwise spend billions of random
    /// draws on values that are thrown away (as accelerate's init_empty_weights / PyTorch's skip_init).
    /// </summary>
    public static SkipInitScope skip_init() => new(0);

    public readonly struct SkipInitScope : IDisposable
    {
        internal SkipInitScope(int _) => _skipDepth++;
        public void Dispose() => _skipDepth--;
    }

    /// <summary>U(-b, b) with b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)); a = sqrt 5 gives b = 1/sqrt(fan_in).</summary>
    public static Tensor kaiming_uniform_(Tensor t, double a = 0)
    {
        var shape = t.Shape;
        if (shape.Length < 2) throw new ArgumentException($"kaiming_uniform_: needs at least 2 dimensions, got [{string.Join(", ", shape)}]");
        long fanIn = shape[1];
        for (var i = 2; i < shape.Length; i++) fanIn *= shape[i];
        var gain = Math.Sqrt(2.0 / (1 + a * a));
        var bound = gain * Math.Sqrt(3.0 / fanIn);
        using var _ = torch.no_grad();
        return t.uniform_(-bound, bound);
    }

    public static Tensor zeros_(Tensor t)
    {
        using var _ = torch.no_grad();
        return t.zero_();
    }

    public static Tensor normal_(Tensor t, double mean = 0, double std = 1)
    {
        using var _ = torch.no_grad();
        return t.normal_(mean, std);
    }
}
