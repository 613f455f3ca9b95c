namespace NcclSharp;

/// <summary>
/// The 128-byte <c>ncclUniqueId</c> that names one communicator. Rank 0 creates it, every rank
/// must receive the same bytes (the trainer passes them through its key-value store, as raw
/// bytes or base64) before calling <see cref="NcclCommunicator.Create"/>.
/// </summary>
/// <remarks>
/// The bytes are opaque (NCCL stores the root's bootstrap address in them); this type only
/// guarantees they travel unchanged. Instances are immutable: inputs and outputs are copies.
/// </remarks>
public sealed class NcclUniqueId : IEquatable<NcclUniqueId>
{
    /// <summary>NCCL_UNIQUE_ID_BYTES from nccl.h.</summary>
    public const int Size = 128;

    private readonly byte[] _bytes;

    private NcclUniqueId(byte[] bytes) => _bytes = bytes;

    /// <summary>Calls ncclGetUniqueId. Only one rank (normally rank 0) should do this per communicator.</summary>
    /// <exception cref="NcclException">libnccl.so.2 is missing or the call failed.</exception>
    public static unsafe NcclUniqueId Create()
    {
        Nccl.EnsureAvailable();
        NcclNative.Check(NcclNative.GetUniqueId(out var native), "ncclGetUniqueId");
        var bytes = new byte[Size];
        new ReadOnlySpan<byte>(native.Internal, Size).CopyTo(bytes);
        return new NcclUniqueId(bytes);
    }

    /// <summary>Rebuilds an id from the bytes another rank produced with <see cref="ToBytes"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not exactly 128 bytes long.</exception>
    public static NcclUniqueId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException(
                $"An NCCL unique id is exactly {Size} bytes (NCCL_UNIQUE_ID_BYTES); got {bytes.Length} bytes.",
                nameof(bytes));
        }

        return new NcclUniqueId(bytes.ToArray());
    }

    /// <summary>Rebuilds an id from <see cref="ToBase64"/> text.</summary>
    /// <exception cref="ArgumentException">The text is not base64 or does not decode to 128 bytes.</exception>
    public static NcclUniqueId FromBase64(string base64)
    {
        ArgumentNullException.ThrowIfNull(base64);
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"An NCCL unique id in text form must be base64 of {Size} bytes; the text is not valid base64.", nameof(base64), ex);
        }

        return FromBytes(bytes);
    }

    /// <summary>A copy of the 128 raw bytes.</summary>
    public byte[] ToBytes() => (byte[])_bytes.Clone();

    /// <summary>The 128 bytes as base64 (172 characters), safe for text-only stores.</summary>
    public string ToBase64() => Convert.ToBase64String(_bytes);

    /// <inheritdoc />
    public bool Equals(NcclUniqueId? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as NcclUniqueId);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_bytes);
        return hash.ToHashCode();
    }

    /// <summary>A short, log-friendly form; the full value is <see cref="ToBase64"/>.</summary>
    public override string ToString() => $"NcclUniqueId({Convert.ToHexString(_bytes, 0, 8)}...)";

    internal unsafe NcclUniqueIdNative ToNative()
    {
        var native = default(NcclUniqueIdNative);
        _bytes.CopyTo(new Span<byte>(native.Internal, Size));
        return native;
    }
}
