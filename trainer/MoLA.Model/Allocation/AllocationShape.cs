using System.Globalization;
using System.Text;

namespace MoLA.Model.Allocation;

/// <summary>
/// Parses and formats the per-layer value strings a user types: MoLA shape strings for
/// expert counts, and single values or lists for top-k and rank.
/// </summary>
/// <remarks>
/// <para><b>Expert-count shape grammar</b> (<see cref="ParseExpertCounts"/>), for a model of L layers:</para>
/// <list type="bullet">
/// <item>A plain digit string is one digit per block, lowest block first: <c>2468</c> is four
/// blocks of 2, 4, 6 and 8 experts; <c>5</c> is one block, i.e. 5 experts in every layer. Digits
/// are 1..9; a <c>0</c> is rejected (a layer needs at least one expert).</item>
/// <item>A comma list whose length equals L is one count per layer (<c>2,2,...,8</c>).</item>
/// <item>Any other comma list is one count per block (<c>2,3,5,16</c> is four blocks); use it
/// when a count exceeds 9. A single block with a count above 9 cannot be written this way
/// (<c>16</c> reads as two blocks); write it per layer or use a uniform allocation.</item>
/// </list>
/// <para><b>Block split rule</b> (<see cref="BlockSizes"/>): B blocks over L layers are as equal
/// as possible; the FIRST <c>L mod B</c> blocks get one extra layer (numpy.array_split's rule).
/// 32/4 gives 8/8/8/8, 28/4 gives 7/7/7/7, 30/4 gives 8/8/7/7 (layers 0-7, 8-15, 16-22, 23-29).
/// More blocks than layers is an error.</para>
/// <para><b>Top-k and rank grammar</b> (<see cref="ParseLayerValues"/>): a string without commas
/// is ONE integer for every layer (so rank <c>16</c> means 16, unlike a shape string); a comma
/// list follows the comma rules above (length L: per layer; otherwise per block).</para>
/// </remarks>
public static class AllocationShape
{
    /// <summary>
    /// Sizes of <paramref name="blocks"/> consecutive layer blocks over <paramref name="layers"/>
    /// layers; the first <c>layers mod blocks</c> blocks get one extra layer.
    /// </summary>
    public static int[] BlockSizes(int layers, int blocks)
    {
        if (layers < 1)
        {
            throw new AllocationException(nameof(layers), $"layers: must be at least 1, got {layers}.");
        }

        if (blocks < 1)
        {
            throw new AllocationException(nameof(blocks), $"blocks: must be at least 1, got {blocks}.");
        }

        if (blocks > layers)
        {
            throw new AllocationException(
                nameof(blocks),
                $"blocks: {blocks} blocks cannot be split over {layers} layers (expected at most {layers} blocks).");
        }

        int baseSize = layers / blocks;
        int extra = layers % blocks;
        var sizes = new int[blocks];
        for (int b = 0; b < blocks; b++)
        {
            sizes[b] = baseSize + (b < extra ? 1 : 0);
        }

        return sizes;
    }

    /// <summary>Expands one value per block to one value per layer using <see cref="BlockSizes"/>.</summary>
    public static int[] ExpandBlocks(IReadOnlyList<int> perBlock, int layers)
    {
        ArgumentNullException.ThrowIfNull(perBlock);
        int[] sizes = BlockSizes(layers, perBlock.Count);
        var perLayer = new int[layers];
        int layer = 0;
        for (int b = 0; b < sizes.Length; b++)
        {
            for (int j = 0; j < sizes[b]; j++)
            {
                perLayer[layer++] = perBlock[b];
            }
        }

        return perLayer;
    }

    /// <summary>
    /// Parses a MoLA shape string into per-layer expert counts (see the class remarks for the
    /// grammar). Every count must be positive.
    /// </summary>
    /// <exception cref="AllocationException">Empty string, non-digit characters, a zero or
    /// negative count, or more blocks than layers; the message names the position.</exception>
    public static int[] ParseExpertCounts(string shape, int layers)
    {
        const string field = "shape";
        ValidateLayers(layers);
        string text = RequireNonEmpty(shape, field);

        if (text.Contains(','))
        {
            int[] items = ParseCommaList(text, field, "expert count");
            return ExpandList(items, layers, field, text);
        }

        var perBlock = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < '0' || c > '9')
            {
                throw new AllocationException(
                    field,
                    $"shape '{text}': character '{c}' at index {i} is not a digit (a digit string has one expert count 1-9 per block; use a comma list for larger counts).");
            }

            if (c == '0')
            {
                throw new AllocationException(
                    field,
                    $"shape '{text}': block {i} has 0 experts (every layer needs at least 1).");
            }

