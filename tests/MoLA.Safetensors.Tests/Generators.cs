using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace MoLA.Safetensors.Tests;

/// <summary>One tensor to write: name, dtype, shape and matching bytes.</summary>
public sealed record TensorCase(string Name, SafetensorsDType DType, long[] Shape, byte[] Data)
{
    public override string ToString() => $"{Name}:{DType}[{string.Join(",", Shape)}]";
}

/// <summary>A valid tensor set plus metadata (null or a string map).</summary>
public sealed record ValidSet(List<TensorCase> Tensors, Dictionary<string, string>? Metadata)
{
    public override string ToString() =>
        $"[{string.Join("; ", Tensors)}] meta={(Metadata is null ? "null" : string.Join(",", Metadata))}";

    public void WriteTo(string path) =>
        SafetensorsWriter.Write(path, Tensors.Select(t => (t.Name, t.DType, t.Shape, (ReadOnlyMemory<byte>)t.Data)), Metadata);
}

/// <summary>One tensor of a hand-assembled header: every field is raw JSON text, with the value it means when valid.</summary>
public sealed record HeaderTensor(string Name, string DTypeText, string ShapeJson, long[]? Shape, string OffsetsJson, ulong[]? Offsets)
{
    public string Json => $"{Quote(Name)}:{{\"dtype\":{Quote(DTypeText)},\"shape\":{ShapeJson},\"data_offsets\":{OffsetsJson}}}";

    public static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}

/// <summary>A generated header (possibly invalid) with a data-region length; <see cref="ExpectedValid"/> is an independent oracle.</summary>
public sealed record HeaderCase(List<HeaderTensor> Tensors, string? MetadataJson, bool MetadataValid, int DataLength)
{
    public string Json =>
        "{" + string.Join(",", (MetadataJson is null ? [] : new[] { "\"__metadata__\":" + MetadataJson })
            .Concat(Tensors.Select(t => t.Json))) + "}";

    public override string ToString() => $"{Json} + {DataLength} data bytes";

    public bool ExpectedValid
    {
        get
        {
            if (!MetadataValid) return false;
            if (Tensors.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count() != Tensors.Count) return false;
            var spans = new List<(ulong B, ulong E)>();
            foreach (var t in Tensors)
            {
                if (!SafetensorsDTypes.TryParse(t.DTypeText, out var dtype) || t.Shape is null || t.Offsets is null) return false;
                ulong b = t.Offsets[0], e = t.Offsets[1];
                if (b > e) return false;
                long numel = t.Shape.Aggregate(1L, (a, d) => a * d); // dims are tiny: no overflow
                if (e - b != (ulong)(numel * dtype.ElementSize())) return false;
                spans.Add((b, e));
            }
            ulong pos = 0;
            foreach (var (b, e) in spans.OrderBy(s => s.B).ThenBy(s => s.E))
            {
                if (b != pos) return false;
                pos = e;
            }
            return pos == (ulong)DataLength;
        }
    }
}

public static class Generators
{
    private static readonly string[] NameChars = ["a", "b", "z", "0", "7", ".", "_", " ", "é", "😀", "\"", "\\"];

    public static readonly Gen<string> Name =
        Gen.Choose(1, 6).SelectMany(n => Gen.ArrayOf(Gen.Elements(NameChars), n)).Select(parts => string.Concat(parts));

    public static readonly Gen<long[]> Shape =
        Gen.Choose(0, 3).SelectMany(rank => Gen.ArrayOf(Gen.Frequency((1, Gen.Constant(0)), (6, Gen.Choose(1, 5))), rank))
            .Select(dims => dims.Select(d => (long)d).ToArray());

    public static readonly Gen<SafetensorsDType> DType = Gen.Elements(SafetensorsDTypes.All.ToArray());

    public static readonly Gen<TensorCase> Tensor =
        from name in Name
        from dtype in DType
        from shape in Shape
        from seed in Gen.Choose(0, int.MaxValue)
        select new TensorCase(name, dtype, shape, Bytes(seed, (int)dtype.TryByteLength(shape)!.Value));

    public static readonly Gen<Dictionary<string, string>?> Metadata =
        Gen.Frequency(
            (1, Gen.Constant<Dictionary<string, string>?>(null)),
            (3, Gen.Choose(0, 4).SelectMany(n => Gen.ListOf(Gen.Zip(Name, Name), n))
                .Select(pairs => (Dictionary<string, string>?)pairs.DistinctBy(p => p.Item1).ToDictionary(p => p.Item1, p => p.Item2))));

    public static readonly Gen<ValidSet> Valid =
        from n in Gen.Choose(0, 6)
        from tensors in Gen.ListOf(Tensor, n)
        from metadata in Metadata
        select new ValidSet(tensors.DistinctBy(t => t.Name).ToList(), metadata);

    public static byte[] Bytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// How to replace a u64 header length: Relative adds a small delta to the real length, otherwise
    /// Value is used as is (uniformly random over the full range, or an edge value).
    /// </summary>
    public static readonly Gen<(bool Relative, ulong Value)> DeclaredLength =
        Gen.Frequency(
            (3, Gen.ArrayOf(Gen.Choose(0, 255), 8).Select(b => (false, BitConverter.ToUInt64(b.Select(x => (byte)x).ToArray())))),
            (3, Gen.Choose(-24, 24).Select(d => (true, unchecked((ulong)(long)d)))),
            (2, Gen.Elements(0UL, 1UL, 2UL, 7UL, 8UL, 99_999_999UL, 100_000_000UL, 100_000_001UL,
                (ulong)int.MaxValue, (ulong)int.MaxValue + 1, (ulong)long.MaxValue, (ulong)long.MaxValue + 1, ulong.MaxValue - 8, ulong.MaxValue)
                .Select(v => (false, v))));

