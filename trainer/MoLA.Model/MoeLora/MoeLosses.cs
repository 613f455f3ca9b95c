using MoLA.Torch;
using MoLA.Torch.NN;

namespace MoLA.Model.MoeLora;

/// <summary>
/// Coefficients of the optional MoE losses; all are off (0) by default. When on, MoLA uses 0.001 for
/// the load-balancing loss (MixLoRA 0.01), methods.md suggests 0.01 for the contrastive loss, ST-MoE
/// 0.001 for the router z-loss.
/// </summary>
public sealed record MoeLossOptions
{
    public const double MoLALoadBalancingCoefficient = 0.001;
    public const double DefaultContrastiveCoefficient = 0.01;

    /// <summary>Weight of the load-balancing aux loss (sum over decoder layers).</summary>
    public double LoadBalancingCoefficient { get; init; }

    /// <summary>Weight of the router z-loss (sum over decoder layers of the mean squared logsumexp).</summary>
    public double RouterZLossCoefficient { get; init; }

    /// <summary>Weight of the MoELoRA contrastive loss (mean over the modules that have one).</summary>
    public double ContrastiveCoefficient { get; init; }

    /// <summary>Temperature tau of the contrastive loss.</summary>
    public double ContrastiveTemperature { get; init; } = 0.1;

    /// <summary>Tokens sampled per expert (without replacement) for the contrastive loss.</summary>
    public int ContrastiveMaxTokensPerExpert { get; init; } = 32;

    /// <summary>Base seed of the contrastive subsampling; each step and module derive their own.</summary>
    public ulong Seed { get; init; }

    public bool NeedsRouterLogits => LoadBalancingCoefficient != 0 || RouterZLossCoefficient != 0;
    public bool NeedsExpertInputs => ContrastiveCoefficient != 0;
    public bool AnyEnabled => NeedsRouterLogits || NeedsExpertInputs;

    public void Validate()
    {
        if (!(LoadBalancingCoefficient >= 0) || double.IsInfinity(LoadBalancingCoefficient))
            throw new ArgumentOutOfRangeException(nameof(LoadBalancingCoefficient), LoadBalancingCoefficient, "load-balancing coefficient must be finite and >= 0");
        if (!(RouterZLossCoefficient >= 0) || double.IsInfinity(RouterZLossCoefficient))
            throw new ArgumentOutOfRangeException(nameof(RouterZLossCoefficient), RouterZLossCoefficient, "router z-loss coefficient must be finite and >= 0");
        if (!(ContrastiveCoefficient >= 0) || double.IsInfinity(ContrastiveCoefficient))
            throw new ArgumentOutOfRangeException(nameof(ContrastiveCoefficient), ContrastiveCoefficient, "contrastive coefficient must be finite and >= 0");
        if (!(ContrastiveTemperature > 0) || double.IsInfinity(ContrastiveTemperature))
            throw new ArgumentOutOfRangeException(nameof(ContrastiveTemperature), ContrastiveTemperature, "contrastive temperature must be finite and > 0");
        if (ContrastiveMaxTokensPerExpert < 2)
            throw new ArgumentOutOfRangeException(nameof(ContrastiveMaxTokensPerExpert), ContrastiveMaxTokensPerExpert, "contrastive tokens per expert must be at least 2");
    }

    /// <summary>Switches on exactly the retention the enabled losses need, on every module.</summary>
    public void ConfigureRetention(IEnumerable<MoeLoraLinear> modules)
    {
        foreach (var m in modules)
        {
            m.RetainRouterLogits = NeedsRouterLogits;
            m.RetainExpertInputs = NeedsExpertInputs;
        }
    }
}

/// <summary>The enabled losses of one step: the weighted sum to add to the cross-entropy, and each unweighted term (null when off).</summary>
public sealed record MoeAuxLosses(Tensor Total, Tensor? LoadBalancing, Tensor? RouterZLoss, Tensor? Contrastive);

