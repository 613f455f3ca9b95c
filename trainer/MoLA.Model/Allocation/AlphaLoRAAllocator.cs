using System.Globalization;

namespace MoLA.Model.Allocation;

/// <summary>How AlphaLoRA turns real-valued shares into integer expert counts.</summary>
public enum ExpertRounding
{
    /// <summary>
    /// The reference's rounding, quirks included: round-half-even of T v_l / sum v, then a
    /// one-at-a-time fix-up steered by the un-normalised v (see <see cref="AlphaLoRAAllocator.RoundReference"/>).
    /// Can yield 0 experts for a layer.
    /// </summary>
    Reference,

    /// <summary>
    /// Hamilton (largest-remainder) apportionment with a per-layer minimum (default 1); see
    /// <see cref="AlphaLoRAAllocator.RoundLargestRemainder"/>.
    /// </summary>
    LargestRemainder,
}

/// <summary>Options of <see cref="AlphaLoRAAllocator"/>.</summary>
public sealed record AlphaLoRAOptions
{
    /// <summary>Reference defaults: beta 2.5, reference rounding, no minimum, rank 8.</summary>
    public static AlphaLoRAOptions Default { get; } = new();

    /// <summary>Exponent in v_l = q_l^beta (reference default 2.5). Must be finite.</summary>
    public double Beta { get; init; } = AlphaLoRAAllocator.DefaultBeta;

    /// <summary>
    /// Rounding rule. The project default is <see cref="ExpertRounding.Reference"/> so that
    /// published AlphaLoRA allocations are reproduced exactly; a layer it leaves at 0 experts is
    /// an error unless <see cref="MinPerLayer"/> is set.
    /// </summary>
    public ExpertRounding Rounding { get; init; } = ExpertRounding.Reference;

    /// <summary>
    /// Minimum experts per layer. Null means: none for <see cref="ExpertRounding.Reference"/>
    /// (a zero-expert layer is an error), 1 for <see cref="ExpertRounding.LargestRemainder"/>.
    /// </summary>
    public int? MinPerLayer { get; init; }

    /// <summary>LoRA rank of every expert (default 8).</summary>
    public int Rank { get; init; } = ExpertAllocation.DefaultRank;
}

/// <summary>
/// AlphaLoRA (methods.md section 4): allocate a budget of T experts over layers in proportion
/// to q_l^beta, where q_l is the mean PL_Alpha_Hill of the layer's weight matrices (larger
/// alpha = less well trained = more experts). top-k_l = 2 if the layer gets more than one
/// expert, else 1, as the reference.
/// </summary>
public static class AlphaLoRAAllocator
{
    /// <summary>The reference's beta.</summary>
    public const double DefaultBeta = 2.5;

    /// <summary>Rounding name recorded for <see cref="ExpertRounding.Reference"/>.</summary>
    public const string ReferenceRoundingName = "reference";

    /// <summary>Rounding name recorded for <see cref="ExpertRounding.LargestRemainder"/>.</summary>
    public const string LargestRemainderRoundingName = "largest-remainder";

    /// <summary>q_l: the plain mean of one layer's per-matrix alphas (seven for LLaMA).</summary>
    /// <exception cref="AllocationException">Empty, or a value that is not finite and positive.</exception>
    public static double LayerQuality(ReadOnlySpan<double> matrixAlphas) => LayerQuality(matrixAlphas, layer: -1);

    /// <summary>
    /// Allocates from per-matrix alphas: <paramref name="matrixAlphas"/>[l] holds the alphas of
    /// layer l's matrices; q_l is their mean.
    /// </summary>
    public static ExpertAllocation Allocate(
        IReadOnlyList<IReadOnlyList<double>> matrixAlphas,
        int budget,
        AlphaLoRAOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(matrixAlphas);
        var q = new double[matrixAlphas.Count];
        for (int l = 0; l < q.Length; l++)
        {
            IReadOnlyList<double>? layer = matrixAlphas[l];
            if (layer is null)
            {
                throw new AllocationException("alphas", $"alphas: layer {l} has no list of matrix alphas.");
            }

            double[] copy = new double[layer.Count];
            for (int j = 0; j < copy.Length; j++)
            {
                copy[j] = layer[j];
            }

            q[l] = LayerQuality(copy, l);
        }

        return AllocateFromQualities(q, budget, options);
    }