    private static readonly string[] ValidDTypeTexts = SafetensorsDTypes.All.Select(d => d.ToHeaderString()).ToArray();
    private static readonly string[] BadDTypeTexts = ["f32", "F8_E4M3", "U16", "", "F32 ", "C64"];
    private static readonly string[] BadShapeJson = ["[-1]", "[1.5]", "[\"2\"]", "null", "3", "[[1]]", "[1e1]", "[18446744073709551616]", "{}", "[true]"];
    private static readonly string[] BadOffsetsJson = ["[0]", "[]", "[0,1,2]", "[-1,3]", "[0,1.0]", "[\"0\",1]", "null", "[0,18446744073709551616]", "{\"a\":1}"];
    private static readonly string[] HeaderNames = ["a", "b", "c", "d", "e", "f", "g", "h", "w.0", "x y", "ü", "__Metadata__"];

    private static Gen<HeaderTensor> HeaderTensorAt(ulong begin) =>
        from name in Gen.Elements(HeaderNames)
        from dtypeText in Gen.Frequency((12, Gen.Elements(ValidDTypeTexts)), (1, Gen.Elements(BadDTypeTexts)))
        from shape in Gen.Frequency(
            (12, Shape.Select(s => (Json: "[" + string.Join(",", s) + "]", Value: (long[]?)s))),
            (1, Gen.Elements(BadShapeJson).Select(j => (Json: j, Value: (long[]?)null))))
        from offsetMode in Gen.Frequency((14, Gen.Constant(0)), (2, Gen.Constant(1)), (1, Gen.Constant(2)), (1, Gen.Constant(3)))
        from rb in Gen.Choose(0, 64)
        from re in Gen.Choose(0, 64)
        from badOffsets in Gen.Elements(BadOffsetsJson)
        let size = SafetensorsDTypes.TryParse(dtypeText, out var dt) ? dt.ElementSize() : 4
        let numel = shape.Value?.Aggregate(1L, (a, d) => a * d) ?? 1
        let offsets = offsetMode switch
        {
            0 => new[] { begin, begin + (ulong)(numel * size) },     // exact, contiguous
            1 => new[] { (ulong)rb, (ulong)re },                     // arbitrary small
            2 => new[] { ulong.MaxValue - (ulong)rb, ulong.MaxValue }, // near the top of u64
            _ => null,
        }
        select new HeaderTensor(name, dtypeText, shape.Json, shape.Value,
            offsets is null ? badOffsets : $"[{offsets[0]},{offsets[1]}]", offsets);

    private static Gen<List<HeaderTensor>> HeaderTensors(int count, ulong begin) =>
        count == 0
            ? Gen.Constant(new List<HeaderTensor>())
            : HeaderTensorAt(begin).SelectMany(t =>
                HeaderTensors(count - 1, t.Offsets is { } o && o[1] >= o[0] ? o[1] : begin)
                    .Select(rest => { rest.Insert(0, t); return rest; }));

    private static readonly (string Json, bool Valid)[] MetadataChoices =
    [
        ("{}", true), ("{\"format\":\"pt\"}", true), ("{\"a\":\"1\",\"b\":\"\"}", true),
        ("[]", false), ("null", false), ("{\"a\":1}", false), ("{\"a\":\"1\",\"a\":\"2\"}", false), ("{\"a\":[\"x\"]}", false), ("\"pt\"", false),
    ];

    public static readonly Gen<HeaderCase> Header =
        from count in Gen.Choose(0, 5)
        from tensors in HeaderTensors(count, 0)
        from shuffled in Gen.Shuffle(tensors.ToArray())
        from metadata in Gen.Frequency(
            (3, Gen.Constant<(string Json, bool Valid)?>(null)),
            (2, Gen.Elements(MetadataChoices).Select(m => ((string Json, bool Valid)?)m)))
        from lengthMode in Gen.Frequency((6, Gen.Constant(0)), (1, Gen.Constant(1)))
        from randomLength in Gen.Choose(0, 128)
        let end = tensors.Where(t => t.Offsets is not null).Select(t => t.Offsets![1]).Where(e => e <= 4096).DefaultIfEmpty(0UL).Max()
        select new HeaderCase(shuffled.ToList(), metadata?.Json, metadata?.Valid ?? true,
            lengthMode == 0 ? (int)end : randomLength);

    /// <summary>Interesting replacement bytes for header corruption (JSON punctuation, digits, invalid UTF-8).</summary>
    public static readonly Gen<byte> CorruptByte =
        Gen.Frequency(
            (2, Gen.Choose(0, 255).Select(b => (byte)b)),
            (3, Gen.Elements(Encoding.ASCII.GetBytes("{}[]\",:0123456789- \\eE.tfn"))),
            (1, Gen.Elements<byte>(0x00, 0x80, 0xC0, 0xFF, 0xE2)));
}
