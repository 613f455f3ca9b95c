using MoLA.Model.Llama;
using MoLA.Torch;

namespace MoLA.Training.Trainer;

/// <summary>
/// Layer-wise activation checkpointing without a custom autograd function: the forward runs every decoder
/// layer under no_grad and keeps only the layer inputs; the head's loss is back-propagated to the last hidden
/// state; then, from the top layer down, each layer is recomputed with autograd on and back-propagated with
/// the incoming gradient (backward of sum(y * dL/dy)), which accumulates its parameters' gradients and gives
/// dL/dx for the layer below. Peak activation memory is one layer's graph plus L inputs of [B, S, D].
/// <para>
/// Dropout: the recomputation must draw the same masks as the first pass, so each layer's forward (both
/// passes) starts from the generator seeded with (layerSeed + layer). Masks therefore differ from an
/// un-checkpointed run with the same seed, but a checkpointed run is deterministic and resumable.
/// </para>
/// </summary>
internal static class ActivationCheckpointing
{
    /// <param name="headLoss">Loss from the logits (with graph).</param>
    /// <param name="layerLoss">Optional extra loss of layer i computed right after its recomputation (aux losses); null for none.</param>
    /// <returns>The head loss value (what <paramref name="headLoss"/> returned).</returns>
    public static double ForwardBackward(LlamaModel model, Tensor inputIds, Tensor? attentionMask, ulong layerSeed,
        Func<Tensor, Tensor> headLoss, Func<int, Tensor?>? layerLoss)
    {
        var decoder = model.Model;
        var layers = decoder.Layers;
        var context = decoder.Context(inputIds.Device, attentionMask, cache: null, startPos: 0, seq: inputIds.size(1));
        var inputs = new Tensor[layers.Count];
        Tensor top;
        using (torch.no_grad())
        {
            var h = decoder.EmbedTokens.forward(inputIds);
            for (var i = 0; i < layers.Count; i++)
            {
                inputs[i] = h;
                torch.manual_seed(unchecked(layerSeed + (ulong)i));
                h = layers[i].forward(h, context, i);
            }
            top = h.detach().requires_grad_(true);
        }

        double lossValue;
        Tensor grad;
        using (var head = torch.NewDisposeScope())
        {
            var loss = headLoss(model.Logits(decoder.Norm.forward(top)));
            loss.backward();
            lossValue = loss.item();
            grad = top.grad ?? throw new InvalidOperationException("activation checkpointing: the loss does not depend on the last hidden state");
            grad = grad.detach().MoveToOuterScope();
        }

        for (var i = layers.Count - 1; i >= 0; i--)
        {
            using var scope = torch.NewDisposeScope();
            var needInputGrad = i > 0;
            var x = needInputGrad ? inputs[i].detach().requires_grad_(true) : inputs[i];
            torch.manual_seed(unchecked(layerSeed + (ulong)i));
            var y = layers[i].forward(x, context, i);
            var objective = y.mul(grad).sum();
            if (layerLoss?.Invoke(i) is { } extra) objective = objective.add(extra);
            objective.backward();
            if (needInputGrad)
            {
                var next = x.grad ?? throw new InvalidOperationException($"activation checkpointing: layer {i} produced no input gradient");
                grad = next.detach().MoveToOuterScope();
            }
        }
        return lossValue;
    }
}