            perBlock[i] = c - '0';
        }

        return ExpandList(perBlock, layers, field, text);
    }

    /// <summary>
    /// Parses a top-k or rank string: one integer for every layer, or a comma list (length L:
    /// per layer; otherwise per block). Every value must be positive.
    /// </summary>
    /// <param name="text">The user's string.</param>
    /// <param name="layers">Number of layers L.</param>
    /// <param name="field">Field name for error messages (e.g. <c>topK</c>, <c>rank</c>).</param>
    public static int[] ParseLayerValues(string text, int layers, string field)
    {
        ValidateLayers(layers);
        string trimmed = RequireNonEmpty(text, field);
        if (trimmed.Contains(','))
        {
            int[] items = ParseCommaList(trimmed, field, "value");
            return ExpandList(items, layers, field, trimmed);
        }

        int value = ParseItem(trimmed, field, trimmed, item: -1, "value");
        var result = new int[layers];
        Array.Fill(result, value);
        return result;
    }

    /// <summary>
    /// The shortest shape string that <see cref="ParseExpertCounts"/> turns back into
    /// <paramref name="perLayer"/>: a digit string with the fewest blocks when every count is
    /// 1..9, else a comma list with the fewest blocks (at least two, so it contains a comma).
    /// Returns <c>null</c> when no string of the grammar can express it (one layer with more
    /// than 9 experts), or when a count is not positive.
    /// </summary>
    public static string? Format(IReadOnlyList<int> perLayer)
    {
        ArgumentNullException.ThrowIfNull(perLayer);
        int layers = perLayer.Count;
        if (layers == 0)
        {
            return null;
        }

        bool allDigits = true;
        for (int i = 0; i < layers; i++)
        {
            if (perLayer[i] < 1)
            {
                return null;
            }

            if (perLayer[i] > 9)
            {
                allDigits = false;
            }
        }

        int minBlocks = allDigits ? 1 : 2;
        for (int blocks = minBlocks; blocks <= layers; blocks++)
        {
            int[] sizes = BlockSizes(layers, blocks);
            if (!ConstantWithinBlocks(perLayer, sizes))
            {
                continue;
            }

            var sb = new StringBuilder();
            int start = 0;
            for (int b = 0; b < blocks; b++)
            {
                int value = perLayer[start];
                if (allDigits)
                {
                    sb.Append((char)('0' + value));
                }
                else
                {
                    if (b > 0)
                    {
                        sb.Append(',');
                    }

                    sb.Append(value.ToString(CultureInfo.InvariantCulture));
                }

                start += sizes[b];
            }

            return sb.ToString();
        }

        return null;
    }

    private static bool ConstantWithinBlocks(IReadOnlyList<int> perLayer, int[] sizes)
    {
        int start = 0;
        foreach (int size in sizes)
        {
            int first = perLayer[start];
            for (int j = 1; j < size; j++)
            {
                if (perLayer[start + j] != first)
                {
                    return false;
                }
            }

            start += size;
        }

        return true;
    }

    private static void ValidateLayers(int layers)
    {
        if (layers < 1)
        {
            throw new AllocationException(nameof(layers), $"layers: must be at least 1, got {layers}.");
        }
    }

    private static string RequireNonEmpty(string? text, string field)
    {
        if (text is null || text.Trim().Length == 0)
        {
            throw new AllocationException(field, $"{field}: empty string (expected digits such as '2468' or a comma list such as '2,3,5,6').");
        }

        return text.Trim();
    }

    private static int[] ExpandList(int[] items, int layers, string field, string text)
    {
        if (items.Length == layers)
        {
            return items;
        }

        if (items.Length > layers)
        {
            throw new AllocationException(
                field,
                $"{field} '{text}': got {items.Length} values for {layers} layers (expected exactly {layers} per-layer values or at most {layers} blocks).");
        }

        return ExpandBlocks(items, layers);
    }

    private static int[] ParseCommaList(string text, string field, string what)
    {
        string[] parts = text.Split(',');
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            values[i] = ParseItem(parts[i], field, text, i, what);
        }

        return values;
    }

    /// <summary>Parses one integer item; <paramref name="item"/> is -1 for a lone value.</summary>
    private static int ParseItem(string raw, string field, string text, int item, string what)
    {
        string where = item < 0 ? $"{field} '{text}'" : $"{field} '{text}': item {item}";
        string s = raw.Trim();
        if (s.Length == 0)
        {
            throw new AllocationException(field, $"{where} is empty.");
        }

        bool negative = false;
        int start = 0;
        if (s[0] == '-' || s[0] == '+')
        {
            negative = s[0] == '-';
            start = 1;
            if (s.Length == 1)
            {
                throw new AllocationException(field, $"{where}: '{s}' is not an integer.");
            }
        }

        long value = 0;
        for (int i = start; i < s.Length; i++)
        {
            char c = s[i];
            if (c < '0' || c > '9')
            {
                throw new AllocationException(field, $"{where}: character '{c}' in '{s}' is not a digit.");
            }

            value = (value * 10) + (c - '0');
            if (value > int.MaxValue)
            {
                throw new AllocationException(field, $"{where}: '{s}' is too large.");
            }
        }

        if (negative)
        {
            value = -value;
        }

        if (value <= 0)
        {
            throw new AllocationException(field, $"{where}: {what} must be positive, got {value}.");
        }

        return (int)value;
    }
}
