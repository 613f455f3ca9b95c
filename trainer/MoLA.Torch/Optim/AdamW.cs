namespace MoLA.Torch.Optim;

/// <summary>
/// AdamW (Loshchilov and Hutter): decoupled weight decay and bias-corrected moments, the same
/// update as torch.optim.AdamW (non-amsgrad, non-foreach):
/// p -= lr*wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
/// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
/// Every step is a handful of in-place native ops per parameter and allocates no tensors.
/// </summary>
public sealed class AdamW : IDisposable
{
    public sealed class ParamState(Tensor param)
    {
        public Tensor Param { get; } = param;
        public Tensor ExpAvg { get; } = torch.zeros(param.Shape, param.DType, param.Device).DetachFromScope();
        public Tensor ExpAvgSq { get; } = torch.zeros(param.Shape, param.DType, param.Device).DetachFromScope();
        internal Tensor Scratch { get; } = torch.zeros(param.Shape, param.DType, param.Device).DetachFromScope();
    }

    private readonly List<ParamState> _states;

    public double LearningRate { get; set; }
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; set; }
    /// <summary>Number of steps taken (the t in the bias corrections).</summary>
    public long StepCount { get; set; }
    public IReadOnlyList<ParamState> States => _states;

    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
    {
        if (!(lr >= 0) || double.IsInfinity(lr)) throw new ArgumentOutOfRangeException(nameof(lr), lr, "AdamW: learning rate must be a finite value >= 0");
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "AdamW: beta1 must be in [0, 1)");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "AdamW: beta2 must be in [0, 1)");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "AdamW: eps must be > 0");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "AdamW: weight decay must be >= 0");
        LearningRate = lr;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        var ps = parameters.ToList();
        if (ps.Count == 0) throw new ArgumentException("AdamW: no parameters to optimize", nameof(parameters));
        foreach (var p in ps)
            if (!p.RequiresGrad) throw new ArgumentException($"AdamW: parameter {p} does not require gradients (frozen weights have no optimizer state)", nameof(parameters));
        _states = ps.Select(p => new ParamState(p)).ToList();
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void step()
    {
        StepCount++;
        var lr = LearningRate;
        var biasCorrection1 = 1 - Math.Pow(Beta1, StepCount);
        var biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, StepCount));
        using var noGrad = torch.no_grad();
        foreach (var s in _states)
        {
            using var g = s.Param.grad;
            if (g is null) continue;
            if (WeightDecay != 0) s.Param.mul_(1 - lr * WeightDecay);
            s.ExpAvg.lerp_(g, 1 - Beta1);
            s.ExpAvgSq.mul_(Beta2).addcmul_(g, g, 1 - Beta2);
            s.Scratch.copy_(s.ExpAvgSq).sqrt_().div_(biasCorrection2Sqrt).add_(Eps);
            s.Param.addcdiv_(s.ExpAvg, s.Scratch, -lr / biasCorrection1);
        }
    }

    /// <summary>Clears the gradients (sets them to none, as PyTorch's default).</summary>
    public void zero_grad()
    {
        foreach (var s in _states) s.Param.grad = null;
    }

    public void Dispose()
    {
        foreach (var s in _states)
        {
            s.ExpAvg.Dispose();
            s.ExpAvgSq.Dispose();
            s.Scratch.Dispose();
        }
    }
}
