using MoLA.Torch;
using MoLA.Torch.Distributed;
using NcclSharp;

namespace MoLA.Parallel;

/// <summary>How tensors and reductions map onto NCCL's enums, and the checks every NCCL operation runs on its tensors.</summary>
public static class NcclTensorTypes
{
    /// <summary>The tensor dtypes NCCL collectives accept here, with their ncclDataType_t.</summary>
    public static IReadOnlyDictionary<DType, NcclDataType> DataTypes { get; } = new Dictionary<DType, NcclDataType>
    {
        [DType.Float32] = NcclDataType.Float32,
        [DType.Float64] = NcclDataType.Float64,
        [DType.Float16] = NcclDataType.Float16,
        [DType.BFloat16] = NcclDataType.BFloat16,
        [DType.Int64] = NcclDataType.Int64,
        [DType.Int32] = NcclDataType.Int32,
    };

    /// <summary>The ncclDataType_t of <paramref name="dtype"/>; other dtypes are an error naming the op and tensor.</summary>
    public static NcclDataType DataType(DType dtype, string op = "NCCL op", string tensor = "tensor") =>
        DataTypes.TryGetValue(dtype, out var t)
            ? t
            : throw new ArgumentException(
                $"{op}: {tensor} has dtype {dtype}, which the NCCL backend does not map; use one of " +
                $"{string.Join(", ", DataTypes.Keys)} (convert with .to(dtype))", tensor);

    /// <summary>
    /// The ncclRedOp_t of <paramref name="op"/>. Avg is NCCL's own ncclAvg (NCCL 2.10+): floats are scaled
    /// by 1/size, integers summed then divided (truncating, as the Gloo backend does).
    /// </summary>
    public static NcclRedOp RedOp(ReduceOp op) => op switch
    {
        ReduceOp.Sum => NcclRedOp.Sum,
        ReduceOp.Avg => NcclRedOp.Avg,
        ReduceOp.Max => NcclRedOp.Max,
        ReduceOp.Min => NcclRedOp.Min,
        ReduceOp.Product => NcclRedOp.Prod,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduce op"),
    };

    /// <summary>
    /// Checks that <paramref name="tensor"/> can be handed to NCCL as one flat buffer on
    /// <paramref name="device"/>: a live, contiguous CUDA tensor of a mapped dtype on that device.
    /// Every error is an <see cref="ArgumentException"/> naming <paramref name="op"/>, the group and the tensor.
    /// </summary>
    public static NcclDataType CheckTensor(string op, string group, string name, Tensor? tensor, Device device)
    {
        var where = $"NCCL {op} (group '{group}')";
        if (tensor is null) throw new ArgumentNullException(name, $"{where}: {name} is null");
        if (tensor.IsDisposed) throw new ObjectDisposedException(name, $"{where}: {name} was disposed");
        var what = $"{name} ({Describe(tensor)})";
        var d = tensor.Device;
        if (!d.IsCuda)
            throw new ArgumentException($"{where}: {what} is a CPU tensor; NCCL reads and writes CUDA memory only: " +
                                        $"move it with .to({device}) or use the gloo backend", name);
        if (device.Index >= 0 && d.Index != device.Index)
            throw new ArgumentException($"{where}: {what} is on {d}, the group's communicator is on {device}", name);
        if (!tensor.IsContiguous)
            throw new ArgumentException($"{where}: {what} is not contiguous; NCCL works on one flat buffer: pass a .contiguous() copy " +
                                        "(and copy the result back for in-place ops)", name);
        return DataType(tensor.DType, where, what);
    }

    internal static string Describe(Tensor t) => $"[{string.Join(", ", t.Shape)}] {t.DType} on {t.Device}";
}
