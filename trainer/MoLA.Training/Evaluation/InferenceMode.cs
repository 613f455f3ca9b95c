using MoLA.Model.Llama;
using MoLA.Torch;

namespace MoLA.Training.Evaluation;

/// <summary>
/// Eval mode (no dropout) and no_grad for the lifetime of the scope; the model's previous train/eval
/// state and the thread's grad mode are restored on dispose, so evaluating in the middle of training is safe.
/// </summary>
internal readonly struct InferenceMode : IDisposable
{
    private readonly LlamaModel _model;
    private readonly bool _wasTraining;
    private readonly torch.GradModeScope _grad;

    public InferenceMode(LlamaModel model)
    {
        _model = model;
        _wasTraining = model.training;
        model.eval();
        _grad = torch.no_grad();
    }

    public void Dispose()
    {
        _grad.Dispose();
        if (_wasTraining) _model.train();
    }
}

/// <summary>Token-id batches as the model wants them (int64 on the model's device).</summary>
internal static class TokenBatch
{
    /// <summary>[rows, cols] int64 tensor of <paramref name="data"/> (row-major) on <paramref name="device"/>.</summary>
    public static Tensor Ids(long[] data, long rows, long cols, Device device)
    {
        var t = torch.tensor(data, rows, cols);
        return device == Device.CPU ? t : t.to(device);
    }

    /// <summary>
    /// Left-pads <paramref name="sequences"/> to their longest length, so every row ends in the same
    /// column. Returns the ids (pad value 0: any valid id, it is masked), the pad count per row and
    /// the padded width.
    /// </summary>
    public static (long[] Ids, int[] Pads, int Width) LeftPad(IReadOnlyList<IReadOnlyList<int>> sequences)
    {
        var width = 0;
        foreach (var s in sequences) width = Math.Max(width, s.Count);
        var ids = new long[sequences.Count * width];
        var pads = new int[sequences.Count];
        for (var r = 0; r < sequences.Count; r++)
        {
            var s = sequences[r];
            pads[r] = width - s.Count;
            for (var i = 0; i < s.Count; i++) ids[r * width + pads[r] + i] = s[i];
        }
        return (ids, pads, width);
    }

    /// <summary>
    /// Attention mask [rows, width] with 0 on each row's first pads[r] columns and on columns at or
    /// after ends[r] (when given), 1 elsewhere; null when nothing is masked (the model then takes its
    /// fused causal path).
    /// </summary>
    public static Tensor? Mask(int[] pads, int width, Device device, int[]? ends = null)
    {
        var any = false;
        for (var r = 0; r < pads.Length; r++) any |= pads[r] > 0 || (ends is not null && ends[r] < width);
        if (!any) return null;
        var mask = new long[pads.Length * width];
        for (var r = 0; r < pads.Length; r++)
        {
            var end = ends?[r] ?? width;
            for (var c = pads[r]; c < end; c++) mask[r * width + c] = 1;
        }
        return Ids(mask, pads.Length, width, device);
    }

    /// <summary>Log-softmax over the vocabulary, in float32 for half-precision logits (float64 stays float64).</summary>
    public static Tensor LogProbs(Tensor logits) =>
        MoLA.Torch.NN.F.log_softmax(logits, -1, logits.DType is DType.Float16 or DType.BFloat16 ? DType.Float32 : null);

    /// <summary>Validates token ids against the vocabulary; <paramref name="what"/> names the sequence in the error.</summary>
    public static void CheckIds(IReadOnlyList<int> ids, int vocabSize, string what)
    {
        for (var i = 0; i < ids.Count; i++)
            if ((uint)ids[i] >= (uint)vocabSize)
                throw new ArgumentException($"{what}: token {i} has id {ids[i]}, outside the model's vocabulary [0, {vocabSize})");
    }
}
