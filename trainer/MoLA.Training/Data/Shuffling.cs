namespace MoLA.Training.Data;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014; Vigna's reference constants). Used instead of System.Random, whose
/// algorithm is not guaranteed stable across .NET versions, so a seed gives the same stream everywhere.
/// </summary>
public struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform integer in [0, <paramref name="bound"/>), unbiased (rejection sampling).</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bound, 1);
        var b = (ulong)bound;
        var limit = ulong.MaxValue - (ulong.MaxValue % b + 1) % b; // largest multiple of b, minus one
        ulong r;
        do r = NextUInt64(); while (r > limit);
        return (int)(r % b);
    }

    /// <summary>Uniform integer in [<paramref name="minInclusive"/>, <paramref name="maxInclusive"/>].</summary>
    public int NextInt(int minInclusive, int maxInclusive) => minInclusive + NextInt(maxInclusive - minInclusive + 1);
}

/// <summary>Deterministic Fisher-Yates shuffling driven by <see cref="SplitMix64"/>.</summary>
public static class DeterministicShuffle
{
    /// <summary>Shuffles in place (Durstenfeld: for i from n-1 down to 1 swap i with a uniform j in [0, i]).</summary>
    public static void ShuffleInPlace<T>(IList<T> items, ref SplitMix64 rng)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            var j = rng.NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A shuffled copy; the same seed always gives the same order.</summary>
    public static T[] Shuffle<T>(IEnumerable<T> items, ulong seed)
    {
        var arr = items.ToArray();
        var rng = new SplitMix64(seed);
        ShuffleInPlace(arr, ref rng);
        return arr;
    }

    /// <summary>Order for epoch <paramref name="epoch"/>: seeded from (seed, epoch) so each epoch differs but is reproducible.</summary>
    public static int[] Permutation(int count, ulong seed, int epoch = 0)
    {
        var rng = new SplitMix64(seed ^ (0xD1B54A32D192ED03UL * (ulong)(epoch + 1)));
        var arr = Enumerable.Range(0, count).ToArray();
        ShuffleInPlace(arr, ref rng);
        return arr;
    }
}