    /// <summary>Allocates from per-layer qualities q_l directly.</summary>
    /// <exception cref="AllocationException">Empty or non-positive/non-finite q, non-positive
    /// budget, a budget below layers x minimum, or a zero-expert layer under reference rounding
    /// without a minimum (the message names the layer).</exception>
    public static ExpertAllocation AllocateFromQualities(
        IReadOnlyList<double> layerQualities,
        int budget,
        AlphaLoRAOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(layerQualities);
        options ??= AlphaLoRAOptions.Default;
        if (options.Rank < 1)
        {
            throw new AllocationException("rank", $"rank: must be positive, got {options.Rank}.");
        }

        var q = new double[layerQualities.Count];
        for (int l = 0; l < q.Length; l++)
        {
            q[l] = layerQualities[l];
        }

        int? min = options.MinPerLayer ?? (options.Rounding == ExpertRounding.LargestRemainder ? 1 : null);
        int[] experts;
        string roundingName;
        if (options.Rounding == ExpertRounding.Reference)
        {
            experts = RoundReference(q, budget, options.Beta);
            roundingName = ReferenceRoundingName;
            if (min is int floor)
            {
                ValidateMinimum(floor, q.Length, budget);
                RaiseToMinimum(experts, floor);
            }
            else
            {
                for (int l = 0; l < experts.Length; l++)
                {
                    if (experts[l] < 1)
                    {
                        throw new AllocationException(
                            "budget",
                            $"budget: reference rounding gives layer {l} {experts[l]} experts (budget {budget} over {q.Length} layers, q_l = " +
                            $"{q[l].ToString("G6", CultureInfo.InvariantCulture)}); set a minimum per layer or use largest-remainder rounding.");
                    }
                }
            }
        }
        else
        {
            experts = RoundLargestRemainder(q, budget, options.Beta, min ?? 1);
            roundingName = LargestRemainderRoundingName;
        }

        var topK = new int[experts.Length];
        for (int l = 0; l < experts.Length; l++)
        {
            topK[l] = experts[l] > 1 ? 2 : 1;
        }

        var ranks = new int[experts.Length];
        Array.Fill(ranks, options.Rank);
        var provenance = new AllocationProvenance(
            AllocationStrategies.AlphaLoRA,
            Shape: null,
            Alphas: Array.AsReadOnly(q),
            Beta: options.Beta,
            Budget: budget,
            Rounding: roundingName,
            MinPerLayer: min);
        return ExpertAllocation.FromLayers(experts, topK, ranks, TopKOverflow.Reject, provenance);
    }

    /// <summary>
    /// The reference's rounding, reproduced exactly (quirks on purpose): v = q^beta;
    /// s = round_half_even((v / sum v) * T); then while sum s != T: if short,
    /// s[argmin(v - s)] += 1, else s[argmax(v - s)] -= 1, first index on ties. Note that v is
    /// the UN-normalised q^beta, so the fix-up compares counts with values on another scale
    /// (e.g. q = [3,3,3,3], T = 10 gives [4,2,2,2], not [3,3,2,2]). May return 0 (or, in
    /// principle, negative) counts; <see cref="AllocateFromQualities"/> rejects those.
    /// </summary>
    public static int[] RoundReference(ReadOnlySpan<double> layerQualities, int budget, double beta)
    {
        double[] v = Weights(layerQualities, budget, beta);
        double sumV = 0;
        foreach (double x in v)
        {
            sumV += x;
        }

        var s = new int[v.Length];
        long total = 0;
        for (int l = 0; l < v.Length; l++)
        {
            s[l] = (int)Math.Round((v[l] / sumV) * budget, MidpointRounding.ToEven);
            total += s[l];
        }

        while (total != budget)
        {
            if (total < budget)
            {
                int at = 0;
                for (int l = 1; l < v.Length; l++)
                {
                    if (v[l] - s[l] < v[at] - s[at])
                    {
                        at = l;
                    }
                }

                s[at]++;
                total++;
            }
            else
            {
                int at = 0;
                for (int l = 1; l < v.Length; l++)
                {
                    if (v[l] - s[l] > v[at] - s[at])
                    {
                        at = l;
                    }
                }

                s[at]--;
                total--;
            }
        }

        return s;
    }