/// <summary>
/// The optional MoE losses. Each returns a float32 scalar tensor with its graph (float64 for float64 logits). The
/// module overloads read what the modules retained from their last forward (<see cref="MoeLoraLinear.RetainRouterLogits"/>,
/// <see cref="MoeLoraLinear.RetainExpertInputs"/>); a token mask (nonzero = real token, any shape
/// with T elements in the modules' row order) drops padding tokens, which MoLA counts (a documented
/// difference).
/// </summary>
public static class MoeLosses
{
    /// <summary>
    /// MoLA's (Switch-style) load-balancing loss of one decoder layer: the router logits of all its
    /// modules concatenated row-wise into G [M, E]; P = softmax(G) (float32, float64 for float64 G); f_e = share of
    /// the top-k assignments that went to e (no gradient); Pbar_e = mean of P[:, e];
    /// L = E * sum_e f_e * Pbar_e (1 at perfect balance). Gradients reach the routers only.
    /// </summary>
    public static Tensor LoadBalancing(IReadOnlyList<MoeLoraLinear> layerModules, Tensor? tokenMask = null)
    {
        if (layerModules.Count == 0) throw new ArgumentException("load-balancing loss: the layer has no MoE-LoRA modules", nameof(layerModules));
        var experts = layerModules[0].NumExperts;
        var topK = layerModules[0].TopK;
        foreach (var m in layerModules)
        {
            if (m.NumExperts != experts || m.TopK != topK)
                throw new ArgumentException(
                    $"load-balancing loss: module '{m.Name}' has {m.NumExperts} experts with top-{m.TopK}, module '{layerModules[0].Name}' has {experts} with top-{topK}; " +
                    "one layer's modules must agree", nameof(layerModules));
            RequireLogits(m, "load-balancing loss");
        }
        using var scope = torch.NewDisposeScope();
        var logits = layerModules.Count == 1 ? layerModules[0].LastRouterLogits! : torch.cat(layerModules.Select(m => m.LastRouterLogits!).ToList(), 0);
        var indices = layerModules.Count == 1 ? layerModules[0].LastExpertIndices! : torch.cat(layerModules.Select(m => m.LastExpertIndices!).ToList(), 0);
        var rowMask = RowMask(tokenMask, layerModules.Select(m => m.LastRouterLogits!.size(0)).ToList(), "load-balancing loss");
        return LoadBalancing(logits, indices, rowMask).MoveToOuterScope();
    }

    /// <summary>The load-balancing loss of logits [M, E] with the experts each row chose, [M, k].</summary>
    public static Tensor LoadBalancing(Tensor logits, Tensor indices, Tensor? rowMask = null)
    {
        if (logits.Dim != 2) throw new ArgumentException($"load-balancing loss: logits must be [M, E], got [{string.Join(", ", logits.Shape)}]", nameof(logits));
        if (indices.Dim != 2 || indices.size(0) != logits.size(0))
            throw new ArgumentException($"load-balancing loss: indices must be [{logits.size(0)}, k], got [{string.Join(", ", indices.Shape)}]", nameof(indices));
        var rows = logits.size(0);
        var experts = logits.size(1);
        var k = indices.size(1);
        using var scope = torch.NewDisposeScope();
        // Half precision is upcast; float64 stays float64 (a float32 loss would cap a float64 run's precision).
        var wide = logits.DType == DType.Float64 ? DType.Float64 : DType.Float32;
        var probs = F.softmax(logits, -1, wide);
        Tensor counts;
        Tensor meanProbs;
        using (torch.no_grad())
        {
            var flat = indices.reshape(-1);
            Tensor perAssignment;
            if (rowMask is null) perAssignment = torch.ones([rows * k], wide, logits.Device);
            else perAssignment = CheckMask(rowMask, rows, "load-balancing loss").unsqueeze(1).expand(rows, k).reshape(-1);
            counts = torch.zeros([experts], wide, logits.Device).scatter_add(0, flat, perAssignment.to(wide));
        }
        var total = counts.sum().item();
        if (total == 0) return torch.zeros([], wide, logits.Device).MoveToOuterScope();
        var fractions = counts.div(total);
        if (rowMask is null)
        {
            meanProbs = probs.mean(0);
        }
        else
        {
            var m = CheckMask(rowMask, rows, "load-balancing loss");
            meanProbs = probs.mul(m.unsqueeze(1)).sum(0).div(m.sum());
        }
        return fractions.mul(meanProbs).sum().mul(experts).MoveToOuterScope();
    }

