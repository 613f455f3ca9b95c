namespace MoLA.Training.Data;

/// <summary>
/// A padded batch, row-major [<see cref="BatchSize"/>, <see cref="SequenceLength"/>]. Padding is on the right:
/// pad id in <see cref="InputIds"/>, -100 in <see cref="Labels"/>, 0 in <see cref="AttentionMask"/> (1 elsewhere).
/// </summary>
public sealed record Batch(int BatchSize, int SequenceLength, int[] InputIds, int[] Labels, int[] AttentionMask)
{
    public int this[int row, int col] => InputIds[row * SequenceLength + col];
    /// <summary>Number of positions with a label (not -100).</summary>
    public int LabelledTokens => Labels.Count(l => l != SftTokenizer.IgnoreIndex);

    /// <summary>Rows [<paramref name="start"/>, start + count) as a batch of the same sequence length (a data-parallel rank's slice).</summary>
    public Batch Rows(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (start + count > BatchSize) throw new ArgumentOutOfRangeException(nameof(count), $"rows [{start}, {start + count}) exceed the batch's {BatchSize}");
        var s = SequenceLength;
        return new Batch(count, s, InputIds.AsSpan(start * s, count * s).ToArray(), Labels.AsSpan(start * s, count * s).ToArray(),
            AttentionMask.AsSpan(start * s, count * s).ToArray());
    }
}

public static class Batcher
{
    /// <summary>
    /// Groups examples in the given order into batches of <paramref name="batchSize"/> (the last one may be smaller
    /// unless <paramref name="dropLast"/>), each padded to its longest sequence rounded up to
    /// <paramref name="padToMultipleOf"/>. Pad id: <paramref name="padId"/>, e.g. tokenizer.PadId ?? 0.
    /// </summary>
    public static IEnumerable<Batch> MakeBatches(IReadOnlyList<TokenizedExample> examples, int batchSize, int padId,
        bool dropLast = false, int padToMultipleOf = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(padToMultipleOf, 1);
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            var n = Math.Min(batchSize, examples.Count - start);
            if (n < batchSize && dropLast) yield break;
            yield return Pad(examples, start, n, padId, padToMultipleOf);
        }
    }

    /// <summary>Pads <paramref name="examples"/> into one batch.</summary>
    public static Batch Pad(IReadOnlyList<TokenizedExample> examples, int padId, int padToMultipleOf = 1) =>
        Pad(examples, 0, examples.Count, padId, padToMultipleOf);

    private static Batch Pad(IReadOnlyList<TokenizedExample> examples, int start, int n, int padId, int multiple)
    {
        var len = 0;
        for (int i = 0; i < n; i++) len = Math.Max(len, examples[start + i].Length);
        len = (len + multiple - 1) / multiple * multiple;
        var ids = new int[n * len];
        var labels = new int[n * len];
        var mask = new int[n * len];
        Array.Fill(ids, padId);
        Array.Fill(labels, SftTokenizer.IgnoreIndex);
        for (int i = 0; i < n; i++)
        {
            var e = examples[start + i];
            e.InputIds.CopyTo(ids, i * len);
            e.Labels.CopyTo(labels, i * len);
            Array.Fill(mask, 1, i * len, e.Length);
        }
        return new Batch(n, len, ids, labels, mask);
    }
}
