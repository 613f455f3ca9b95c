namespace MoLA.Parallel;

/// <summary>
/// Rows (dim 0) each peer gets and sends in an all-to-all, with their offsets, checked against the tensors'
/// shapes: one split per rank, none negative, each side's splits adding up to its rows, the same row size
/// on both sides. No splits at all means equal splits (rows divisible by the group size).
/// </summary>
internal sealed record AllToAllPlan(long RowElements, long[] InRows, long[] InOffsets, long[] OutRows, long[] OutOffsets)
{
    public bool IsEmpty => RowElements == 0 || (InRows.All(r => r == 0) && OutRows.All(r => r == 0));

    public static AllToAllPlan Create(string group, int size, long[] outShape, long[] inShape, long[]? outSplits, long[]? inSplits)
    {
        var where = $"NCCL AllToAll (group '{group}')";
        if (inShape.Length == 0 || outShape.Length == 0)
            throw new ArgumentException($"{where}: input and output need a row dimension (dim 0); got shapes [{Join(inShape)}] and [{Join(outShape)}]");
        var row = ElementsPerRow(inShape);
        if (ElementsPerRow(outShape) != row)
            throw new ArgumentException($"{where}: rows of input [{Join(inShape)}] and output [{Join(outShape)}] differ in size ({row} vs {ElementsPerRow(outShape)} elements)");
        if ((outSplits is null) != (inSplits is null))
            throw new ArgumentException($"{where}: give both outSplits and inSplits, or neither (equal splits)");
        if (outSplits is null || inSplits is null)
        {
            inSplits = Equal(where, "input", inShape[0], size);
            outSplits = Equal(where, "output", outShape[0], size);
        }
        Check(where, "inSplits", inSplits, size, inShape[0], "input");
        Check(where, "outSplits", outSplits, size, outShape[0], "output");
        return new AllToAllPlan(row, inSplits, Offsets(inSplits), outSplits, Offsets(outSplits));
    }

    private static long ElementsPerRow(long[] shape)
    {
        long n = 1;
        for (var i = 1; i < shape.Length; i++) n *= shape[i];
        return n;
    }

    private static long[] Equal(string where, string name, long rows, int size)
    {
        if (rows % size != 0)
            throw new ArgumentException($"{where}: equal splits need {name}'s {rows} rows to be divisible by the group size {size}");
        return Enumerable.Repeat(rows / size, size).ToArray();
    }

    private static void Check(string where, string field, long[] splits, int size, long rows, string tensor)
    {
        if (splits.Length != size)
            throw new ArgumentException($"{where}: {field} has {splits.Length} entries, the group has {size} ranks (one split per rank)", field);
        if (splits.Any(s => s < 0))
            throw new ArgumentException($"{where}: {field} [{Join(splits)}] has a negative split", field);
        if (splits.Sum() != rows)
            throw new ArgumentException($"{where}: {field} [{Join(splits)}] adds up to {splits.Sum()} rows, {tensor} has {rows}", field);
    }

    private static long[] Offsets(long[] splits)
    {
        var o = new long[splits.Length];
        for (var i = 1; i < splits.Length; i++) o[i] = o[i - 1] + splits[i - 1];
        return o;
    }

    private static string Join(long[] v) => string.Join(", ", v);
}
