using MoLA.Torch;

namespace MoLA.Training.Trainer;

/// <summary>
/// What <see cref="SftTrainer"/> asks of a multi-process engine (MoLA.Parallel implements it); null
/// means a single process. Called on every rank in the same order, so implementations may run
/// collectives in every method.
/// </summary>
public interface IDistributedTrainerHooks
{
    /// <summary>Whether this rank writes checkpoints and the adapter (rank 0 only; every rank resumes from them).</summary>
    bool WritesCheckpoints { get; }

    /// <summary>
    /// The whole of <paramref name="local"/>, a tensor laid out like the trainable <paramref name="parameter"/> (the
    /// parameter itself or one of its optimizer moments), on the rank that writes; null on the others. The caller
    /// owns (disposes) the result. May run a collective (expert shards are gathered): every rank calls it for the
    /// same tensors in the same order.
    /// </summary>
    Tensor? GatherForWrite(Tensor parameter, Tensor local);

    /// <summary>
    /// This rank's part of <paramref name="full"/>, a saved tensor laid out like the whole <paramref name="parameter"/>
    /// (a view owned by the caller; an alias of <paramref name="full"/> when the parameter is not sharded). Throws
    /// <see cref="ArgumentException"/> when <paramref name="full"/>'s shape is not the whole parameter's.
    /// </summary>
    Tensor LocalPart(Tensor parameter, Tensor full);

    /// <summary>The step's labelled tokens over all ranks: each rank divides its loss sum by it, so gradients add up.</summary>
    long SumTokens(long localTokens);

    /// <summary>After the step's zero_grad, before the first backward (e.g. point gradients into flat buffers).</summary>
    void BeginStep(IReadOnlyList<TrainableParameter> parameters);

    /// <summary>Replaces loss.backward() for one micro-batch (also when the loss has no graph: peers may need this rank).</summary>
    void Backward(Tensor loss);

    /// <summary>After the last backward: reduce gradients over ranks, clip to the global norm, return that norm.</summary>
    double SynchronizeAndClip(IReadOnlyList<TrainableParameter> parameters, double maxNorm);

    /// <summary>The step's loss (summed over ranks) and aux loss (averaged over ranks), as every rank reports them.</summary>
    (double Loss, double Aux) ReduceMetrics(double loss, double aux);
}
