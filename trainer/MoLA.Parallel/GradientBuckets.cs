using MoLA.Torch;
using MoLA.Torch.Distributed;

namespace MoLA.Parallel;

/// <summary>
/// Flat, bucketed gradient storage for the parameters reduced over one group. Parameters are packed in
/// order into buckets of at most <see cref="BucketBytes"/> (a larger parameter gets its own bucket; a
/// dtype change starts a new one). <see cref="Attach"/> zeroes the buffers and sets every parameter's
/// .grad to a view into its bucket, so backward accumulates in place (libtorch adds into an existing
/// grad) and <see cref="AllReduce"/> is one call per bucket instead of one per tensor.
/// </summary>
public sealed class GradientBuckets : IDisposable
{
    public const long DefaultBucketBytes = 25L << 20;

    private readonly List<Bucket> _buckets = [];

    private sealed record Slot(Tensor Parameter, long Offset, long NumEl, long[] Shape);

    private sealed record Bucket(Tensor Buffer, List<Slot> Slots);

    public GradientBuckets(IReadOnlyList<Tensor> parameters, ICollectives group, long bucketBytes = DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Group = group ?? throw new ArgumentNullException(nameof(group));
        if (bucketBytes < 1) throw new ParallelConfigException("bucket bytes", $"must be positive, got {bucketBytes}");
        BucketBytes = bucketBytes;
        var pending = new List<Tensor>();
        long bytes = 0;
        foreach (var p in parameters)
        {
            if (!p.IsContiguous)
                throw new ArgumentException($"gradient buckets need contiguous parameters; got one of shape [{string.Join(", ", p.Shape)}] with strides", nameof(parameters));
            var size = CollectiveStats.Bytes(p);
            if (pending.Count > 0 && (bytes + size > bucketBytes || pending[0].DType != p.DType || pending[0].Device != p.Device))
            {
                _buckets.Add(Build(pending));
                pending.Clear();
                bytes = 0;
            }
            pending.Add(p);
            bytes += size;
        }
        if (pending.Count > 0) _buckets.Add(Build(pending));
    }

    public ICollectives Group { get; }
    public long BucketBytes { get; }
    public int Count => _buckets.Count;
    public long TotalElements => _buckets.Sum(b => b.Buffer.NumEl);

    /// <summary>The flat buffers (for tests and benchmarks).</summary>
    public IEnumerable<Tensor> Buffers => _buckets.Select(b => b.Buffer);

    private static Bucket Build(List<Tensor> ps)
    {
        long total = ps.Sum(p => p.NumEl);
        var buffer = torch.zeros([total], ps[0].DType, ps[0].Device).DetachFromScope();
        var slots = new List<Slot>();
        long offset = 0;
        foreach (var p in ps)
        {
            slots.Add(new Slot(p, offset, p.NumEl, p.Shape));
            offset += p.NumEl;
        }
        return new Bucket(buffer, slots);
    }

    /// <summary>Zeroes the buffers and points every parameter's grad at its slice.</summary>
    public void Attach()
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        foreach (var b in _buckets)
        {
            b.Buffer.zero_();
            foreach (var s in b.Slots) s.Parameter.grad = b.Buffer.narrow(0, s.Offset, s.NumEl).view(s.Shape);
        }
    }

    /// <summary>Sums the buckets over the group (every rank gets the sum).</summary>
    public void AllReduce()
    {
        if (Group.Size == 1) return;
        foreach (var b in _buckets) Group.AllReduce(b.Buffer, ReduceOp.Sum);
    }

    /// <summary>Sum of squares of all buffered gradients, in float64.</summary>
    public double SumOfSquares()
    {
        using var scope = torch.NewDisposeScope();
        double total = 0;
        foreach (var b in _buckets) total += b.Buffer.to(DType.Float64).square().sum().item();
        return total;
    }

    /// <summary>Multiplies every buffered gradient by <paramref name="factor"/>.</summary>
    public void Scale(double factor)
    {
        foreach (var b in _buckets) b.Buffer.mul_(factor);
    }

    public void Dispose()
    {
        foreach (var b in _buckets) b.Buffer.Dispose();
        _buckets.Clear();
    }
}
