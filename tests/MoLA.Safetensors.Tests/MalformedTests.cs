using System.Buffers.Binary;
using System.Text;

namespace MoLA.Safetensors.Tests;

public sealed class MalformedTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private SafetensorsFormatException Refuse(byte[] bytes)
    {
        string path = _dir.WriteBytes(bytes);
        var ex = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(path));
        Assert.StartsWith(path + ": ", ex.Message);
        Assert.Equal(path, ex.FilePath);
        return ex;
    }

    private static string T(string name, string dtype, string shape, string offsets) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":{offsets}}}";

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    public void File_shorter_than_8_bytes(int length)
    {
        var ex = Refuse(new byte[length]);
        Assert.Contains($"file is {length} bytes, shorter than the 8-byte header length prefix", ex.Message);
    }

    [Fact]
    public void Declared_header_past_end_of_file()
    {
        var ex = Refuse(Raw.Build("{}", [], declaredLength: 100));
        Assert.Contains("declared header length 100 runs past end of file (only 8 bytes follow the prefix)", ex.Message);
    }

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(1UL << 40)]
    [InlineData(long.MaxValue)]
    [InlineData(ulong.MaxValue)]
    public void Huge_declared_header_is_refused_before_allocating(ulong declared)
    {
        byte[] bytes = Raw.Build("{}", [], declaredLength: declared);
        string path = _dir.WriteBytes(bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"huge declared header length {declared} exceeds the 100000000-byte limit", ex.Message);
        Assert.InRange(allocated, 0, 1 << 20);
    }

    [Fact]
    public void Large_valid_header_is_parsed_from_the_mapping_without_copying_it()
    {
        // 20 MB of padding: parsing must not allocate anything of that order.
        byte[] json = new byte[20_000_000];
        json.AsSpan().Fill((byte)' ');
        json[0] = (byte)'{';
        json[1] = (byte)'}';
        string path = _dir.WriteBytes(Raw.Build(json, []));
        long before = GC.GetAllocatedBytesForCurrentThread();
        using (var f = SafetensorsFile.Open(path))
        {
            Assert.Empty(f.Entries);
        }
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1 << 20);
    }

    [Theory]
    [InlineData(" {}", "header does not start with '{' (first byte 0x20)")]
    [InlineData("[]", "header does not start with '{' (first byte 0x5B)")]
    [InlineData("\"x\"", "header does not start with '{'")]
    public void Header_must_start_with_brace(string header, string expected)
    {
        var ex = Refuse(Raw.Build(header, [], padTo: 1));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Empty_header_is_refused()
    {
        var ex = Refuse(Raw.Build("", []));
        Assert.Contains("header is empty", ex.Message);
    }

    [Fact]
    public void Header_must_be_utf8()
    {
        byte[] json = [.. "{\"a"u8, 0xFF, 0xFE, .. "\":{}}"u8];
        var ex = Refuse(Raw.Build(json, []));
        Assert.Contains("header is not valid UTF-8 JSON", ex.Message);
    }

    [Theory]
    [InlineData("{\"a\":}")]
    [InlineData("{\"a\"")]
    [InlineData("{")]
    [InlineData("{} x")]
    [InlineData("{}{}")]
    [InlineData("{}\0\0")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},}")]
    [InlineData("{/*c*/}")]
    [InlineData("{'a':1}")]
    public void Header_must_be_json(string header)
    {
        var ex = Refuse(Raw.Build(header, [], padTo: 1));
        Assert.Contains("header is not valid JSON", ex.Message);
    }

    [Theory]
    [InlineData("{\"\\ud800\":{}}")]
    [InlineData("{\"__metadata__\":{\"k\":\"\\udc00x\"}}")]
    [InlineData("{\"w\":{\"dtype\":\"\\ud83d\",\"shape\":[],\"data_offsets\":[0,4]}}")]
    public void Escaped_lone_surrogates_are_format_errors(string header)
    {
        var ex = Refuse(Raw.Build(header, []));
        Assert.Contains("header is not valid JSON: invalid string at byte", ex.Message);
    }

    [Fact]
    public void Deep_nesting_is_refused_quickly()
    {
        string header = "{\"__metadata__\":" + new string('[', 100_000) + new string(']', 100_000) + "}";
        var ex = Refuse(Raw.Build(header, []));
        Assert.Contains("\"__metadata__\" must be an object", ex.Message);
        string header2 = "{\"x\":{\"shape\":[" + new string('[', 100_000) + new string(']', 100_000) + "]}}";
        ex = Refuse(Raw.Build(header2, []));
        Assert.Contains("shape must be a list of non-negative integers, found a list", ex.Message);
    }

    [Theory]
    [InlineData("F8_E4M3")]
    [InlineData("f32")]
    [InlineData("U16")]
    [InlineData("")]
    public void Unknown_dtype_names_tensor_and_dtype(string dtype)
    {
        var ex = Refuse(Raw.Build("{" + T("layer.w", dtype, "[1]", "[0,4]") + "}", new byte[4]));
        Assert.Contains($"tensor 'layer.w': unknown dtype '{dtype}' (supported: F32, F16, BF16", ex.Message);
        Assert.Equal("layer.w", ex.TensorName);
    }

    [Theory]
    [InlineData("[-1]", "found number -1")]
    [InlineData("[1.5]", "found number 1.5")]
    [InlineData("[1e2]", "found number 1e2")]
    [InlineData("[100000000000000000000]", "found number 100000000000000000000")]
    [InlineData("[\"2\"]", "found string '2'")]
    [InlineData("[[1]]", "found a list")]
    [InlineData("[null]", "found null")]
    [InlineData("3", "found number 3")]
    [InlineData("{}", "found an object")]
    [InlineData("true", "found a boolean")]
    public void Shape_must_be_list_of_non_negative_ints(string shape, string found)
    {
        var ex = Refuse(Raw.Build("{" + T("w", "F32", shape, "[0,4]") + "}", new byte[4]));
        Assert.Contains($"tensor 'w': shape must be a list of non-negative integers, {found}", ex.Message);
        Assert.Equal("w", ex.TensorName);
    }

    [Theory]
    [InlineData("[0]", "found 1")]
    [InlineData("[]", "found 0")]
    [InlineData("[0,4,8]", "found more than two")]
    [InlineData("[-1,4]", "found number -1")]
    [InlineData("[0,4.0]", "found number 4.0")]
    [InlineData("[\"0\",4]", "found string '0'")]
    [InlineData("[0,18446744073709551616]", "found number 18446744073709551616")]
    [InlineData("{\"b\":0}", "found an object")]
    public void Data_offsets_must_be_two_non_negative_ints(string offsets, string found)
    {
        var ex = Refuse(Raw.Build("{" + T("w", "F32", "[1]", offsets) + "}", new byte[4]));
        Assert.Contains($"tensor 'w': data_offsets must be a list of exactly two non-negative integers, {found}", ex.Message);
    }

    [Fact]
    public void Data_offsets_must_not_be_reversed()
    {
        var ex = Refuse(Raw.Build("{" + T("w", "U8", "[4]", "[4,0]") + "}", new byte[4]));
        Assert.Contains("tensor 'w': data_offsets [4, 0] end before they begin", ex.Message);
    }

    [Fact]
    public void Huge_offsets_do_not_overflow()
    {
        var ex = Refuse(Raw.Build("{" + T("w", "U8", "[0]", "[18446744073709551615,18446744073709551615]") + "}", []));
        Assert.Contains("gap in data region: bytes [0, 18446744073709551615) before tensor 'w'", ex.Message);
    }

    [Fact]
    public void Byte_length_must_match_shape_and_dtype()
    {
        var ex = Refuse(Raw.Build("{" + T("w", "F64", "[2]", "[0,12]") + "}", new byte[12]));
        Assert.Contains("tensor 'w': byte length mismatch: dtype F64 shape [2] needs 16 bytes (expected) but data_offsets [0, 12] span 12 bytes (actual)", ex.Message);
        Assert.Equal("w", ex.TensorName);
    }

    [Fact]
    public void Overflowing_shape_is_refused()
    {
        var ex = Refuse(Raw.Build("{" + T("w", "F32", "[4611686018427387904,4]", "[0,4]") + "}", new byte[4]));
        Assert.Contains("tensor 'w': shape [4611686018427387904, 4] of F32 is too large", ex.Message);
    }

    [Fact]
    public void Gap_between_tensors_names_both()
    {
        var ex = Refuse(Raw.Build("{" + T("a", "U8", "[2]", "[0,2]") + "," + T("b", "U8", "[2]", "[3,5]") + "}", new byte[5]));
        Assert.Contains("gap in data region: bytes [2, 3) between tensors 'a' and 'b' belong to no tensor", ex.Message);
    }

    [Fact]
    public void Gap_at_start_names_first_tensor()
    {
        var ex = Refuse(Raw.Build("{" + T("b", "U8", "[2]", "[1,3]") + "}", new byte[3]));
        Assert.Contains("gap in data region: bytes [0, 1) before tensor 'b'", ex.Message);
    }

    [Theory]
    [InlineData("[1,3]")]
    [InlineData("[0,2]")]
    [InlineData("[3,5]")]
    public void Overlap_names_both(string offsetsOfB)
    {
        var ex = Refuse(Raw.Build("{" + T("a", "U8", "[4]", "[0,4]") + "," + T("b", "U8", "[2]", offsetsOfB) + "}", new byte[6]));
        Assert.Matches(@"tensors '(a|b)' \[\d+, \d+\) and '(a|b)' \[\d+, \d+\) overlap", ex.Message);
        Assert.Contains("'a' [0, 4)", ex.Message);
        Assert.Contains($"'b' {offsetsOfB.Replace(",", ", ").Replace("]", ")")}", ex.Message);
    }

    [Fact]
    public void Zero_size_tensor_inside_another_is_an_overlap()
    {
        var ex = Refuse(Raw.Build("{" + T("a", "U8", "[4]", "[0,4]") + "," + T("z", "U8", "[0]", "[2,2]") + "}", new byte[4]));
        Assert.Contains("tensors 'a' [0, 4) and 'z' [2, 2) overlap", ex.Message);
    }

    [Fact]
    public void Trailing_bytes_after_last_tensor()
    {
        var ex = Refuse(Raw.Build("{" + T("a", "U8", "[4]", "[0,4]") + "}", new byte[6]));
        Assert.Contains("data region length 6 != end of tensors 4: 2 trailing bytes belong to no tensor (last tensor 'a' ends at 4)", ex.Message);
        var ex2 = Refuse(Raw.Build("{}", new byte[3]));
        Assert.Contains("data region length 3 != end of tensors 0", ex2.Message);
    }

    [Fact]
    public void Truncated_data_region()
    {
        var ex = Refuse(Raw.Build("{" + T("a", "U8", "[4]", "[0,4]") + "," + T("b", "F32", "[2]", "[4,12]") + "}", new byte[10]));
        Assert.Contains("data region length 10 != end of tensors 12: file too short for its tensors (last tensor 'b' ends at 12)", ex.Message);
    }

    [Theory]
    [InlineData("a", "a")]
    [InlineData("a", "\\u0061")]
    public void Duplicate_tensor_names(string first, string second)
    {
        var ex = Refuse(Raw.Build("{" + T(first, "U8", "[1]", "[0,1]") + "," + T(second, "U8", "[1]", "[1,2]") + "}", new byte[2]));
        Assert.Contains("duplicate tensor name 'a' in header", ex.Message);
        Assert.Equal("a", ex.TensorName);
    }

    [Fact]
    public void Duplicate_metadata_block()
    {
        var ex = Refuse(Raw.Build("{\"__metadata__\":{},\"__metadata__\":{}}", []));
        Assert.Contains("duplicate \"__metadata__\"", ex.Message);
    }

    [Theory]
    [InlineData("[]", "\"__metadata__\" must be an object mapping strings to strings, found a list")]
    [InlineData("null", "\"__metadata__\" must be an object mapping strings to strings, found null")]
    [InlineData("\"x\"", "\"__metadata__\" must be an object mapping strings to strings, found string 'x'")]
    [InlineData("{\"k\":1}", "\"__metadata__\" value for key 'k' must be a string, found number 1")]
    [InlineData("{\"k\":null}", "\"__metadata__\" value for key 'k' must be a string, found null")]
    [InlineData("{\"k\":{\"a\":\"b\"}}", "\"__metadata__\" value for key 'k' must be a string, found an object")]
    [InlineData("{\"k\":\"a\",\"k\":\"b\"}", "duplicate key 'k' in \"__metadata__\"")]
    public void Metadata_must_be_string_map(string metadata, string expected)
    {
        var ex = Refuse(Raw.Build("{\"__metadata__\":" + metadata + "}", []));
        Assert.Contains(expected, ex.Message);
    }

    [Theory]
    [InlineData("{\"w\":[]}", "tensor 'w': entry must be a JSON object, found a list")]
    [InlineData("{\"w\":{\"shape\":[0],\"data_offsets\":[0,0]}}", "tensor 'w': missing field \"dtype\"")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,0]}}", "tensor 'w': missing field \"shape\"")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[0]}}", "tensor 'w': missing field \"data_offsets\"")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", "tensor 'w': duplicate field \"dtype\"")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"shape\":[0],\"data_offsets\":[0,0]}}", "tensor 'w': duplicate field \"shape\"")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"data_offsets\":[0,0]}}", "tensor 'w': duplicate field \"data_offsets\"")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"extra\":1}}", "tensor 'w': unknown field 'extra'")]
    [InlineData("{\"w\":{\"dtype\":8,\"shape\":[0],\"data_offsets\":[0,0]}}", "tensor 'w': dtype must be a string, found number 8")]
    public void Tensor_entry_structure(string header, string expected)
    {
        var ex = Refuse(Raw.Build(header, []));
        Assert.Contains(expected, ex.Message);
        Assert.Equal("w", ex.TensorName);
    }

    [Fact]
    public void Long_names_are_truncated_in_messages()
    {
        string name = new('n', 10_000);
        var ex = Refuse(Raw.Build("{" + T(name, "X", "[1]", "[0,1]") + "}", new byte[1]));
        Assert.Contains("...' (10000 chars): unknown dtype 'X'", ex.Message);
        Assert.True(ex.Message.Length < 1000);
    }

    [Fact]
    public void Length_prefix_is_little_endian()
    {
        byte[] bytes = Raw.Build("{}", []);
        BinaryPrimitives.WriteUInt64BigEndian(bytes, 8);
        var ex = Refuse(bytes);
        Assert.Contains("huge declared header", ex.Message);
        Assert.Equal("{}      ", Encoding.ASCII.GetString(Raw.Build("{}", []), 8, 8));
    }
}
