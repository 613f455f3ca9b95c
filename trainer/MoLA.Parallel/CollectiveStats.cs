using System.Diagnostics;
using MoLA.Telemetry;

namespace MoLA.Parallel;

/// <summary>
/// Time and bytes of collective operations by operation name ("all_reduce", "all_to_all", ...), summed
/// over every group of a rank. Bytes are what this rank sent (all-reduce: the buffer size; all-to-all:
/// the rows sent). Optionally forwarded to <see cref="TrainingMetrics"/>. Single-threaded, like the groups.
/// </summary>
public sealed class CollectiveStats
{
    private readonly Dictionary<string, (double Seconds, long Bytes, long Calls)> _byOp = new(StringComparer.Ordinal);

    public TrainingMetrics? Metrics { get; set; }

    /// <summary>Seconds spent in collectives since the last <see cref="TakeSeconds"/>.</summary>
    public double PendingSeconds { get; private set; }

    public IReadOnlyDictionary<string, (double Seconds, long Bytes, long Calls)> ByOperation => _byOp;

    public double TotalSeconds => _byOp.Values.Sum(v => v.Seconds);
    public long TotalBytes => _byOp.Values.Sum(v => v.Bytes);

    public void Record(string op, double seconds, long bytes)
    {
        _byOp.TryGetValue(op, out var v);
        _byOp[op] = (v.Seconds + seconds, v.Bytes + bytes, v.Calls + 1);
        PendingSeconds += seconds;
        Metrics?.RecordCollective(op, seconds, bytes);
    }

    /// <summary>Returns and resets the seconds since the last call (a step's communication time).</summary>
    public double TakeSeconds()
    {
        var s = PendingSeconds;
        PendingSeconds = 0;
        return s;
    }

    public void Reset()
    {
        _byOp.Clear();
        PendingSeconds = 0;
    }

    internal static long Bytes(MoLA.Torch.Tensor t) => t.NumEl * ElementSize(t.DType);

    internal static long ElementSize(MoLA.Torch.DType d) => d switch
    {
        MoLA.Torch.DType.Float64 or MoLA.Torch.DType.Int64 => 8,
        MoLA.Torch.DType.Float16 or MoLA.Torch.DType.BFloat16 or MoLA.Torch.DType.Int16 => 2,
        MoLA.Torch.DType.Int8 or MoLA.Torch.DType.UInt8 or MoLA.Torch.DType.Bool => 1,
        _ => 4,
    };

    internal static long Now() => Stopwatch.GetTimestamp();
    internal static double Since(long start) => Stopwatch.GetElapsedTime(start).TotalSeconds;
}