    /// <summary>
    /// Largest-remainder apportionment of <paramref name="budget"/> in proportion to q^beta with
    /// at least <paramref name="minPerLayer"/> per layer: layers whose proportional quota is below
    /// the minimum are fixed at the minimum and the rest of the budget is re-apportioned over the
    /// other layers (repeated until no quota is below the minimum); then each remaining layer gets
    /// floor(quota) and the leftover experts go to the largest fractional parts, lower layer
    /// first on ties. Sums to the budget exactly.
    /// </summary>
    public static int[] RoundLargestRemainder(ReadOnlySpan<double> layerQualities, int budget, double beta, int minPerLayer = 1)
    {
        double[] v = Weights(layerQualities, budget, beta);
        int layers = v.Length;
        ValidateMinimum(minPerLayer, layers, budget);

        var s = new int[layers];
        var fixedAtMin = new bool[layers];
        int remainingBudget = budget;
        bool changed = true;
        while (changed)
        {
            changed = false;
            double sumV = 0;
            for (int l = 0; l < layers; l++)
            {
                if (!fixedAtMin[l])
                {
                    sumV += v[l];
                }
            }

            int pinned = 0;
            for (int l = 0; l < layers; l++)
            {
                if (!fixedAtMin[l] && remainingBudget * (v[l] / sumV) < minPerLayer)
                {
                    fixedAtMin[l] = true;
                    s[l] = minPerLayer;
                    pinned++;
                    changed = true;
                }
            }

            remainingBudget -= pinned * minPerLayer;
        }

        double freeSum = 0;
        for (int l = 0; l < layers; l++)
        {
            if (!fixedAtMin[l])
            {
                freeSum += v[l];
            }
        }

        var remainders = new double[layers];
        int assigned = 0;
        for (int l = 0; l < layers; l++)
        {
            if (fixedAtMin[l])
            {
                remainders[l] = double.NegativeInfinity;
                continue;
            }

            double quota = remainingBudget * (v[l] / freeSum);
            int whole = (int)Math.Floor(quota);
            s[l] = Math.Max(whole, minPerLayer);
            remainders[l] = quota - whole;
            assigned += s[l];
        }

        int leftover = remainingBudget - assigned;
        for (; leftover > 0; leftover--)
        {
            int at = -1;
            for (int l = 0; l < layers; l++)
            {
                if (!fixedAtMin[l] && (at < 0 || remainders[l] > remainders[at]))
                {
                    at = l;
                }
            }

            s[at]++;
            remainders[at] = double.NegativeInfinity;
        }

        return s;
    }

    private static double[] Weights(ReadOnlySpan<double> q, int budget, double beta)
    {
        if (q.Length == 0)
        {
            throw new AllocationException("alphas", "alphas: empty list (expected one quality value per layer).");
        }

        if (budget < 1)
        {
            throw new AllocationException("budget", $"budget: must be positive, got {budget}.");
        }

        if (!double.IsFinite(beta))
        {
            throw new AllocationException("beta", $"beta: must be finite, got {beta.ToString(CultureInfo.InvariantCulture)}.");
        }

        var v = new double[q.Length];
        for (int l = 0; l < q.Length; l++)
        {
            if (!double.IsFinite(q[l]) || q[l] <= 0)
            {
                throw new AllocationException(
                    "alphas",
                    $"alphas: layer {l} has quality {q[l].ToString(CultureInfo.InvariantCulture)}; it must be finite and positive.");
            }

            v[l] = Math.Pow(q[l], beta);
            if (!double.IsFinite(v[l]) || v[l] <= 0)
            {
                throw new AllocationException(
                    "beta",
                    $"beta: q_l^beta for layer {l} is {v[l].ToString(CultureInfo.InvariantCulture)} (q = {q[l].ToString(CultureInfo.InvariantCulture)}, beta = {beta.ToString(CultureInfo.InvariantCulture)}); choose a smaller |beta|.");
            }
        }

        return v;
    }

    private static void ValidateMinimum(int minPerLayer, int layers, int budget)
    {
        if (minPerLayer < 1)
        {
            throw new AllocationException("minPerLayer", $"minPerLayer: must be at least 1, got {minPerLayer}.");
        }

        if ((long)minPerLayer * layers > budget)
        {
            throw new AllocationException(
                "budget",
                $"budget: {budget} experts cannot give {layers} layers at least {minPerLayer} each (need {(long)minPerLayer * layers}).");
        }
    }

    /// <summary>
    /// Raises layers below <paramref name="min"/> to it, taking each missing expert from the
    /// layer with the most experts (first index on ties) that stays at or above the minimum.
    /// Layers are raised in index order. Requires budget &gt;= layers x min (checked before).
    /// </summary>
    private static void RaiseToMinimum(int[] s, int min)
    {
        for (int l = 0; l < s.Length; l++)
        {
            while (s[l] < min)
            {
                int donor = -1;
                for (int j = 0; j < s.Length; j++)
                {
                    if (s[j] > min && (donor < 0 || s[j] > s[donor]))
                    {
                        donor = j;
                    }
                }

                // Cannot happen when sum s == budget >= layers * min, but fail loudly rather than loop.
                if (donor < 0)
                {
                    throw new InvalidOperationException("no layer can give up an expert while raising to the minimum.");
                }

                s[donor]--;
                s[l]++;
            }
        }
    }

    private static double LayerQuality(ReadOnlySpan<double> matrixAlphas, int layer)
    {
        string where = layer < 0 ? "alphas" : $"alphas: layer {layer}";
        if (matrixAlphas.Length == 0)
        {
            throw new AllocationException("alphas", $"{where}: no matrix alphas (expected one per wrapped weight, e.g. 7).");
        }

        double sum = 0;
        for (int j = 0; j < matrixAlphas.Length; j++)
        {
            double a = matrixAlphas[j];
            if (!double.IsFinite(a) || a <= 0)
            {
                throw new AllocationException(
                    "alphas",
                    $"{where}: matrix {j} has alpha {a.ToString(CultureInfo.InvariantCulture)}; it must be finite and positive.");
            }

            sum += a;
        }

        return sum / matrixAlphas.Length;
    }
}
