using MoLA.Model;

namespace MoLA.Training.Data;

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
