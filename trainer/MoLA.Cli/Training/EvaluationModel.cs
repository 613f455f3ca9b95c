using MoLA.Model.Adapters;
using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Training.Trainer;

namespace MoLA.Cli.Training;

/// <summary>
/// The model `mola train` evaluates on the writing rank. Without expert parallelism that is the trained model.
/// Under ep > 1 no rank holds every expert and the trained model's forward needs all EP ranks, so the writer
/// evaluates a second, unsharded copy: the base loaded once (on first use), adapters attached, and the gathered
/// adapter tensors copied in before each evaluation.
/// </summary>
internal sealed class EvaluationModel(LlamaModel trained, bool sharded, bool writer, Func<LlamaModel> loadBase, MoeLoraAdapterConfig config)
    : IDisposable
{
    private LlamaModel? _copy;

    /// <summary>The model to evaluate now on the writer, null on other ranks. Every rank calls it (under ep > 1 it gathers).</summary>
    public LlamaModel? For(SftTrainer trainer)
    {
        if (!sharded) return writer ? trained : null;
        var tensors = trainer.GatherAdapterTensors();
        if (tensors is null) return null;
        try
        {
            if (_copy is null)
            {
                _copy = loadBase();
                MoeLoraAdapter.Attach(_copy, config);
            }
            var byName = tensors.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
            foreach (var ((l, p), adapter) in MoeLoraAdapter.Attached(_copy))
                adapter.LoadAdapterTensors(byName, MoeLoraAdapter.Prefix(l, p));
            return _copy;
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    public void Dispose() => _copy?.Dispose();
}