    /// <summary>Load-balancing loss with the top-k assignments recomputed from the logits.</summary>
    public static Tensor LoadBalancing(Tensor logits, int topK, Tensor? rowMask = null)
    {
        if (topK < 1) throw new ArgumentOutOfRangeException(nameof(topK), topK, "top-k must be at least 1");
        using var scope = torch.NewDisposeScope();
        Tensor indices;
        using (torch.no_grad()) indices = logits.topk(Math.Min(topK, logits.size(-1))).indices;
        return LoadBalancing(logits, indices, rowMask).MoveToOuterScope();
    }

    /// <summary>
    /// Router z-loss (ST-MoE) of a set of modules, e.g. one decoder layer: the mean over all their
    /// (unmasked) rows of logsumexp(logits)^2, in float32 (float64 for float64 logits).
    /// </summary>
    public static Tensor RouterZLoss(IReadOnlyList<MoeLoraLinear> modules, Tensor? tokenMask = null)
    {
        if (modules.Count == 0) throw new ArgumentException("router z-loss: no MoE-LoRA modules given", nameof(modules));
        foreach (var m in modules) RequireLogits(m, "router z-loss");
        using var scope = torch.NewDisposeScope();
        // Modules may differ in N, so reduce each to its per-row logsumexp before concatenating.
        var lse = torch.cat(modules.Select(m => AtLeastFloat32(m.LastRouterLogits!).logsumexp(1)).ToList(), 0);
        var rowMask = RowMask(tokenMask, modules.Select(m => m.LastRouterLogits!.size(0)).ToList(), "router z-loss");
        return MeanSquare(lse, rowMask).MoveToOuterScope();
    }

    /// <summary>Router z-loss of logits [M, E]: mean over (unmasked) rows of logsumexp(logits)^2.</summary>
    public static Tensor RouterZLoss(Tensor logits, Tensor? rowMask = null)
    {
        if (logits.Dim != 2) throw new ArgumentException($"router z-loss: logits must be [M, E], got [{string.Join(", ", logits.Shape)}]", nameof(logits));
        using var scope = torch.NewDisposeScope();
        return MeanSquare(AtLeastFloat32(logits).logsumexp(1), rowMask).MoveToOuterScope();
    }

    /// <summary>
    /// MoELoRA-style contrastive loss of one module (methods.md section 5; the form is ours): for each
    /// local expert, up to <paramref name="maxTokensPerExpert"/> of the tokens routed to it (any of the
    /// top-k; sampled without replacement by a generator seeded with <paramref name="seed"/>), outputs
    /// z = B_e A_e x (undropped, unscaled), L2-normalised. Experts with fewer than 2 tokens are left
    /// out entirely. With s = z_a . z_b / tau,
    /// L = -mean_a log( sum_{p same expert, p != a} exp(s_ap) / sum_{q != a} exp(s_aq) ).
    /// Returns 0 when no expert has 2 tokens. Under expert parallelism it covers this rank's tokens on
    /// this rank's experts.
    /// </summary>
    public static Tensor Contrastive(MoeLoraLinear module, double temperature = 0.1, int maxTokensPerExpert = 32, ulong seed = 0) =>
        ContrastiveOrNull(module, temperature, maxTokensPerExpert, seed) ?? torch.zeros([], DType.Float32, module.RouterWeight.Device);

