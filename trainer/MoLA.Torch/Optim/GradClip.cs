namespace MoLA.Torch.Optim;

public static class GradClip
{
    /// <summary>
    /// Scales all gradients so their global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_,
    /// coefficient maxNorm / (norm + 1e-6)). Returns the norm before clipping; parameters without a
    /// gradient are skipped. A non-finite norm is returned unchanged so the caller can skip the step.
    /// </summary>
    public static double clip_grad_norm_(IEnumerable<Tensor> parameters, double maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "clip_grad_norm_: max norm must be > 0");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var grads = new List<Tensor>();
        foreach (var p in parameters)
            if (p.grad is { } g) grads.Add(g);
        if (grads.Count == 0) return 0;
        var norms = grads.Select(g => g.norm(2).to(DType.Float64)).ToList();
        var total = torch.stack(norms).norm(2).item();
        if (!double.IsFinite(total)) return total;
        var coef = maxNorm / (total + 1e-6);
        if (coef < 1)
            foreach (var g in grads) g.mul_(coef);
        return total;
    }
}
