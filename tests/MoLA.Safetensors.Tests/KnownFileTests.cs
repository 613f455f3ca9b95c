using System.Buffers.Binary;
using System.Text;

namespace MoLA.Safetensors.Tests;

/// <summary>
/// The Python `safetensors` package is not installed here, so this file is built byte by byte the way
/// it writes one (torch.save_file): compact JSON header with "__metadata__" first, tensors laid out
/// by decreasing alignment then name, header space-padded to a multiple of 8.
/// </summary>
public sealed class KnownFileTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Header =
        "{\"__metadata__\":{\"format\":\"pt\"}," +
        "\"bias\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[40,44]}," +
        "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}," +
        "\"emb\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[44,50]}," +
        "\"ids\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[16,24]}," +
        "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[50,53]}," +
        "\"pix\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[53,55]}," +
        "\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}," +
        "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[24,40]}}";

    private static readonly byte[] Data =
    [
        0x18, 0x2d, 0x44, 0x54, 0xfb, 0x21, 0x09, 0x40, // d      F64 [pi]
        0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // step   I64 42
        0xff, 0xff, 0xff, 0xff, 0x07, 0x00, 0x00, 0x00, // ids    I32 [-1, 7]
        0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, // weight F32 [[1, -2],
        0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x50, 0x40, //             [0.5, 3.25]]
        0x00, 0x3c, 0x00, 0xb8,                         // bias   F16 [1, -0.5]
        0x80, 0x3f, 0x00, 0x40, 0xc0, 0xbf,             // emb    BF16 [1, 2, -1.5]
        0x01, 0x00, 0x01,                               // mask   BOOL [true, false, true]
        0x00, 0xff,                                     // pix    U8 [0, 255]
    ];

    private static byte[] FileBytes()
    {
        byte[] json = Encoding.ASCII.GetBytes(Header);
        int padded = (json.Length + 7) / 8 * 8;
        var bytes = new List<byte>();
        bytes.AddRange(BitConverter.GetBytes((ulong)padded)); // little-endian host, as the format requires
        bytes.AddRange(json);
        bytes.AddRange(Enumerable.Repeat((byte)0x20, padded - json.Length));
        bytes.AddRange(Data);
        return bytes.ToArray();
    }

    [Fact]
    public void Reads_python_layout_file()
    {
        byte[] bytes = FileBytes();
        string path = _dir.WriteBytes(bytes);
        using var f = SafetensorsFile.Open(path);
        Consistency.Check(f, bytes.Length);

        Assert.Equal("pt", Assert.Single(f.Metadata).Value);
        Assert.Equal(["bias", "d", "emb", "ids", "mask", "pix", "step", "weight"], f.Entries.Select(e => e.Name));
        Assert.Equal(55, f.DataLength);

        Assert.Equal(Math.PI, BinaryPrimitives.ReadDoubleLittleEndian(f.GetBytes(f.Get("d"))));

        var step = f.Get("step");
        Assert.Equal(SafetensorsDType.I64, step.DType);
        Assert.Empty(step.Shape);
        Assert.Equal(42L, BinaryPrimitives.ReadInt64LittleEndian(f.GetBytes(step)));

        var ids = f.GetBytes(f.Get("ids"));
        Assert.Equal(-1, BinaryPrimitives.ReadInt32LittleEndian(ids));
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(ids[4..]));

        var weight = f.Get("weight");
        Assert.Equal([2L, 2L], weight.Shape);
        Assert.Equal(new float[] { 1f, -2f, 0.5f, 3.25f },
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.GetBytes(weight)).ToArray());

        var bias = f.GetBytes(f.Get("bias"));
        Assert.Equal((Half)1f, BinaryPrimitives.ReadHalfLittleEndian(bias));
        Assert.Equal((Half)(-0.5f), BinaryPrimitives.ReadHalfLittleEndian(bias[2..]));

        byte[] emb = f.GetBytes(f.Get("emb")).ToArray();
        float Bf16(int i) => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(emb.AsSpan(2 * i)) << 16);
        Assert.Equal([1f, 2f, -1.5f], new[] { Bf16(0), Bf16(1), Bf16(2) });

        Assert.Equal(new byte[] { 1, 0, 1 }, f.GetBytes(f.Get("mask")).ToArray());
        Assert.Equal(SafetensorsDType.BOOL, f.Get("mask").DType);
        Assert.Equal(new byte[] { 0, 255 }, f.GetBytes(f.Get("pix")).ToArray());
    }

    [Fact]
    public void Writer_reproduces_the_same_tensors()
    {
        string src = _dir.WriteBytes(FileBytes());
        using var f = SafetensorsFile.Open(src);
        string dst = _dir.NewFile();
        SafetensorsWriter.Write(dst,
            f.Entries.Select(e => new SafetensorsTensorSpec(e.Name, e.DType, e.Shape)),
            (spec, stream) => stream.Write(f.GetBytes(f.Get(spec.Name))),
            f.Metadata);
        using var g = SafetensorsFile.Open(dst);
        Assert.Equal(f.Entries.Select(e => e.ToString().Split('@')[0]), g.Entries.Select(e => e.ToString().Split('@')[0]));
        foreach (var e in f.Entries)
        {
            Assert.True(f.GetBytes(e).SequenceEqual(g.GetBytes(g.Get(e.Name))));
        }
        Assert.Equal("pt", g.Metadata["format"]);
    }

    [Fact]
    public void Empty_object_header_is_a_valid_empty_file()
    {
        byte[] bytes = Raw.Build("{}", []);
        using var f = SafetensorsFile.Open(_dir.WriteBytes(bytes));
        Assert.Empty(f.Entries);
        Assert.Empty(f.Metadata);
        Assert.Equal(0, f.DataLength);

        // Unpadded header, other JSON whitespace as padding, and a bare "{}" are all accepted.
        using var g = SafetensorsFile.Open(_dir.WriteBytes(Raw.Build("{}", [], padTo: 1)));
        Assert.Empty(g.Entries);
        using var h = SafetensorsFile.Open(_dir.WriteBytes(Raw.Build("{ }\n\t \r", [], padTo: 1)));
        Assert.Empty(h.Entries);
    }

    [Fact]
    public void Zero_size_tensors_may_share_offsets()
    {
        const string header =
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}," +
            "\"z0\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}," +
            "\"z4\":{\"dtype\":\"I64\",\"shape\":[3,0],\"data_offsets\":[4,4]}," +
            "\"z4b\":{\"dtype\":\"BOOL\",\"shape\":[0,7],\"data_offsets\":[4,4]}," +
            "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}," +
            "\"z6\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[6,6]}}";
        byte[] bytes = Raw.Build(header, [1, 2, 3, 4, 5, 6]);
        using var f = SafetensorsFile.Open(_dir.WriteBytes(bytes));
        Consistency.Check(f, bytes.Length);
        Assert.Equal(6, f.Entries.Count);
        Assert.Equal(0, f.Get("z4").ElementCount);
    }
}
