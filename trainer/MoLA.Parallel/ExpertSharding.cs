using MoLA.Model.Adapters;
using MoLA.Model.Llama;
using MoLA.Model.ParameterCounting;
using MoLA.Model.MoeLora;
using MoLA.Torch;

namespace MoLA.Parallel;

/// <summary>
/// Turns the fully attached adapters of a model into this EP rank's shards: each MoE-LoRA module is
/// replaced by one holding only its experts, with the router and those experts copied from the full
/// module (so every rank starts from the weights a single process draws for the same seed), and its
/// dispatcher set to <paramref name="dispatcher"/>.
/// </summary>
public static class ExpertSharding
{
    public static IReadOnlyDictionary<(int Layer, LlamaProjection Projection), MoeLoraLinear> Apply(
        LlamaModel model, ExpertPlacement placement, int epRank, ExpertParallelDispatcher dispatcher)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(placement);
        ArgumentNullException.ThrowIfNull(dispatcher);
        var attached = MoeLoraAdapter.Attached(model);
        if (attached.Count == 0) throw new ArgumentException("the model has no MoE-LoRA adapters attached", nameof(model));
        // Validate every module's placement before changing anything.
        var ranges = attached.ToDictionary(a => a.Key, a =>
        {
            if (!a.Value.HoldsAllExperts)
                throw new InvalidOperationException($"MoE-LoRA module '{a.Value.Name}' is already sharded ({a.Value.LocalExperts})");
            return placement.RangesFor(a.Key.Layer, a.Value.NumExperts, a.Value.Name);
        });
        var result = new Dictionary<(int, LlamaProjection), MoeLoraLinear>();
        foreach (var ((layer, projection), full) in attached.OrderBy(a => a.Key.Layer).ThenBy(a => a.Key.Projection))
        {
            var r = ranges[(layer, projection)];
            var (first, count) = r[epRank];
            var shard = new MoeLoraLinear(full.BaseLayer, full.Options with { Shard = new ExpertShard(first, count) }, full.Name)
            {
                Execution = full.Execution,
                RetainRouterLogits = full.RetainRouterLogits,
                RetainExpertInputs = full.RetainExpertInputs,
            };
            using (torch.no_grad())
            using (var scope = torch.NewDisposeScope())
            {
                long rank = full.Rank;
                shard.RouterWeight.copy_(full.RouterWeight);
                shard.LoraA.copy_(full.LoraA.narrow(0, first * rank, count * rank));
                shard.LoraB.copy_(full.LoraB.narrow(1, first * rank, count * rank));
            }
            shard.Dispatcher = dispatcher;
            dispatcher.Register(shard, r);
            model.ReplaceProjection(layer, projection, shard);
            // The base layer now belongs to the shard; free only the full module's own trainables.
            full.ReleaseRetained();
            full.RouterWeight.Dispose();
            full.LoraA.Dispose();
            full.LoraB.Dispose();
            result[(layer, projection)] = shard;
        }
        return result;
    }
}
