using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MoLA.Safetensors;

/// <summary>
/// Name, dtype and shape of a tensor to write; its bytes come later from a callback so a large
/// model is streamed out once instead of being materialised as one more copy.
/// </summary>
public sealed record SafetensorsTensorSpec(string Name, SafetensorsDType DType, long[] Shape)
{
    /// <summary>Bytes the callback must write for this tensor.</summary>
    /// <exception cref="ArgumentException">The shape has a negative dimension or its size overflows.</exception>
    public long ByteLength => DType.TryByteLength(Shape)
        ?? throw new ArgumentException($"tensor '{Name}': invalid shape {SafetensorsFile.FormatShape(Shape)}");
}

/// <summary>
/// Writes safetensors files atomically: everything goes to <c>path + ".tmp-&lt;random&gt;"</c> in the
/// same directory, is flushed to disk, and only then renamed over <c>path</c>. A crash or exception
/// therefore leaves either the old file or the complete new one, never a torn checkpoint; on failure
/// the temp file is deleted. Data is written little-endian as given (the format's byte order).
/// </summary>
/// <remarks>
/// The header lists tensors in the given order with contiguous offsets, puts <c>__metadata__</c>
/// first with keys sorted ordinally (so equal inputs give byte-identical files), and is padded with
/// spaces to a multiple of 8 so the data region starts 8-byte aligned. The directory entry of the
/// rename is not fsynced (.NET offers no portable way); a power loss right after the call may
/// still show the old file, but never a partial one.
/// </remarks>
public static class SafetensorsWriter
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Writes in-memory tensors. All inputs are validated before the temp file is created.</summary>
    /// <exception cref="ArgumentException">Invalid or duplicate names, bad shapes, or data whose length does not match dtype and shape.</exception>
    public static void Write(
        string path,
        IEnumerable<(string Name, SafetensorsDType DType, long[] Shape, ReadOnlyMemory<byte> Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var items = tensors.ToList();
        var specs = items.Select(t => new SafetensorsTensorSpec(t.Name, t.DType, t.Shape)).ToList();
        long[] lengths = Validate(specs, metadata);
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i].Data.Length != lengths[i])
            {
                throw new ArgumentException(
                    $"tensor '{specs[i].Name}': data is {items[i].Data.Length} bytes but {specs[i].DType.ToHeaderString()} "
                    + $"shape {SafetensorsFile.FormatShape(specs[i].Shape)} needs {lengths[i]} bytes", nameof(tensors));
            }
        }
        WriteCore(path, specs, lengths, (i, stream) => stream.Write(items[i].Data.Span), metadata);
    }

    /// <summary>
    /// Streaming write: <paramref name="writeData"/> is called once per tensor, in order, and must
    /// write exactly <see cref="SafetensorsTensorSpec.ByteLength"/> bytes to the stream it is given
    /// (for example by copying a tensor's storage chunk by chunk). Writing more throws inside the
    /// callback; writing fewer fails after it. Either way, as with any exception from the callback,
    /// the temp file is deleted and an existing <paramref name="path"/> is left untouched.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid or duplicate names or bad shapes (checked before any file is created).</exception>
    /// <exception cref="InvalidOperationException">A callback wrote the wrong number of bytes.</exception>
    public static void Write(
        string path,
        IEnumerable<SafetensorsTensorSpec> tensors,
        Action<SafetensorsTensorSpec, Stream> writeData,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(writeData);
        var specs = tensors.ToList();
        long[] lengths = Validate(specs, metadata);
        WriteCore(path, specs, lengths, (i, stream) => writeData(specs[i], stream), metadata);
    }

    /// <summary>Checks everything a reader will check, so we never produce a file we would refuse.</summary>
    private static long[] Validate(List<SafetensorsTensorSpec> specs, IReadOnlyDictionary<string, string>? metadata)
    {
        var lengths = new long[specs.Count];
        var names = new HashSet<string>(StringComparer.Ordinal);
        long total = 0;
        for (int i = 0; i < specs.Count; i++)
        {
            var spec = specs[i] ?? throw new ArgumentException($"tensor #{i} is null", nameof(specs));
            string? name = spec.Name;
            if (string.IsNullOrEmpty(name))
            {
                throw new ArgumentException($"tensor #{i}: name must be a non-empty string", nameof(specs));
            }
            if (name == "__metadata__")
            {
                throw new ArgumentException($"tensor #{i}: the name \"__metadata__\" is reserved for the metadata map", nameof(specs));
            }
            RequireValidUtf16(name, $"tensor #{i}: name");
            if (!names.Add(name))
            {
                throw new ArgumentException($"duplicate tensor name {SafetensorsFile.Quote(name)}", nameof(specs));
            }
            if (!Enum.IsDefined(spec.DType))
            {
                throw new ArgumentException($"tensor {SafetensorsFile.Quote(name)}: unknown dtype value {(int)spec.DType}", nameof(specs));
            }
            if (spec.Shape is null)
            {
                throw new ArgumentException($"tensor {SafetensorsFile.Quote(name)}: shape is null", nameof(specs));
            }
            long? length = spec.DType.TryByteLength(spec.Shape);
            if (length is null)
            {
                throw new ArgumentException(
                    $"tensor {SafetensorsFile.Quote(name)}: shape {SafetensorsFile.FormatShape(spec.Shape)} has a negative dimension or is too large",
                    nameof(specs));
            }
            lengths[i] = length.Value;
            if (total > long.MaxValue - length.Value)
            {
                throw new ArgumentException("total tensor size overflows a 64-bit length", nameof(specs));
            }
            total += length.Value;
        }

        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                RequireValidUtf16(key, "metadata key");
                if (value is null)
                {
                    throw new ArgumentException($"metadata value for {SafetensorsFile.Quote(key)} is null", nameof(metadata));
                }
                RequireValidUtf16(value, $"metadata value for {SafetensorsFile.Quote(key)}");
            }
        }
        return lengths;
    }

    private static void RequireValidUtf16(string text, string what)
    {
        try
        {
            StrictUtf8.GetByteCount(text);
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException($"{what} contains an unpaired surrogate and cannot be encoded as UTF-8", ex);
        }
    }

    private static byte[] BuildHeader(List<SafetensorsTensorSpec> specs, long[] lengths, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII names readable; the header is never embedded in HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var key in metadata.Keys.OrderBy(k => k, StringComparer.Ordinal))
                {
                    json.WriteString(key, metadata[key]);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            for (int i = 0; i < specs.Count; i++)
            {
                json.WriteStartObject(specs[i].Name);
                json.WriteString("dtype", specs[i].DType.ToHeaderString());
                json.WriteStartArray("shape");
                foreach (long d in specs[i].Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += lengths[i];
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }

        int padded = (buffer.WrittenCount + 7) & ~7;
        if (padded > SafetensorsFile.MaxHeaderLength)
        {
            throw new ArgumentException($"header would be {padded} bytes, over the {SafetensorsFile.MaxHeaderLength}-byte limit readers enforce");
        }
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteCore(string path, List<SafetensorsTensorSpec> specs, long[] lengths,
        Action<int, Stream> writeData, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafetensorsFile.EnsureLittleEndian();
        byte[] header = BuildHeader(specs, lengths, metadata);

        // Same directory as the target so the final rename stays on one file system (and is atomic).
        string temp = path + ".tmp-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        FileStream? stream = null;
        try
        {
            stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);

            using (var slot = new TensorSlotStream(stream))
            {
                for (int i = 0; i < specs.Count; i++)
                {
                    slot.Begin(specs[i].Name, lengths[i]);
                    writeData(i, slot);
                    slot.End();
                }
            }

            stream.Flush(flushToDisk: true);
            stream.Dispose();
            stream = null;
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            stream?.Dispose();
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // Best effort: the original exception is the one worth reporting.
            }
            catch (UnauthorizedAccessException)
            {
            }
            throw;
        }
    }

    /// <summary>
    /// Write-only view of the output handed to callbacks: it counts bytes per tensor, refuses to
    /// overrun a tensor (which would shift every later offset), and cannot close or seek the file.
    /// </summary>
    private sealed class TensorSlotStream : Stream
    {
        private readonly Stream _inner;
        private string _name = "";
        private long _expected;
        private long _written;
        private bool _open;
        private bool _overrun;

        public TensorSlotStream(Stream inner) => _inner = inner;

        public void Begin(string name, long expected)
        {
            _name = name;
            _expected = expected;
            _written = 0;
            _overrun = false;
            _open = true;
        }

        public void End()
        {
            _open = false;
            if (_overrun || _written != _expected)
            {
                throw new InvalidOperationException(
                    $"tensor {SafetensorsFile.Quote(_name)}: data callback wrote {(_overrun ? "more than " + _expected : _written.ToString())} "
                    + $"bytes, expected exactly {_expected}");
            }
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => _open;
        public override long Length => throw new NotSupportedException();

        /// <summary>Bytes written so far for the current tensor.</summary>
        public override long Position
        {
            get => _written;
            set => throw new NotSupportedException();
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (!_open) throw new InvalidOperationException("the tensor data stream is only writable inside its callback");
            if (buffer.Length > _expected - _written)
            {
                _overrun = true;
                throw new InvalidOperationException(
                    $"tensor {SafetensorsFile.Quote(_name)}: data callback tried to write past its {_expected} bytes");
            }
            _inner.Write(buffer);
            _written += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            ValidateBufferArguments(buffer, offset, count);
            Write(buffer.AsSpan(offset, count));
        }

        public override void WriteByte(byte value) => Write([value]);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ValidateBufferArguments(buffer, offset, count);
            return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            // The callback is synchronous, so completing synchronously keeps byte order deterministic.
            cancellationToken.ThrowIfCancellationRequested();
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        // The writer flushes (to disk) once at the end; flushing per callback would only slow it down.
        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            // Never closes the file: a callback's `using` must not end the whole write.
            _open = false;
            base.Dispose(disposing);
        }
    }
}
