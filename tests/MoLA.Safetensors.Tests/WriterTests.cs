namespace MoLA.Safetensors.Tests;

public sealed class WriterTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string ExistingFile(out byte[] original)
    {
        string path = _dir.NewFile("target");
        SafetensorsWriter.Write(path, [("old", SafetensorsDType.I32, [2], new byte[] { 1, 0, 0, 0, 2, 0, 0, 0 })],
            new Dictionary<string, string> { ["v"] = "1" });
        original = File.ReadAllBytes(path);
        return path;
    }

    private void AssertUntouched(string path, byte[] original)
    {
        Assert.Equal(original, File.ReadAllBytes(path));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp-*"));
    }

    [Fact]
    public void Failing_callback_leaves_no_temp_file_and_old_file_intact()
    {
        string path = ExistingFile(out byte[] original);
        string? seenTemp = null;
        var ex = Assert.Throws<IOException>(() => SafetensorsWriter.Write(path,
            [new SafetensorsTensorSpec("a", SafetensorsDType.F32, [4]), new SafetensorsTensorSpec("b", SafetensorsDType.F32, [4])],
            (spec, stream) =>
            {
                seenTemp = Directory.GetFiles(_dir.Path, "*.tmp-*").Single();
                if (spec.Name == "b") throw new IOException("source tensor unavailable");
                stream.Write(new byte[16]);
            }));
        Assert.Equal("source tensor unavailable", ex.Message);
        Assert.StartsWith(path + ".tmp-", seenTemp);
        AssertUntouched(path, original);
    }

    [Fact]
    public void Callback_writing_too_few_bytes_fails_atomically()
    {
        string path = ExistingFile(out byte[] original);
        var ex = Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Write(path,
            [new SafetensorsTensorSpec("a", SafetensorsDType.F16, [3])], (_, s) => s.Write(new byte[5])));
        Assert.Contains("tensor 'a': data callback wrote 5 bytes, expected exactly 6", ex.Message);
        AssertUntouched(path, original);
    }

    [Fact]
    public void Callback_writing_too_many_bytes_fails_even_if_it_swallows_the_error()
    {
        string path = ExistingFile(out byte[] original);
        var ex = Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Write(path,
            [new SafetensorsTensorSpec("a", SafetensorsDType.U8, [3])], (_, s) =>
            {
                try { s.Write(new byte[4]); } catch (InvalidOperationException) { }
                s.Write(new byte[3]);
            }));
        Assert.Contains("tensor 'a': data callback wrote more than 3 bytes, expected exactly 3", ex.Message);
        AssertUntouched(path, original);
    }

    [Theory]
    [InlineData("")]
    [InlineData("__metadata__")]
    public void Invalid_names_are_rejected_before_any_file_is_created(string name)
    {
        string path = ExistingFile(out byte[] original);
        Assert.Throws<ArgumentException>(() =>
            SafetensorsWriter.Write(path, [(name, SafetensorsDType.U8, [1], new byte[1])], null));
        AssertUntouched(path, original);
    }

    [Fact]
    public void Names_with_unpaired_surrogates_are_rejected()
    {
        string path = ExistingFile(out byte[] original);
        var ex = Assert.Throws<ArgumentException>(() =>
            SafetensorsWriter.Write(path, [("bad\uD800name", SafetensorsDType.U8, [1], new byte[1])], null));
        Assert.Contains("unpaired surrogate", ex.Message);
        AssertUntouched(path, original);
    }

    [Fact]
    public void Duplicate_names_are_rejected()
    {
        string path = ExistingFile(out byte[] original);
        var ex = Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path,
            [("x", SafetensorsDType.U8, [1], new byte[1]), ("x", SafetensorsDType.U8, [1], new byte[1])], null));
        Assert.Contains("duplicate tensor name 'x'", ex.Message);
        AssertUntouched(path, original);
    }

    [Theory]
    [InlineData(SafetensorsDType.F32, new long[] { 2, 2 }, 15, "tensor 'w': data is 15 bytes but F32 shape [2, 2] needs 16 bytes")]
    [InlineData(SafetensorsDType.BF16, new long[] { }, 4, "tensor 'w': data is 4 bytes but BF16 shape [] needs 2 bytes")]
    [InlineData(SafetensorsDType.I64, new long[] { 0 }, 8, "tensor 'w': data is 8 bytes but I64 shape [0] needs 0 bytes")]
    public void Data_length_must_match_shape(SafetensorsDType dtype, long[] shape, int length, string expected)
    {
        string path = ExistingFile(out byte[] original);
        var ex = Assert.Throws<ArgumentException>(() =>
            SafetensorsWriter.Write(path, [("w", dtype, shape, new byte[length])], null));
        Assert.Contains(expected, ex.Message);
        AssertUntouched(path, original);
    }

    [Fact]
    public void Negative_or_overflowing_shapes_and_bad_metadata_are_rejected()
    {
        string path = ExistingFile(out byte[] original);
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [("w", SafetensorsDType.U8, [-1], new byte[0])], null));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path,
            [new SafetensorsTensorSpec("w", SafetensorsDType.F64, [long.MaxValue / 2])], (_, _) => { }));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path,
            [new SafetensorsTensorSpec("w", (SafetensorsDType)99, [1])], (_, _) => { }));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path,
            [("w", SafetensorsDType.U8, [1], new byte[1])], new Dictionary<string, string> { ["k"] = null! }));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path,
            [("w", SafetensorsDType.U8, [1], new byte[1])], new Dictionary<string, string> { ["k\uDC00"] = "v" }));
        AssertUntouched(path, original);
    }

    [Fact]
    public void Failure_without_existing_target_leaves_nothing()
    {
        string path = _dir.NewFile("fresh");
        Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Write(path,
            [new SafetensorsTensorSpec("a", SafetensorsDType.U8, [1])], (_, _) => throw new InvalidOperationException("boom")));
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Streaming_overload_writes_in_chunks_and_overwrites_target()
    {
        string path = ExistingFile(out _);
        var specs = new[]
        {
            new SafetensorsTensorSpec("big", SafetensorsDType.F32, [1000, 300]),
            new SafetensorsTensorSpec("small", SafetensorsDType.U8, [3]),
        };
        var order = new List<string>();
        SafetensorsWriter.Write(path, specs, (spec, stream) =>
        {
            order.Add(spec.Name);
            Assert.True(stream.CanWrite);
            Assert.False(stream.CanSeek);
            var chunk = new byte[4096];
            long left = spec.ByteLength;
            byte value = 0;
            while (left > 0)
            {
                int n = (int)Math.Min(chunk.Length, left);
                for (int i = 0; i < n; i++) chunk[i] = value++;
                stream.Write(chunk, 0, n);
                left -= n;
            }
            Assert.Equal(spec.ByteLength, stream.Position);
            stream.Dispose(); // must not close the file being written
        }, new Dictionary<string, string> { ["v"] = "2" });

        Assert.Equal(["big", "small"], order);
        using var f = SafetensorsFile.Open(path);
        Consistency.Check(f, new FileInfo(path).Length);
        Assert.Equal("2", f.Metadata["v"]);
        Assert.False(f.TryGet("old", out _));
        var big = f.GetBytes(f.Get("big"));
        Assert.Equal(1_200_000, big.Length);
        for (int i = 0; i < big.Length; i += 9973) Assert.Equal((byte)i, big[i]);
        Assert.Equal(new byte[] { 0, 1, 2 }, f.GetBytes(f.Get("small")).ToArray());
    }

    [Fact]
    public void Async_writes_in_the_callback_are_counted()
    {
        string path = _dir.NewFile();
        SafetensorsWriter.Write(path, [new SafetensorsTensorSpec("a", SafetensorsDType.I16, [2])],
            (_, s) => s.WriteAsync(new byte[] { 1, 2, 3, 4 }).AsTask().GetAwaiter().GetResult());
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, f.GetBytes(f.Get("a")).ToArray());
    }

    [Fact]
    public void Stream_cannot_be_used_after_its_callback()
    {
        string path = _dir.NewFile();
        Stream? kept = null;
        SafetensorsWriter.Write(path, [new SafetensorsTensorSpec("a", SafetensorsDType.U8, [1])],
            (_, s) => { kept = s; s.WriteByte(5); });
        Assert.Throws<InvalidOperationException>(() => kept!.WriteByte(1));
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(5, f.GetBytes(f.Get("a"))[0]);
    }

    [Fact]
    public void Missing_directory_is_an_io_error_and_leaves_nothing()
    {
        string path = Path.Combine(_dir.Path, "no-such-dir", "x.safetensors");
        Assert.Throws<DirectoryNotFoundException>(() =>
            SafetensorsWriter.Write(path, [("a", SafetensorsDType.U8, [1], new byte[1])], null));
        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }
}
