using MoLA.Safetensors;
using MoLA.Torch.NN;
using static MoLA.Torch.Native.NativeMethods;

namespace MoLA.Torch.IO;

/// <summary>
/// Tensors to and from safetensors files (trainer/MoLA.Safetensors does the format and its
/// validation). Loading copies each entry out of the read-only mapping into an owned tensor, one
/// at a time, so a checkpoint is never held twice; saving streams each tensor's bytes to disk.
/// </summary>
public static class SafetensorsIO
{
    public static DType ToDType(SafetensorsDType t, string tensorName) => t switch
    {
        SafetensorsDType.F32 => DType.Float32,
        SafetensorsDType.F16 => DType.Float16,
        SafetensorsDType.BF16 => DType.BFloat16,
        SafetensorsDType.F64 => DType.Float64,
        SafetensorsDType.I64 => DType.Int64,
        SafetensorsDType.I32 => DType.Int32,
        SafetensorsDType.I16 => DType.Int16,
        SafetensorsDType.I8 => DType.Int8,
        SafetensorsDType.U8 => DType.UInt8,
        SafetensorsDType.BOOL => DType.Bool,
        _ => throw new NotSupportedException($"tensor '{tensorName}': safetensors dtype {t} has no tensor dtype"),
    };

    public static SafetensorsDType ToSafetensors(DType t, string tensorName) => t switch
    {
        DType.Float32 => SafetensorsDType.F32,
        DType.Float16 => SafetensorsDType.F16,
        DType.BFloat16 => SafetensorsDType.BF16,
        DType.Float64 => SafetensorsDType.F64,
        DType.Int64 => SafetensorsDType.I64,
        DType.Int32 => SafetensorsDType.I32,
        DType.Int16 => SafetensorsDType.I16,
        DType.Int8 => SafetensorsDType.I8,
        DType.UInt8 => SafetensorsDType.U8,
        DType.Bool => SafetensorsDType.BOOL,
        _ => throw new NotSupportedException($"tensor '{tensorName}': dtype {t} cannot be stored in safetensors"),
    };

    /// <summary>Copies one entry into a new CPU tensor (optionally converted to <paramref name="dtype"/>).</summary>
    public static unsafe Tensor Read(SafetensorsFile file, SafetensorsEntry entry, DType? dtype = null)
    {
        var stored = ToDType(entry.DType, entry.Name);
        var shape = entry.Shape;
        Tensor t;
        fixed (long* sp = shape)
            t = Tensor.Wrap(mt_from_data((void*)file.GetPointer(entry), sp, shape.Length, (int)stored), $"read '{entry.Name}'");
        if (dtype is null || dtype == stored) return t;
        using (t) return t.to(dtype.Value);
    }

    /// <summary>Loads every tensor of a file. The caller owns the results (they are in no dispose scope).</summary>
    public static Dictionary<string, Tensor> Load(string path, DType? dtype = null)
    {
        using var file = SafetensorsFile.Open(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in file.Entries) result[e.Name] = Read(file, e, dtype).DetachFromScope();
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>Writes tensors atomically (temp file, flush, rename), in the order given.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in list)
            if (!byName.TryAdd(name, t)) throw new ArgumentException($"SafetensorsIO.Save: tensor name '{name}' appears twice", nameof(tensors));
        var specs = list.Select(kv => new SafetensorsTensorSpec(kv.Key, ToSafetensors(kv.Value.DType, kv.Key), kv.Value.Shape));
        SafetensorsWriter.Write(path, specs, (spec, stream) => WriteBytes(byName[spec.Name], stream), metadata);
    }

    private static unsafe void WriteBytes(Tensor t, Stream stream)
    {
        using var scope = torch.NewDisposeScope();
        var host = t.detach().cpu().contiguous();
        var bytes = host.NumEl * host.DType.ElementSize();
        if (bytes == 0) return;
        var p = (byte*)mt_data_ptr(host.Handle);
        for (long offset = 0; offset < bytes; offset += 1 << 30)
            stream.Write(new ReadOnlySpan<byte>(p + offset, (int)Math.Min(1 << 30, bytes - offset)));
    }

    /// <summary>Saves a module's state dict (parameters and buffers by dotted name).</summary>
    public static void save_safetensors(this Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        Save(path, module.state_dict(), metadata);

    /// <summary>Loads a file into a module, validating names and shapes before anything is copied.</summary>
    public static void load_safetensors(this Module module, string path, bool strict = true)
    {
        var tensors = Load(path);
        try { module.load_state_dict(tensors, strict); }
        catch (ArgumentException e) { throw new ArgumentException($"{path}: {e.Message}", e); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }
}
