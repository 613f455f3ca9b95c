using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace MoLA.Safetensors;

/// <summary>
/// A read-only, memory-mapped safetensors file
/// (layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data region).
/// </summary>
/// <remarks>
/// <para>
/// The file is mapped rather than read so a multi-gigabyte checkpoint costs no managed memory and
/// tensor bytes can be handed to libtorch without a copy (<see cref="GetBytes"/>,
/// <see cref="GetPointer"/>). The whole header is validated in <see cref="Open"/>, so every
/// <see cref="SafetensorsEntry"/> is known to lie inside the data region, with a byte length that
/// matches its dtype and shape, and the tensors tile the data region exactly.
/// </para>
/// <para>
/// Little-endian only: tensor bytes are exposed as stored, and the format stores them little-endian.
/// </para>
/// <para>
/// Lifetime: spans and pointers are valid only until <see cref="Dispose"/>; anything built on them
/// (for example a tensor created from the pointer without a copy) must keep this object alive and
/// undisposed. The mapping is read-only: writing through a pointer crashes the process. Another
/// process truncating the file while it is mapped makes reads fault (SIGBUS); replacing it by
/// rename, as <see cref="SafetensorsWriter"/> does, is safe: the mapping keeps the old bytes.
/// Reading from several threads is safe; disposing while others read is not.
/// </para>
/// </remarks>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>
    /// Largest header accepted (100 MB, the limit of the reference implementation). Checked before
    /// anything else so a corrupt length prefix can never make us touch or allocate gigabytes.
    /// </summary>
    public const long MaxHeaderLength = 100_000_000;

    private const string MetadataKey = "__metadata__";
    private const int PrefixLength = 8;

    private readonly FileStream _stream;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;
    private bool _pointerAcquired;
    private bool _disposed;

    private readonly List<SafetensorsEntry> _entries = new();
    private readonly Dictionary<string, SafetensorsEntry> _byName = new(StringComparer.Ordinal);
    private Dictionary<string, string> _metadata = new(StringComparer.Ordinal);

    private SafetensorsFile(string path, FileStream stream)
    {
        Path = path;
        _stream = stream;
    }

    /// <summary>The path the file was opened with.</summary>
    public string Path { get; }

    /// <summary>Total file size in bytes.</summary>
    public long FileLength { get; private set; }

    /// <summary>Declared header length N (JSON plus padding).</summary>
    public long HeaderLength { get; private set; }

    /// <summary>File offset of the data region (8 + N); entry offsets are relative to it.</summary>
    public long DataStart { get; private set; }

    /// <summary>Size of the data region; always equals the largest tensor end.</summary>
    public long DataLength { get; private set; }

    /// <summary>Tensors in header order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries => _entries;

    /// <summary>The optional <c>__metadata__</c> string map; empty when the header has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>
    /// Opens, maps and fully validates a safetensors file.
    /// </summary>
    /// <exception cref="SafetensorsFormatException">The content is not a valid safetensors file.</exception>
    /// <exception cref="IOException">The file cannot be opened (missing, no permission, ...).</exception>
    /// <exception cref="PlatformNotSupportedException">The host is big-endian.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        EnsureLittleEndian();

        // FileShare.Delete lets a writer atomically replace the file while we hold it open.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete,
            bufferSize: 0, FileOptions.None);
        var file = new SafetensorsFile(path, stream);
        try
        {
            file.Load();
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Looks a tensor up by exact (ordinal) name.</summary>
    public bool TryGet(string name, [MaybeNullWhen(false)] out SafetensorsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out entry);
    }

    /// <summary>Looks a tensor up by name, throwing <see cref="KeyNotFoundException"/> naming the file when absent.</summary>
    public SafetensorsEntry Get(string name) =>
        TryGet(name, out var entry)
            ? entry
            : throw new KeyNotFoundException($"{Path}: no tensor named {Quote(name)}");

    /// <summary>
    /// The tensor's bytes, straight from the mapping (no copy). Valid until <see cref="Dispose"/>.
    /// Tensors over 2 GiB do not fit a span: use <see cref="GetPointer"/> for those.
    /// </summary>
    public ReadOnlySpan<byte> GetBytes(SafetensorsEntry entry)
    {
        byte* p = Locate(entry);
        if (entry.ByteLength > int.MaxValue)
        {
            throw new InvalidOperationException(
                $"{Path}: tensor {Quote(entry.Name)} is {entry.ByteLength} bytes, too large for a span; use GetPointer");
        }
        return new ReadOnlySpan<byte>(p, (int)entry.ByteLength);
    }

    /// <summary>
    /// Address of the tensor's first byte inside the read-only mapping, for native consumers
    /// (e.g. <c>torch::from_blob</c>). The memory must not be written and is valid until
    /// <see cref="Dispose"/>. It is only as aligned as the file makes it: <see cref="SafetensorsWriter"/>
    /// pads the header to 8 bytes, but other writers' offsets need not be multiples of the element size.
    /// </summary>
    public nint GetPointer(SafetensorsEntry entry) => (nint)Locate(entry);

    /// <summary>Unmaps the file and closes it. Spans and pointers obtained earlier become invalid.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_pointerAcquired)
        {
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointerAcquired = false;
        }
        _base = null;
        _view?.Dispose();
        _map?.Dispose();
        _stream.Dispose();
    }

    private byte* Locate(SafetensorsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!ReferenceEquals(entry.Owner, this))
        {
            throw new ArgumentException($"tensor {Quote(entry.Name)} belongs to another SafetensorsFile", nameof(entry));
        }
        return _base + DataStart + entry.DataOffset;
    }

    internal static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors stores data little-endian; big-endian hosts are not supported");
        }
    }

    private SafetensorsFormatException Fail(string detail, string? tensor = null) => new(Path, detail, tensor);

    private void Load()
    {
        long length = _stream.Length;
        FileLength = length;
        if (length < PrefixLength)
        {
            throw Fail($"file is {length} bytes, shorter than the 8-byte header length prefix");
        }

        Span<byte> prefix = stackalloc byte[PrefixLength];
        int got = 0;
        while (got < PrefixLength)
        {
            int n = RandomAccess.Read(_stream.SafeFileHandle, prefix[got..], got);
            if (n == 0) throw Fail("file shrank while reading the header length prefix");
            got += n;
        }

        // Both limits are checked on the raw u64 before anything is mapped, read or allocated.
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (declared > MaxHeaderLength)
        {
            throw Fail($"huge declared header length {declared} exceeds the {MaxHeaderLength}-byte limit");
        }
        long remaining = length - PrefixLength;
        if (declared > (ulong)remaining)
        {
            throw Fail($"declared header length {declared} runs past end of file (only {remaining} bytes follow the prefix)");
        }

        HeaderLength = (long)declared;
        DataStart = PrefixLength + HeaderLength;
        DataLength = length - DataStart;

        // leaveOpen: the stream is closed in Dispose, after the view and the map.
        _map = MemoryMappedFile.CreateFromFile(_stream, mapName: null, capacity: 0,
            MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _pointerAcquired = true;
        _base = p + _view.PointerOffset;

        ParseHeader(new ReadOnlySpan<byte>(_base + PrefixLength, (int)HeaderLength));
    }

    /// <summary>What the header says about one tensor, before the data-region checks.</summary>
    private readonly record struct RawTensor(string Name, SafetensorsDType DType, long[] Shape, long Count, ulong Begin, ulong End);

    private void ParseHeader(ReadOnlySpan<byte> header)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
        {
            throw Fail(header.Length == 0
                ? "header is empty; it must be a JSON object starting with '{'"
                : $"header does not start with '{{' (first byte 0x{header[0]:X2})");
        }
        if (!Utf8.IsValid(header))
        {
            throw Fail("header is not valid UTF-8 JSON");
        }

        var tensors = new List<RawTensor>();
        try
        {
            // Our structure nests 3 deep; a small limit makes pathological nesting fail fast.
            var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 16 });
            reader.Read(); // the '{' checked above

            // System.Text.Json's DOM keeps the last of duplicate keys silently; a streaming reader
            // lets us see every key and refuse duplicates, which other readers would resolve differently.
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                ReadOrFail(ref reader, "header JSON");
                if (reader.TokenType == JsonTokenType.EndObject) break;
                string key = ReadString(ref reader);
                if (!seen.Add(key))
                {
                    throw key == MetadataKey
                        ? Fail("duplicate \"__metadata__\" in header")
                        : Fail($"duplicate tensor name {Quote(key)} in header", key);
                }
                if (key == MetadataKey)
                {
                    ParseMetadata(ref reader);
                }
                else
                {
                    tensors.Add(ParseTensor(ref reader, key));
                }
            }

            // Only whitespace (the writers' space padding) may follow the object; the reader throws otherwise.
            if (reader.Read())
            {
                throw Fail($"unexpected {reader.TokenType} after the header JSON object");
            }
        }
        catch (JsonException ex)
        {
            throw new SafetensorsFormatException(Path, $"header is not valid JSON: {ex.Message}", null, ex);
        }

        CheckCoverage(tensors);

        foreach (var t in tensors)
        {
            var entry = new SafetensorsEntry(this, t.Name, t.DType, t.Shape, t.Count, (long)t.Begin, (long)(t.End - t.Begin));
            _entries.Add(entry);
            _byName.Add(t.Name, entry);
        }
    }

    private void ReadOrFail(ref Utf8JsonReader reader, string where)
    {
        // With the whole header as the final block, Read() throws on truncated JSON; this is a backstop.
        if (!reader.Read()) throw Fail($"{where} ends early");
    }

    /// <summary>
    /// Decodes a string or property name. UTF-8 was validated up front, but a <c>\uD800</c> escape can
    /// still encode a lone surrogate, which System.Text.Json reports as InvalidOperationException.
    /// </summary>
    private static string ReadString(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            throw new JsonException($"invalid string at byte {reader.TokenStartIndex}: {ex.Message}", ex);
        }
    }

    private void ParseMetadata(ref Utf8JsonReader reader)
    {
        ReadOrFail(ref reader, "\"__metadata__\"");
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail($"\"__metadata__\" must be an object mapping strings to strings, found {Describe(ref reader)}");
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            ReadOrFail(ref reader, "\"__metadata__\"");
            if (reader.TokenType == JsonTokenType.EndObject) break;
            string key = ReadString(ref reader);
            ReadOrFail(ref reader, "\"__metadata__\"");
            if (reader.TokenType != JsonTokenType.String)
            {
                throw Fail($"\"__metadata__\" value for key {Quote(key)} must be a string, found {Describe(ref reader)}");
            }
            if (!metadata.TryAdd(key, ReadString(ref reader)))
            {
                throw Fail($"duplicate key {Quote(key)} in \"__metadata__\"");
            }
        }
        _metadata = metadata;
    }

    private RawTensor ParseTensor(ref Utf8JsonReader reader, string name)
    {
        string q = Quote(name);
        ReadOrFail(ref reader, $"tensor {q}");
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail($"tensor {q}: entry must be a JSON object, found {Describe(ref reader)}", name);
        }

        string? dtypeText = null;
        List<long>? shape = null;
        ulong begin = 0, end = 0;
        bool haveOffsets = false;
        while (true)
        {
            ReadOrFail(ref reader, $"tensor {q}");
            if (reader.TokenType == JsonTokenType.EndObject) break;
            string field = ReadString(ref reader);
            ReadOrFail(ref reader, $"tensor {q}");
            switch (field)
            {
                case "dtype":
                    if (dtypeText is not null) throw Fail($"tensor {q}: duplicate field \"dtype\"", name);
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw Fail($"tensor {q}: dtype must be a string, found {Describe(ref reader)}", name);
                    }
                    dtypeText = ReadString(ref reader);
                    break;

                case "shape":
                    if (shape is not null) throw Fail($"tensor {q}: duplicate field \"shape\"", name);
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw Fail($"tensor {q}: shape must be a list of non-negative integers, found {Describe(ref reader)}", name);
                    }
                    shape = new List<long>();
                    while (true)
                    {
                        ReadOrFail(ref reader, $"tensor {q} shape");
                        if (reader.TokenType == JsonTokenType.EndArray) break;
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long dim) || dim < 0)
                        {
                            throw Fail($"tensor {q}: shape must be a list of non-negative integers, found {Describe(ref reader)}", name);
                        }
                        shape.Add(dim);
                    }
                    break;

                case "data_offsets":
                    if (haveOffsets) throw Fail($"tensor {q}: duplicate field \"data_offsets\"", name);
                    haveOffsets = true;
                    (begin, end) = ParseOffsets(ref reader, name);
                    break;

                default:
                    throw Fail($"tensor {q}: unknown field {Quote(field)}", name);
            }
        }

        if (dtypeText is null) throw Fail($"tensor {q}: missing field \"dtype\"", name);
        if (shape is null) throw Fail($"tensor {q}: missing field \"shape\"", name);
        if (!haveOffsets) throw Fail($"tensor {q}: missing field \"data_offsets\"", name);

        if (!SafetensorsDTypes.TryParse(dtypeText, out var dtype))
        {
            throw Fail($"tensor {q}: unknown dtype {Quote(dtypeText)} (supported: "
                + string.Join(", ", SafetensorsDTypes.All.Select(d => d.ToHeaderString())) + ")", name);
        }
        if (begin > end)
        {
            throw Fail($"tensor {q}: data_offsets [{begin}, {end}] end before they begin", name);
        }

        long[] dims = shape.ToArray();
        long? count = SafetensorsDTypes.TryElementCount(dims);
        long? needed = dtype.TryByteLength(dims);
        if (count is null || needed is null)
        {
            throw Fail($"tensor {q}: shape {FormatShape(dims)} of {dtypeText} is too large", name);
        }
        if (end - begin != (ulong)needed.Value)
        {
            throw Fail($"tensor {q}: byte length mismatch: dtype {dtypeText} shape {FormatShape(dims)} needs "
                + $"{needed.Value} bytes (expected) but data_offsets [{begin}, {end}] span {end - begin} bytes (actual)", name);
        }
        return new RawTensor(name, dtype, dims, count.Value, begin, end);
    }

    private (ulong Begin, ulong End) ParseOffsets(ref Utf8JsonReader reader, string name)
    {
        string q = Quote(name);
        string problem = $"tensor {q}: data_offsets must be a list of exactly two non-negative integers";
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Fail($"{problem}, found {Describe(ref reader)}", name);
        }
        Span<ulong> values = stackalloc ulong[2];
        int n = 0;
        while (true)
        {
            ReadOrFail(ref reader, $"tensor {q} data_offsets");
            if (reader.TokenType == JsonTokenType.EndArray) break;
            if (n == 2) throw Fail($"{problem}, found more than two", name);
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out ulong v))
            {
                throw Fail($"{problem}, found {Describe(ref reader)}", name);
            }
            values[n++] = v;
        }
        if (n != 2) throw Fail($"{problem}, found {n}", name);
        return (values[0], values[1]);
    }

    /// <summary>
    /// The tensors must tile [0, DataLength) exactly: sorted by (begin, end), each starts where the
    /// previous one ended. Zero-size tensors (begin == end) fit anywhere on that chain.
    /// </summary>
    private void CheckCoverage(List<RawTensor> tensors)
    {
        var sorted = tensors.ToArray();
        Array.Sort(sorted, static (a, b) =>
        {
            int c = a.Begin.CompareTo(b.Begin);
            return c != 0 ? c : a.End.CompareTo(b.End);
        });

        ulong position = 0;
        RawTensor? previous = null;
        foreach (var t in sorted)
        {
            if (t.Begin > position)
            {
                throw previous is RawTensor p
                    ? Fail($"gap in data region: bytes [{position}, {t.Begin}) between tensors {Quote(p.Name)} and {Quote(t.Name)} belong to no tensor", t.Name)
                    : Fail($"gap in data region: bytes [0, {t.Begin}) before tensor {Quote(t.Name)} belong to no tensor", t.Name);
            }
            if (t.Begin < position)
            {
                var p = previous!.Value;
                throw Fail($"tensors {Quote(p.Name)} [{p.Begin}, {p.End}) and {Quote(t.Name)} [{t.Begin}, {t.End}) overlap", t.Name);
            }
            position = t.End;
            previous = t;
        }

        if (position != (ulong)DataLength)
        {
            string last = previous is RawTensor l ? $" (last tensor {Quote(l.Name)} ends at {l.End})" : " (no tensors)";
            throw position < (ulong)DataLength
                ? Fail($"data region length {DataLength} != end of tensors {position}: {(ulong)DataLength - position} trailing bytes belong to no tensor{last}", previous?.Name)
                : Fail($"data region length {DataLength} != end of tensors {position}: file too short for its tensors{last}", previous?.Name);
        }
    }

    private static string Describe(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                string raw = Encoding.UTF8.GetString(reader.ValueSpan.Length > 40 ? reader.ValueSpan[..40] : reader.ValueSpan);
                return reader.ValueSpan.Length > 40 ? $"number {raw}..." : $"number {raw}";
            case JsonTokenType.String: return $"string {Quote(ReadString(ref reader))}";
            case JsonTokenType.StartObject: return "an object";
            case JsonTokenType.StartArray: return "a list";
            case JsonTokenType.True:
            case JsonTokenType.False: return "a boolean";
            case JsonTokenType.Null: return "null";
            default: return reader.TokenType.ToString();
        }
    }

    /// <summary>Quotes a name for an error message, truncated so a hostile header cannot bloat messages.</summary>
    internal static string Quote(string s) =>
        s.Length <= 120 ? $"'{s}'" : $"'{s[..120]}...' ({s.Length} chars)";

    internal static string FormatShape(long[] shape) =>
        shape.Length <= 16
            ? "[" + string.Join(", ", shape) + "]"
            : "[" + string.Join(", ", shape.Take(16)) + $", ... ({shape.Length} dims)]";
}
