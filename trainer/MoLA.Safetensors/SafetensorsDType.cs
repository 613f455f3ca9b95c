namespace MoLA.Safetensors;

/// <summary>
/// Element types a safetensors header may name. Values are stored little-endian in the file
/// (the format has no byte-order field), so this library refuses to run on big-endian hosts.
/// </summary>
public enum SafetensorsDType
{
    /// <summary>IEEE 754 binary32 ("F32").</summary>
    F32,
    /// <summary>IEEE 754 binary16 ("F16").</summary>
    F16,
    /// <summary>bfloat16: the upper 16 bits of a binary32 ("BF16").</summary>
    BF16,
    /// <summary>IEEE 754 binary64 ("F64").</summary>
    F64,
    /// <summary>Signed 64-bit integer ("I64").</summary>
    I64,
    /// <summary>Signed 32-bit integer ("I32").</summary>
    I32,
    /// <summary>Signed 16-bit integer ("I16").</summary>
    I16,
    /// <summary>Signed 8-bit integer ("I8").</summary>
    I8,
    /// <summary>Unsigned 8-bit integer ("U8").</summary>
    U8,
    /// <summary>One byte per element, 0 = false, 1 = true ("BOOL").</summary>
    BOOL,
}

/// <summary>Element sizes and header spellings of <see cref="SafetensorsDType"/>.</summary>
public static class SafetensorsDTypes
{
    /// <summary>Every supported dtype, in declaration order (handy for tests and tables).</summary>
    public static IReadOnlyList<SafetensorsDType> All { get; } = Enum.GetValues<SafetensorsDType>();

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 or SafetensorsDType.I64 => 8,
        SafetensorsDType.F32 or SafetensorsDType.I32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.I16 => 2,
        SafetensorsDType.I8 or SafetensorsDType.U8 or SafetensorsDType.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };

    /// <summary>The exact string the header uses ("F32", "BF16", "BOOL", ...).</summary>
    public static string ToHeaderString(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F32 => "F32",
        SafetensorsDType.F16 => "F16",
        SafetensorsDType.BF16 => "BF16",
        SafetensorsDType.F64 => "F64",
        SafetensorsDType.I64 => "I64",
        SafetensorsDType.I32 => "I32",
        SafetensorsDType.I16 => "I16",
        SafetensorsDType.I8 => "I8",
        SafetensorsDType.U8 => "U8",
        SafetensorsDType.BOOL => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };

    /// <summary>
    /// Parses a header dtype string. Case-sensitive on purpose: the format spells them in upper case
    /// and other readers reject "f32", so accepting it would let us write files nobody else reads.
    /// </summary>
    public static bool TryParse(string? text, out SafetensorsDType dtype)
    {
        switch (text)
        {
            case "F32": dtype = SafetensorsDType.F32; return true;
            case "F16": dtype = SafetensorsDType.F16; return true;
            case "BF16": dtype = SafetensorsDType.BF16; return true;
            case "F64": dtype = SafetensorsDType.F64; return true;
            case "I64": dtype = SafetensorsDType.I64; return true;
            case "I32": dtype = SafetensorsDType.I32; return true;
            case "I16": dtype = SafetensorsDType.I16; return true;
            case "I8": dtype = SafetensorsDType.I8; return true;
            case "U8": dtype = SafetensorsDType.U8; return true;
            case "BOOL": dtype = SafetensorsDType.BOOL; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>
    /// Number of elements of <paramref name="shape"/> (1 for a scalar, shape []), or null when a
    /// dimension is negative or the count overflows. A zero dimension gives 0 whatever the others are.
    /// </summary>
    public static long? TryElementCount(ReadOnlySpan<long> shape)
    {
        foreach (long d in shape)
        {
            if (d < 0) return null;
            if (d == 0) return 0;
        }
        long n = 1;
        foreach (long d in shape)
        {
            if (n > long.MaxValue / d) return null;
            n *= d;
        }
        return n;
    }

    /// <summary>
    /// Bytes a tensor of this dtype and shape occupies, or null when the shape is invalid or the
    /// size does not fit in a long.
    /// </summary>
    public static long? TryByteLength(this SafetensorsDType dtype, ReadOnlySpan<long> shape)
    {
        long? n = TryElementCount(shape);
        if (n is not long count) return null;
        int size = dtype.ElementSize();
        if (count > long.MaxValue / size) return null;
        return count * size;
    }
}
