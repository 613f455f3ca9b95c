namespace MoLA.Model;

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
