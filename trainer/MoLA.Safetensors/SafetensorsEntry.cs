namespace MoLA.Safetensors;

/// <summary>
/// One validated tensor of an open <see cref="SafetensorsFile"/>: where its bytes are and how to
/// interpret them. Only the reader creates entries, so every entry satisfies
/// <c>ByteLength == ElementCount * DType.ElementSize()</c> and lies inside its file's data region.
/// </summary>
public sealed class SafetensorsEntry
{
    internal SafetensorsEntry(SafetensorsFile owner, string name, SafetensorsDType dtype, long[] shape,
        long elementCount, long dataOffset, long byteLength)
    {
        Owner = owner;
        Name = name;
        DType = dtype;
        Shape = shape;
        ElementCount = elementCount;
        DataOffset = dataOffset;
        ByteLength = byteLength;
    }

    /// <summary>Lets <see cref="SafetensorsFile.GetBytes"/> refuse entries of another (or a closed) file.</summary>
    internal SafetensorsFile Owner { get; }

    /// <summary>Tensor name as written in the header (JSON escapes decoded).</summary>
    public string Name { get; }

    /// <summary>Element type.</summary>
    public SafetensorsDType DType { get; }

    /// <summary>
    /// Dimensions, outermost first; empty for a scalar. Shared, not copied, so it can be handed to
    /// native code directly: do not modify it.
    /// </summary>
    public long[] Shape { get; }

    /// <summary>Product of <see cref="Shape"/> (1 for a scalar, 0 when any dimension is 0).</summary>
    public long ElementCount { get; }

    /// <summary>
    /// Offset of the first byte relative to the start of the data region (the header's
    /// <c>data_offsets[0]</c>); add <see cref="SafetensorsFile.DataStart"/> for a file offset.
    /// </summary>
    public long DataOffset { get; }

    /// <summary>Number of bytes (<c>data_offsets[1] - data_offsets[0]</c>).</summary>
    public long ByteLength { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}: {DType.ToHeaderString()}[{string.Join(", ", Shape)}] @{DataOffset}+{ByteLength}";
}
