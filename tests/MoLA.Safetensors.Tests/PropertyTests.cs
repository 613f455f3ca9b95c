using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace MoLA.Safetensors.Tests;

/// <summary>
/// Round-trip properties on generated tensor sets, and robustness properties on generated malformed
/// files: Open must either succeed with a fully consistent result or throw SafetensorsFormatException.
/// </summary>
public sealed class PropertyTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Opens on a worker so a hang fails the test instead of stalling the run.</summary>
    private static (SafetensorsFile? File, Exception? Error) OpenGuarded(string path)
    {
        var task = Task.Run(() => SafetensorsFile.Open(path));
        try
        {
            if (!task.Wait(TimeSpan.FromSeconds(10))) throw new TimeoutException($"Open({path}) did not finish in 10 s");
            return (task.Result, null);
        }
        catch (AggregateException ex) when (ex.InnerException is not null)
        {
            return (null, ex.InnerException);
        }
    }

    /// <summary>Asserts the "consistent success or SafetensorsFormatException" contract; returns whether it opened.</summary>
    private static bool AssertSafeOutcome(string path, byte[] bytes)
    {
        var (file, error) = OpenGuarded(path);
        if (error is not null)
        {
            if (error is not SafetensorsFormatException fe)
            {
                throw new Xunit.Sdk.XunitException($"expected SafetensorsFormatException, got {error.GetType()}: {error}");
            }
            Assert.StartsWith(path + ": ", fe.Message);
            return false;
        }
        using (file)
        {
            Consistency.Check(file!, bytes.Length);
            // Every byte of every tensor is readable and equal to the file's bytes.
            foreach (var e in file!.Entries)
            {
                Assert.True(file.GetBytes(e).SequenceEqual(bytes.AsSpan((int)(file.DataStart + e.DataOffset), (int)e.ByteLength)));
            }
        }
        return true;
    }

    private byte[] ValidBytes(ValidSet set, out string path)
    {
        path = _dir.NewFile("valid");
        set.WriteTo(path);
        return File.ReadAllBytes(path);
    }

    private string Save(byte[] bytes) => _dir.WriteBytes(bytes, "case");

    [Property(MaxTest = 150)]
    public Property Valid_sets_round_trip() =>
        Prop.ForAll(Generators.Valid.ToArbitrary(), set =>
        {
            byte[] bytes = ValidBytes(set, out string path);
            using var f = SafetensorsFile.Open(path);
            Consistency.Check(f, bytes.Length);
            Assert.Equal(set.Tensors.Count, f.Entries.Count);
            for (int i = 0; i < set.Tensors.Count; i++)
            {
                var t = set.Tensors[i];
                var e = f.Entries[i];
                Assert.Equal(t.Name, e.Name);
                Assert.Equal(t.DType, e.DType);
                Assert.Equal(t.Shape, e.Shape);
                Assert.True(t.Data.AsSpan().SequenceEqual(f.GetBytes(e)));
            }
            var expectedMeta = set.Metadata ?? new Dictionary<string, string>();
            Assert.Equal(expectedMeta.OrderBy(kv => kv.Key, StringComparer.Ordinal), f.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            Assert.Equal(0, f.DataStart % 8);
        });

    [Property(MaxTest = 100)]
    public Property Truncated_files_are_always_refused() =>
        Prop.ForAll(Generators.Valid.SelectMany(s => Gen.Choose(0, 9999).Select(frac => (Set: s, Frac: frac))).ToArbitrary(), c =>
        {
            byte[] bytes = ValidBytes(c.Set, out _);
            int cut = (int)((long)bytes.Length * c.Frac / 10000); // always < bytes.Length
            byte[] truncated = bytes[..cut];
            Assert.False(AssertSafeOutcome(Save(truncated), truncated));
        });

    [Property(MaxTest = 200)]
    public Property Corrupted_header_bytes_never_escape_as_other_exceptions() =>
        Prop.ForAll(
            (from set in Generators.Valid
             from edits in Gen.Choose(1, 4).SelectMany(n => Gen.ListOf(Gen.Zip(Gen.Choose(0, 1_000_000), Generators.CorruptByte), n))
             from prefixToo in Gen.Frequency((5, Gen.Constant(false)), (1, Gen.Constant(true)))
             select (Set: set, Edits: edits, PrefixToo: prefixToo)).ToArbitrary(),
            c =>
            {
                byte[] bytes = ValidBytes(c.Set, out _);
                int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
                int start = c.PrefixToo ? 0 : 8;
                foreach (var (pos, value) in c.Edits)
                {
                    bytes[start + pos % (headerEnd - start)] = value;
                }
                AssertSafeOutcome(Save(bytes), bytes);
            });

    [Property(MaxTest = 200)]
    public Property Random_declared_header_lengths_are_handled() =>
        Prop.ForAll(
            (from set in Generators.Valid
             from length in Generators.DeclaredLength
             select (Set: set, Length: length)).ToArbitrary(),
            c =>
            {
                byte[] bytes = ValidBytes(c.Set, out _);
                ulong actual = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
                ulong declared = c.Length.Relative ? unchecked(actual + c.Length.Value) : c.Length.Value;
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, declared);
                bool opened = AssertSafeOutcome(Save(bytes), bytes);
                if (declared > SafetensorsFile.MaxHeaderLength || declared > (ulong)bytes.Length - 8) Assert.False(opened);
                if (declared == actual) Assert.True(opened);
            });

        [Property(MaxTest = 300)]
    public Property Generated_headers_are_accepted_exactly_when_valid() =>
        Prop.ForAll(Generators.Header.ToArbitrary(), h =>
        {
            byte[] data = Generators.Bytes(h.DataLength, h.DataLength);
            byte[] bytes = Raw.Build(h.Json, data);
            string path = Save(bytes);
            bool opened = AssertSafeOutcome(path, bytes);
            Assert.Equal(h.ExpectedValid, opened);
            if (opened)
            {
                using var f = SafetensorsFile.Open(path);
                Assert.Equal(h.Tensors.Select(t => t.Name), f.Entries.Select(e => e.Name));
                foreach (var (t, e) in h.Tensors.Zip(f.Entries))
                {
                    Assert.Equal(t.DTypeText, e.DType.ToHeaderString());
                    Assert.Equal(t.Shape, e.Shape);
                    Assert.Equal((long)t.Offsets![0], e.DataOffset);
                    Assert.Equal((long)(t.Offsets[1] - t.Offsets[0]), e.ByteLength);
                }
            }
        });

    [Fact]
    public void Header_generator_yields_both_valid_and_invalid_cases()
    {
        var sample = Generators.Header.Sample(400, new Rnd(12345UL), 10);
        int valid = sample.Count(h => h.ExpectedValid);
        Assert.InRange(valid, 80, 320);
        Assert.Contains(sample, h => h.ExpectedValid && h.Tensors.Count >= 3);
    }
}