    // Null when no local expert got 2 tokens.
    private static Tensor? ContrastiveOrNull(MoeLoraLinear module, double temperature, int maxTokensPerExpert, ulong seed)
    {
        if (module.LastInput is null || module.LastExpertIndices is null)
            throw new InvalidOperationException(
                $"contrastive loss: module '{module.Name}' kept no expert inputs; set RetainExpertInputs (MoeLossOptions.ConfigureRetention) before the forward");
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "contrastive temperature must be > 0");
        if (maxTokensPerExpert < 2) throw new ArgumentOutOfRangeException(nameof(maxTokensPerExpert), maxTokensPerExpert, "need at least 2 tokens per expert");
        var x = module.LastInput;
        var shard = module.LocalExperts;
        long[] chosen;
        using (var host = module.LastExpertIndices.Device.IsCuda ? module.LastExpertIndices.cpu() : module.LastExpertIndices.alias())
            chosen = host.ToArray<long>();
        var k = module.LastExpertIndices.size(1);
        var tokens = new List<long>[shard.Count];
        for (var i = 0; i < shard.Count; i++) tokens[i] = [];
        for (long i = 0; i < chosen.LongLength; i++)
        {
            var e = (int)chosen[i];
            if (shard.Contains(e)) tokens[e - shard.First].Add(i / k);
        }
        var rng = new SplitMix64(seed);
        using var scope = torch.NewDisposeScope();
        var outputs = new List<Tensor>();
        var labels = new List<int>();
        for (var i = 0; i < shard.Count; i++)
        {
            var list = tokens[i];
            if (list.Count < 2) continue;
            var picked = list.Count <= maxTokensPerExpert ? list.ToArray() : Sample(list, maxTokensPerExpert, ref rng);
            var (a, b) = module.ExpertTensors(shard.First + i);
            var rows = x.index_select(0, torch.tensor(picked).to(x.Device));
            outputs.Add(F.linear(F.linear(rows, a), b));
            for (var j = 0; j < picked.Length; j++) labels.Add(i);
        }
        if (outputs.Count == 0) return null;
        return InfoNce(torch.cat(outputs, 0), labels.ToArray(), temperature).MoveToOuterScope();
    }

    /// <summary>
    /// The InfoNCE term over vectors z [M, d] with group labels (computed in float32, or float64 for
    /// float64 input): rows L2-normalised (norm clamped at
    /// 1e-12), s = z z^T / tau, positives = same label except the anchor itself, denominator = every
    /// row except the anchor. Every label must occur at least twice.
    /// </summary>
    public static Tensor InfoNce(Tensor z, int[] labels, double temperature)
    {
        var m = z.size(0);
        if (labels.Length != m) throw new ArgumentException($"contrastive loss: {labels.Length} labels for {m} vectors", nameof(labels));
        var self = new bool[m * m];
        var notPositive = new bool[m * m];
        for (var a = 0; a < m; a++)
        {
            var hasPositive = false;
            for (var b = 0; b < m; b++)
            {
                var same = a == b;
                self[a * m + b] = same;
                var positive = !same && labels[a] == labels[b];
                notPositive[a * m + b] = !positive;
                hasPositive |= positive;
            }
            if (!hasPositive) throw new ArgumentException($"contrastive loss: label {labels[a]} occurs once; each group needs 2 members", nameof(labels));
        }
        using var scope = torch.NewDisposeScope();
        var zf = AtLeastFloat32(z);
        var unit = zf.div(zf.norm(2, [1], keepdim: true).clamp_min(1e-12));
        var sim = unit.matmul(unit.t()).div(temperature);
        var selfMask = torch.tensor(self, m, m).to(z.Device);
        var otherMask = torch.tensor(notPositive, m, m).to(z.Device);
        var logDenominator = sim.masked_fill(selfMask, double.NegativeInfinity).logsumexp(1);
        var logNumerator = sim.masked_fill(otherMask, double.NegativeInfinity).logsumexp(1);
        return logDenominator.sub(logNumerator).mean().MoveToOuterScope();
    }

    /// <summary>
    /// All enabled losses of one step. <paramref name="layers"/> lists each decoder layer's MoE-LoRA
    /// modules. Load-balancing and z-loss are summed over layers; the contrastive loss is averaged over
    /// the modules that have one (seeded per step and module from <see cref="MoeLossOptions.Seed"/>).
    /// </summary>
    public static MoeAuxLosses Compute(IReadOnlyList<IReadOnlyList<MoeLoraLinear>> layers, MoeLossOptions options, Tensor? tokenMask = null, long step = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var device = layers.SelectMany(l => l).Select(m => m.RouterWeight.Device).FirstOrDefault();
        using var scope = torch.NewDisposeScope();
        var total = torch.zeros([], DType.Float32, device);
        Tensor? balance = null, zLoss = null, contrastive = null;
        if (options.LoadBalancingCoefficient != 0)
        {
            balance = Sum(layers.Where(l => l.Count > 0).Select(l => LoadBalancing(l, tokenMask)), device);
            total = total.add(balance, options.LoadBalancingCoefficient);
        }
        if (options.RouterZLossCoefficient != 0)
        {
            zLoss = Sum(layers.Where(l => l.Count > 0).Select(l => RouterZLoss(l, tokenMask)), device);
            total = total.add(zLoss, options.RouterZLossCoefficient);
        }
        if (options.ContrastiveCoefficient != 0)
        {
            var terms = new List<Tensor>();
            var index = 0;
            foreach (var module in layers.SelectMany(l => l))
            {
                var seed = MixSeed(options.Seed, step, index++);
                var term = ContrastiveOrNull(module, options.ContrastiveTemperature, options.ContrastiveMaxTokensPerExpert, seed);
                if (term is not null) terms.Add(term);
            }
            contrastive = terms.Count == 0 ? torch.zeros([], DType.Float32, device) : torch.stack(terms, 0).mean();
            total = total.add(contrastive, options.ContrastiveCoefficient);
        }
        return new MoeAuxLosses(total.MoveToOuterScope(), balance?.MoveToOuterScope(), zLoss?.MoveToOuterScope(), contrastive?.MoveToOuterScope());
    }

    /// <summary>A per-step, per-module seed: SplitMix64 of the base seed, the step and the module index.</summary>
    public static ulong MixSeed(ulong seed, long step, int module)
    {
        var s = new SplitMix64(seed ^ 0x9E3779B97F4A7C15UL * (ulong)(step + 1));
        var a = s.NextUInt64();
        var t = new SplitMix64(a ^ (ulong)module * 0xBF58476D1CE4E5B9UL);
        return t.NextUInt64();
    }

    private static Tensor Sum(IEnumerable<Tensor> terms, Device device)
    {
        var list = terms.ToList();
        return list.Count == 0 ? torch.zeros([], DType.Float32, device) : list.Count == 1 ? list[0] : torch.stack(list, 0).sum();
    }

    private static void RequireLogits(MoeLoraLinear m, string loss)
    {
        if (m.LastRouterLogits is null || m.LastExpertIndices is null)
            throw new InvalidOperationException(
                $"{loss}: module '{m.Name}' kept no router logits; set RetainRouterLogits (MoeLossOptions.ConfigureRetention) before the forward");
    }

    // Half precision is upcast; float64 stays float64.
    private static Tensor AtLeastFloat32(Tensor t) => t.DType is DType.Float32 or DType.Float64 ? t : t.to(DType.Float32);

    private static Tensor MeanSquare(Tensor values, Tensor? rowMask)
    {
        var squares = values.square();
        if (rowMask is null) return squares.mean();
        var m = CheckMask(rowMask, values.size(0), "router z-loss");
        var count = m.sum().item();
        return count == 0 ? torch.zeros([], values.DType, values.Device) : squares.mul(m).sum().div(count);
    }

    // The token mask repeated once per module (each module saw the same T tokens), or null.
    private static Tensor? RowMask(Tensor? tokenMask, IReadOnlyList<long> rowsPerModule, string loss)
    {
        if (tokenMask is null) return null;
        var flat = tokenMask.reshape(-1);
        foreach (var rows in rowsPerModule)
            if (rows != flat.size(0))
                throw new ArgumentException($"{loss}: token mask has {flat.size(0)} elements, the modules saw {rows} tokens", nameof(tokenMask));
        return rowsPerModule.Count == 1 ? flat : torch.cat(Enumerable.Repeat(flat, rowsPerModule.Count).ToList(), 0);
    }

    private static Tensor CheckMask(Tensor rowMask, long rows, string loss)
    {
        var flat = rowMask.reshape(-1);
        if (flat.size(0) != rows)
            throw new ArgumentException($"{loss}: mask has {flat.size(0)} elements for {rows} rows", nameof(rowMask));
        return flat.DType == DType.Float32 ? flat : flat.ne(0).to(DType.Float32);
    }

    /// <summary>The contrastive loss's subsample: at most <paramref name="count"/> of <paramref name="pool"/>, in order.</summary>
    internal static long[] SampleTokens(List<long> pool, int count, ulong seed)
    {
        if (pool.Count <= count) return pool.Order().ToArray();
        var rng = new SplitMix64(seed);
        return Sample(pool, count, ref rng);
    }

    private static long[] Sample(List<long> from, int count, ref SplitMix64 rng)
    {
        // Partial Fisher-Yates over a copy; the sample is returned in token order.
        var pool = from.ToArray();
        for (var i = 0; i < count; i++)
        {
            var j = i + rng.NextInt(pool.Length - i);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        var picked = pool[..count];
        Array.Sort(picked);
        return picked;
    }
}
