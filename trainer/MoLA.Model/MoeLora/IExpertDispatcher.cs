using MoLA.Torch;

namespace MoLA.Model.MoeLora;

/// <summary>
/// Runs the experts of one <see cref="MoeLoraLinear"/> on the tokens the router assigned them and
/// adds their combined output to the base output. The layer routes and then hands everything to its
/// dispatcher, so where the experts live is the dispatcher's business: the default
/// <see cref="LocalExpertDispatcher"/> runs them all in this process; an expert-parallel dispatcher
/// sends each token to the ranks holding its top-k experts (all-to-all), has each rank call
/// <see cref="MoeLoraLinear.ComputeLocalExperts"/> on the rows it received (local expert ids, k = 1 rows
/// are fine), and brings the weighted results back.
/// </summary>
public interface IExpertDispatcher
{
    /// <summary>
    /// Returns <paramref name="baseOutput"/> + sum_j weights[t, j] * scaling * B_e A_e dropout(x[t]),
    /// e = indices[t, j], without modifying <paramref name="baseOutput"/>. Gradients must reach x, the
    /// experts' parameters and <paramref name="weights"/> (the router's only path).
    /// </summary>
    /// <param name="layer">The module whose experts run.</param>
    /// <param name="input">The module input x, [T, in] (undropped; the expert computation applies dropout).</param>
    /// <param name="indices">Global expert ids, [T, k] int64.</param>
    /// <param name="weights">Renormalised gate weights S, [T, k], in the input's dtype.</param>
    /// <param name="baseOutput">The frozen base output W0 x, [T, out].</param>
    Tensor Dispatch(MoeLoraLinear layer, Tensor input, Tensor indices, Tensor weights, Tensor baseOutput);
}

/// <summary>All experts in this process: the layer's own execution form on its own parameters.</summary>
public sealed class LocalExpertDispatcher : IExpertDispatcher
{
    public static LocalExpertDispatcher Instance { get; } = new();

    public Tensor Dispatch(MoeLoraLinear layer, Tensor input, Tensor indices, Tensor weights, Tensor baseOutput)
    {
        if (!layer.HoldsAllExperts)
            throw new InvalidOperationException(
                $"MoE-LoRA module '{layer.Name}' holds experts {layer.LocalExperts} of {layer.NumExperts}; tokens routed to the others " +
                "need an expert-parallel dispatcher, not the local one");
        return layer.ComputeLocalExperts(input, indices, weights, baseOutput);
    }
}
