using System.Buffers.Binary;
using System.Text;

namespace MoLA.Safetensors.Tests;

/// <summary>A private temp directory per test class instance, removed afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mola-st-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    private int _counter;

    /// <summary>A fresh file path inside the directory.</summary>
    public string NewFile(string stem = "f") =>
        System.IO.Path.Combine(Path, $"{stem}-{Interlocked.Increment(ref _counter)}.safetensors");

    public string WriteBytes(byte[] bytes, string stem = "raw")
    {
        string p = NewFile(stem);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Builds files byte by byte, bypassing the writer, so the reader is tested against the spec.</summary>
public static class Raw
{
    /// <summary>u64 LE length, the header (space-padded to a multiple of <paramref name="padTo"/>), then data.</summary>
    public static byte[] Build(string headerJson, byte[] data, int padTo = 8, ulong? declaredLength = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(headerJson);
        return Build(json, data, padTo, declaredLength);
    }

    public static byte[] Build(byte[] json, byte[] data, int padTo = 8, ulong? declaredLength = null)
    {
        int padded = padTo <= 1 ? json.Length : (json.Length + padTo - 1) / padTo * padTo;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)padded);
        json.CopyTo(bytes, 8);
        bytes.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        data.CopyTo(bytes, 8 + padded);
        return bytes;
    }
}

/// <summary>Checks every invariant a successfully opened file promises.</summary>
public static class Consistency
{
    public static void Check(SafetensorsFile f, long fileLength)
    {
        Assert.Equal(fileLength, f.FileLength);
        Assert.Equal(8 + f.HeaderLength, f.DataStart);
        Assert.Equal(fileLength, f.DataStart + f.DataLength);
        Assert.InRange(f.HeaderLength, 1, SafetensorsFile.MaxHeaderLength);
        Assert.NotNull(f.Metadata);

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in f.Entries)
        {
            Assert.True(names.Add(e.Name), $"duplicate entry {e.Name}");
            Assert.NotEqual("__metadata__", e.Name);
            Assert.True(f.TryGet(e.Name, out var same));
            Assert.Same(e, same);
            Assert.All(e.Shape, d => Assert.True(d >= 0));
            Assert.Equal(SafetensorsDTypes.TryElementCount(e.Shape), e.ElementCount);
            Assert.Equal(e.ElementCount * e.DType.ElementSize(), e.ByteLength);
            Assert.InRange(e.DataOffset, 0, f.DataLength);
            Assert.InRange(e.DataOffset + e.ByteLength, e.DataOffset, f.DataLength);
            Assert.Equal(e.ByteLength, f.GetBytes(e).Length);
        }

        // The entries tile [0, DataLength) exactly.
        long position = 0;
        foreach (var e in f.Entries.OrderBy(e => e.DataOffset).ThenBy(e => e.ByteLength))
        {
            Assert.Equal(position, e.DataOffset);
            position += e.ByteLength;
        }
        Assert.Equal(f.DataLength, position);
    }
}
