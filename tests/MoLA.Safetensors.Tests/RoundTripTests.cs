using System.Buffers.Binary;
using System.Text;

namespace MoLA.Safetensors.Tests;

public sealed class RoundTripTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Pattern(int length, int seed) =>
        Enumerable.Range(0, length).Select(i => (byte)(i * 31 + seed * 7 + 1)).ToArray();

    [Fact]
    public void Every_dtype_with_scalar_zero_size_and_metadata_round_trips()
    {
        var tensors = new List<(string, SafetensorsDType, long[], ReadOnlyMemory<byte>)>();
        int seed = 0;
        foreach (var dtype in SafetensorsDTypes.All)
        {
            string t = dtype.ToHeaderString();
            int size = dtype.ElementSize();
            tensors.Add(($"{t}.matrix", dtype, [2, 3], Pattern(6 * size, seed++)));
            tensors.Add(($"{t}.scalar", dtype, [], Pattern(size, seed++)));
            tensors.Add(($"{t}.empty", dtype, [4, 0, 2], Array.Empty<byte>()));
            tensors.Add(($"{t}.vector", dtype, [5], Pattern(5 * size, seed++)));
        }
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\" ✓", ["empty"] = "" };

        string path = _dir.NewFile();
        SafetensorsWriter.Write(path, tensors, metadata);

        using var file = SafetensorsFile.Open(path);
        Consistency.Check(file, new FileInfo(path).Length);
        Assert.Equal(tensors.Count, file.Entries.Count);
        for (int i = 0; i < tensors.Count; i++)
        {
            var (name, dtype, shape, data) = tensors[i];
            var e = file.Entries[i];
            Assert.Equal(name, e.Name);
            Assert.Equal(dtype, e.DType);
            Assert.Equal(shape, e.Shape);
            Assert.True(data.Span.SequenceEqual(file.GetBytes(e)), name);
        }
        Assert.Equal(metadata.OrderBy(kv => kv.Key), file.Metadata.OrderBy(kv => kv.Key));

        var scalar = file.Get("F32.scalar");
        Assert.Empty(scalar.Shape);
        Assert.Equal(1, scalar.ElementCount);
        var empty = file.Get("BOOL.empty");
        Assert.Equal(0, empty.ByteLength);
        Assert.True(file.GetBytes(empty).IsEmpty);
    }

    [Fact]
    public void Layout_pads_header_to_8_and_keeps_data_in_given_order()
    {
        string path = _dir.NewFile();
        SafetensorsWriter.Write(path,
        [
            ("z", SafetensorsDType.U8, [3], new byte[] { 1, 2, 3 }),
            ("a", SafetensorsDType.I16, [1], new byte[] { 4, 5 }),
        ], null);

        byte[] bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.StartsWith("{\"z\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},\"a\":", header);
        string json = header.TrimEnd(' ');
        Assert.EndsWith("}", json);
        Assert.InRange(header.Length - json.Length, 0, 7);
        Assert.DoesNotContain("__metadata__", header);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, bytes[(8 + (int)n)..]);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(0, file.DataStart % 8);
        Assert.Equal(["z", "a"], file.Entries.Select(e => e.Name));
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void Zero_tensors_round_trip()
    {
        string path = _dir.NewFile();
        SafetensorsWriter.Write(path, Array.Empty<(string, SafetensorsDType, long[], ReadOnlyMemory<byte>)>(), new Dictionary<string, string> { ["k"] = "v" });
        using var file = SafetensorsFile.Open(path);
        Assert.Empty(file.Entries);
        Assert.Equal(0, file.DataLength);
        Assert.Equal("v", file.Metadata["k"]);
    }

    [Fact]
    public void Writer_output_is_deterministic()
    {
        var meta1 = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" };
        var meta2 = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" };
        string p1 = _dir.NewFile(), p2 = _dir.NewFile();
        (string, SafetensorsDType, long[], ReadOnlyMemory<byte>)[] t = [("x", SafetensorsDType.F32, [1], new byte[4])];
        SafetensorsWriter.Write(p1, t, meta1);
        SafetensorsWriter.Write(p2, t, meta2);
        Assert.Equal(File.ReadAllBytes(p1), File.ReadAllBytes(p2));
    }

    [Fact]
    public void Unicode_and_escaped_names_survive()
    {
        string path = _dir.NewFile();
        string[] names = ["ünï.cödé", "quote\"back\\slash", "tab\tnew\nline", "emoji😀", "<html>&+"];
        SafetensorsWriter.Write(path, names.Select(n => (n, SafetensorsDType.U8, new long[] { 1 }, (ReadOnlyMemory<byte>)new byte[] { 9 })), null);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(names, file.Entries.Select(e => e.Name));
    }

    [Fact]
    public void Pointer_matches_span_and_dispose_invalidates_access()
    {
        string path = _dir.NewFile();
        SafetensorsWriter.Write(path, [("w", SafetensorsDType.F32, [2], new byte[] { 0, 0, 128, 63, 0, 0, 0, 64 })], null);
        var file = SafetensorsFile.Open(path);
        var e = file.Get("w");
        nint p = file.GetPointer(e);
        var copy = new byte[8];
        System.Runtime.InteropServices.Marshal.Copy(p, copy, 0, 8);
        Assert.Equal(file.GetBytes(e).ToArray(), copy);
        Assert.Equal(1.0f, BitConverter.Int32BitsToSingle(System.Runtime.InteropServices.Marshal.ReadInt32(p)));
        Assert.Equal(2.0f, BitConverter.Int32BitsToSingle(System.Runtime.InteropServices.Marshal.ReadInt32(p, 4)));
        Assert.Equal(file.DataStart, 8 + file.HeaderLength);
        file.Dispose();
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.GetBytes(e).Length);
        Assert.Throws<ObjectDisposedException>(() => file.GetPointer(e));
    }

    [Fact]
    public void Entries_of_another_file_are_refused()
    {
        string p1 = _dir.NewFile(), p2 = _dir.NewFile();
        (string, SafetensorsDType, long[], ReadOnlyMemory<byte>)[] t = [("x", SafetensorsDType.U8, [1], new byte[1])];
        SafetensorsWriter.Write(p1, t, null);
        SafetensorsWriter.Write(p2, t, null);
        using var f1 = SafetensorsFile.Open(p1);
        using var f2 = SafetensorsFile.Open(p2);
        Assert.Throws<ArgumentException>(() => f2.GetBytes(f1.Get("x")).Length);
        Assert.False(f1.TryGet("y", out _));
        var ex = Assert.Throws<KeyNotFoundException>(() => f1.Get("y"));
        Assert.Contains("'y'", ex.Message);
    }

    [Fact]
    public void Open_file_can_be_replaced_atomically_and_keeps_old_bytes()
    {
        string path = _dir.NewFile();
        SafetensorsWriter.Write(path, [("x", SafetensorsDType.U8, [2], new byte[] { 1, 2 })], null);
        using var old = SafetensorsFile.Open(path);
        SafetensorsWriter.Write(path, [("x", SafetensorsDType.U8, [2], new byte[] { 7, 8 })], null);
        Assert.Equal(new byte[] { 1, 2 }, old.GetBytes(old.Get("x")).ToArray());
        using var fresh = SafetensorsFile.Open(path);
        Assert.Equal(new byte[] { 7, 8 }, fresh.GetBytes(fresh.Get("x")).ToArray());
    }

    [Fact]
    public void Missing_file_is_an_io_error_not_a_format_error()
    {
        Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Open(Path.Combine(_dir.Path, "nope.safetensors")));
    }
}
