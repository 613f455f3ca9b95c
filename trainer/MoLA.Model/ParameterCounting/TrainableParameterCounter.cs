using MoLA.Model.Allocation;

namespace MoLA.Model.ParameterCounting;

/// <summary>Trainable parameters of a MoE-LoRA adapter, split by kind.</summary>
/// <param name="Lora">Expert weights: sum over wrapped modules and experts of r (in + out).</param>
/// <param name="Router">Router weights: sum over wrapped modules of N x in (no bias).</param>
public readonly record struct TrainableParameterCount(long Lora, long Router)
{
    /// <summary>Lora + Router.</summary>
    public long Total => Lora + Router;
}

/// <summary>
/// Counts MoE-LoRA trainable parameters from shapes alone (nothing is allocated), per
/// methods.md section 1: per wrapped module of a layer with N_l experts of rank r_l, LoRA costs
/// N_l x r_l x (in + out) (A: r x in, B: out x r) and the router N_l x in (one router per
/// module, fed the module's own input). Base weights are frozen and not counted.
/// </summary>
/// <example>LLaMA-2-7B, r 8, all seven projections: 660,224 per expert per layer, so 160
/// experts in total give 105,635,840 and 256 give 169,017,344.</example>
public static class TrainableParameterCounter
{
    /// <summary>Counts for the given target modules (default: all seven projections).</summary>
    /// <exception cref="ArgumentException">Invalid shape, layer count mismatch between the
    /// shape and the allocation, or an empty / duplicated target list.</exception>
    public static TrainableParameterCount Count(
        LlamaShape shape,
        ExpertAllocation allocation,
        IReadOnlyList<LlamaProjection>? targets = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(allocation);
        shape.Validate();
        targets ??= LlamaShape.AllProjections;
        if (allocation.Layers != shape.NumHiddenLayers)
        {
            throw new ArgumentException(
                $"allocation has {allocation.Layers} layers but num_hidden_layers is {shape.NumHiddenLayers}.",
                nameof(allocation));
        }

        // Sum of in and of (in + out) over the wrapped modules is the same for every layer.
        long sumIn = 0;
        long sumInOut = 0;
        Span<bool> seen = stackalloc bool[LlamaShape.AllProjections.Count];
        if (targets.Count == 0)
        {
            throw new ArgumentException("no target modules given (expected some of q, k, v, o, gate, up, down).", nameof(targets));
        }

        foreach (LlamaProjection p in targets)
        {
            int index = (int)p;
            if ((uint)index >= (uint)seen.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), p, "unknown projection");
            }

            if (seen[index])
            {
                throw new ArgumentException($"target module {p} is listed twice.", nameof(targets));
            }

            seen[index] = true;
            (int inFeatures, int outFeatures) = shape.Dimensions(p);
            sumIn += inFeatures;
            sumInOut += (long)inFeatures + outFeatures;
        }

        long lora = 0;
        long router = 0;
        for (int l = 0; l < allocation.Layers; l++)
        {
            long n = allocation.ExpertsAt(l);
            lora += n * allocation.RankAt(l) * sumInOut;
            router += n * sumIn;
        }

        return new TrainableParameterCount(lora, router);
    }

    /// <summary>Counts for target modules given by name (<c>q_proj</c>, <c>gate</c>, ...).</summary>
    public static TrainableParameterCount CountByName(LlamaShape shape, ExpertAllocation allocation, IEnumerable<string> targetNames)
    {
        ArgumentNullException.ThrowIfNull(targetNames);
        var targets = new List<LlamaProjection>();
        foreach (string name in targetNames)
        {
            targets.Add(LlamaShape.ParseProjection(name));
        }

        return Count(shape, allocation, targets);
    }
}
