using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;

namespace MoLA.Model.Analysis;

/// <summary>
/// PL_Alpha_Hill of an empirical spectral density (HT-SR), with xmin chosen by the
/// reference's "fix-finger" rule (methods.md section 4). Input: the eigenvalues
/// lambda = squared singular values of a weight matrix, any order.
/// </summary>
/// <remarks>
/// <para>Algorithm, as the reference (AlphaLoRA's <c>net_esd_estimator</c> with
/// <c>xmin_peak</c>), on the ascending values lambda_0..lambda_{N-1}:</para>
/// <list type="number">
/// <item>h = log10(lambda); 100 equal bins over [min h, max h];
/// bin = floor((h - min) * bins / (max - min)), the maximum going into the last bin.</item>
/// <item>Peak = first fullest bin; x_peak = 10^(its left edge). The edge is computed the way
/// torch.linspace computes it (from the nearer end), so it rounds as the reference's does.</item>
/// <item>Window: lower = log10(0.95 x_peak), upper = 1.5 x_peak. The log10 in the lower bound
/// is the reference's quirk (it makes the bound nearly always inactive) and is kept on purpose.</item>
/// <item>For i = 0..N-2 ascending: skip lambda_i &lt; lower, stop at the first lambda_i &gt; upper;
/// n = N - i; alpha_i = 1 + n / sum_{j&gt;=i} ln(lambda_j / lambda_i); if alpha_i &gt; 1,
/// D_i = max_k |1 - (lambda_{i+k}/lambda_i)^(1-alpha_i) - k/n|; other candidates keep D = 1.</item>
/// <item>Return alpha at the first argmin of D.</item>
/// </list>
/// <para>Cost: suffix sums of ln(lambda) (compensated, in double) make alpha O(1) per
/// candidate. D is O(n) per candidate, but any single KS term is a lower bound on D, so a
/// candidate is dropped as soon as a sampled term shows it cannot beat the best D so far
/// (coarse samples first, then finer; see <see cref="SearchCandidates"/>); the exponentials
/// are SIMD (<see cref="Vector.Exp(Vector{double})"/>). Every candidate that could be the
/// first argmin gets its D in full, so the result is the direct formula's (about 0.3-1 ms for
/// 4096 eigenvalues, 10-50x less than the direct loop).</para>
/// <para>Where the reference crashes or returns garbage we fail with a
/// <see cref="HillAlphaException"/> whose <see cref="HillAlphaException.Error"/> says why:
/// fewer than 2 values, NaN/infinity, zeros without the filter, a constant spectrum, no
/// candidate in the window with alpha &gt; 1 (the reference would silently return
/// alphas[0], usually 0), or an infinite alpha (constant tail). Negative inputs (round-off
/// from Gram-matrix eigenvalues) are clamped to 0 first, as methods.md prescribes, and are
/// then treated as zeros.</para>
/// </remarks>
public static class HillAlphaEstimator
{
    /// <summary>
    /// Sample strides, coarse to fine, used to rule out candidates before their exact KS
    /// distance (see <see cref="SearchCandidates"/>).
    /// </summary>
    private static readonly int[] Strides = { 256, 64, 16, 4 };

    /// <summary>Tails at most this long skip the sampled levels and go straight to the exact pass.</summary>
    private const int ShortTail = 256;

    /// <summary>Slack when a sampled term (SIMD exp) is compared with an exact distance.</summary>
    private const double SampleSlack = 1e-12;

    /// <summary>Estimates PL_Alpha_Hill from eigenvalues (squared singular values).</summary>
    /// <exception cref="HillAlphaException">The spectrum has no alpha (see <see cref="HillAlphaError"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">Invalid <paramref name="options"/>.</exception>
    public static HillAlphaResult Estimate(ReadOnlySpan<double> eigenvalues, HillAlphaOptions? options = null)
    {
        if (!TryEstimate(eigenvalues, out HillAlphaResult result, out HillAlphaException? error, options))
        {
            throw error;
        }

        return result;
    }

    /// <summary>Single-precision overload (values are widened to double first).</summary>
    public static HillAlphaResult Estimate(ReadOnlySpan<float> eigenvalues, HillAlphaOptions? options = null)
    {
        double[] buffer = ArrayPool<double>.Shared.Rent(Math.Max(eigenvalues.Length, 1));
        try
        {
            Span<double> wide = buffer.AsSpan(0, eigenvalues.Length);
            for (int i = 0; i < wide.Length; i++)
            {
                wide[i] = eigenvalues[i];
            }

            return Estimate(wide, options);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }

    /// <summary>Squares singular values (any order) and estimates from the resulting eigenvalues.</summary>
    public static HillAlphaResult EstimateFromSingularValues(ReadOnlySpan<double> singularValues, HillAlphaOptions? options = null)
    {
        double[] buffer = ArrayPool<double>.Shared.Rent(Math.Max(singularValues.Length, 1));
        try
        {
            Span<double> squared = buffer.AsSpan(0, singularValues.Length);
            for (int i = 0; i < squared.Length; i++)
            {
                squared[i] = singularValues[i] * singularValues[i];
            }

            return Estimate(squared, options);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Non-throwing form for bulk analysis: false with <paramref name="error"/> set when the
    /// spectrum has no alpha. Invalid options still throw.
    /// </summary>
    public static bool TryEstimate(
        ReadOnlySpan<double> eigenvalues,
        out HillAlphaResult result,
        [NotNullWhen(false)] out HillAlphaException? error,
        HillAlphaOptions? options = null)
    {
        options ??= HillAlphaOptions.Default;
        ValidateOptions(options);
        result = default;

        int total = eigenvalues.Length;
        double[] rented = ArrayPool<double>.Shared.Rent((3 * total) + 1);
        try
        {
            Span<double> values = rented.AsSpan(0, total);
            error = CopySorted(eigenvalues, values);
            if (error is not null)
            {
                return false;
            }

            int removed = 0;
            if (options.ZeroThreshold is double threshold)
            {
                while (removed < total && values[removed] <= threshold)
                {
                    removed++;
                }
            }
            else if (total > 0 && values[0] <= 0)
            {
                int zeros = 0;
                while (zeros < total && values[zeros] <= 0)
                {
                    zeros++;
                }

                error = new HillAlphaException(
                    HillAlphaError.NonPositive,
                    $"{zeros} of {total} eigenvalues are <= 0 (negatives count as 0): log(0) is undefined and the reference fails here. " +
                    $"Set {nameof(HillAlphaOptions.ZeroThreshold)} (the reference uses {HillAlphaOptions.ReferenceZeroThreshold.ToString(CultureInfo.InvariantCulture)}) to drop them.");
                return false;
            }

            ReadOnlySpan<double> lambda = values[removed..];
            int n = lambda.Length;
            if (n < 2)
            {
                string filtered = removed > 0
                    ? $" after removing {removed} value(s) <= {options.ZeroThreshold!.Value.ToString(CultureInfo.InvariantCulture)}"
                    : string.Empty;
                error = new HillAlphaException(
                    HillAlphaError.TooFewEigenvalues,
                    $"PL_Alpha_Hill needs at least 2 eigenvalues, got {n}{filtered}.");
                return false;
            }

            Span<double> logs = rented.AsSpan(total, n);
            Span<double> suffix = rented.AsSpan(total + n, n + 1);
            return Fit(lambda, logs, suffix, options.Bins, removed, out result, out error);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(rented);
        }
    }

    private static void ValidateOptions(HillAlphaOptions options)
    {
        if (options.Bins < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Bins, "HillAlphaOptions.Bins must be at least 1.");
        }

        if (options.ZeroThreshold is double t && (!double.IsFinite(t) || t < 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), t, "HillAlphaOptions.ZeroThreshold must be finite and >= 0.");
        }
    }

    /// <summary>Copies into <paramref name="dest"/> ascending, clamping negatives to 0; rejects NaN/inf.</summary>
    private static HillAlphaException? CopySorted(ReadOnlySpan<double> source, Span<double> dest)
    {
        bool ascending = true;
        bool descending = true;
        for (int i = 0; i < source.Length; i++)
        {
            double x = source[i];
            if (!double.IsFinite(x))
            {
                return new HillAlphaException(
                    HillAlphaError.NonFinite,
                    $"eigenvalue at index {i} is {x.ToString(CultureInfo.InvariantCulture)}; every eigenvalue must be finite.");
            }

            if (x < 0)
            {
                x = 0;
            }

            dest[i] = x;
            if (i > 0)
            {
                ascending &= x >= dest[i - 1];
                descending &= x <= dest[i - 1];
            }
        }

        if (!ascending)
        {
            if (descending)
            {
                dest.Reverse();
            }
            else
            {
                dest.Sort();
            }
        }

        return null;
    }

    private static bool Fit(
        ReadOnlySpan<double> lambda,
        Span<double> logs,
        Span<double> suffix,
        int bins,
        int removed,
        out HillAlphaResult result,
        [NotNullWhen(false)] out HillAlphaException? error)
    {
        result = default;
        error = null;
        int n = lambda.Length;

        // Step 1: log10 histogram. Values are ascending, so min/max are the ends.
        double hMin = Math.Log10(lambda[0]);
        double hMax = Math.Log10(lambda[n - 1]);
        double width = hMax - hMin;
        if (!(width > 0))
        {
            error = new HillAlphaException(
                HillAlphaError.ConstantSpectrum,
                $"all {n} eigenvalues are equal ({lambda[0].ToString(CultureInfo.InvariantCulture)}): the log-histogram has zero width and no power law can be fitted.");
            return false;
        }

        int[]? rentedCounts = null;
        Span<int> counts = bins <= 512 ? stackalloc int[bins] : (rentedCounts = ArrayPool<int>.Shared.Rent(bins)).AsSpan(0, bins);
        int peak;
        try
        {
            counts.Clear();
            for (int i = 0; i < n; i++)
            {
                int b = (int)Math.Floor((Math.Log10(lambda[i]) - hMin) * bins / width);
                if (b >= bins)
                {
                    b = bins - 1;
                }
                else if (b < 0)
                {
                    b = 0;
                }

                counts[b]++;
            }

            // Step 2: first argmax.
            peak = 0;
            for (int b = 1; b < bins; b++)
            {
                if (counts[b] > counts[peak])
                {
                    peak = b;
                }
            }
        }
        finally
        {
            if (rentedCounts is not null)
            {
                ArrayPool<int>.Shared.Return(rentedCounts);
            }
        }

        // Left edge as torch.linspace(min, max, bins + 1)[peak] computes it: from the start for the
        // first half of the points, from the end for the second half.
        double step = width / bins;
        double edge = peak < (bins + 1) / 2 ? hMin + (step * peak) : hMax - (step * (bins - peak));
        double xPeak = Math.Pow(10, edge);

        // Step 3: window. log10 on the lower bound is the reference's (sic).
        double lower = Math.Log10(0.95 * xPeak);
        double upper = 1.5 * xPeak;

        // Natural logs and their compensated suffix sums: suffix[i] = sum_{j>=i} ln lambda_j.
        for (int i = 0; i < n; i++)
        {
            logs[i] = Math.Log(lambda[i]);
        }

        suffix[n] = 0;
        double sum = 0;
        double compensation = 0;
        for (int i = n - 1; i >= 0; i--)
        {
            double x = logs[i];
            double t = sum + x;
            compensation += Math.Abs(sum) >= Math.Abs(x) ? (sum - t) + x : (x - t) + sum;
            sum = t;
            suffix[i] = sum + compensation;
        }

        // Step 4: the visited candidates form one contiguous range [first, stop) because lambda is
        // ascending and lower < x_peak < upper.
        int first = 0;
        while (first < n - 1 && lambda[first] < lower)
        {
            first++;
        }

        int stop = first;
        while (stop < n - 1 && lambda[stop] <= upper)
        {
            stop++;
        }

        int evaluated = stop - first;
        int best = -1;
        double bestD = 1.0;
        double bestAlpha = 0;
        if (evaluated > 0)
        {
            double[] scratch = ArrayPool<double>.Shared.Rent(ScratchLength(n, evaluated));
            try
            {
                best = SearchCandidates(lambda, logs, suffix, first, stop, scratch, out bestD, out bestAlpha);
            }
            finally
            {
                ArrayPool<double>.Shared.Return(scratch);
            }
        }

        if (best < 0)
        {
            error = new HillAlphaException(
                HillAlphaError.NoCandidate,
                $"no xmin candidate in the fix-finger window [{lower.ToString("G6", CultureInfo.InvariantCulture)}, {upper.ToString("G6", CultureInfo.InvariantCulture)}] " +
                $"gave alpha > 1 ({evaluated} candidate(s) in the window, {n} eigenvalues); the reference would return a meaningless alphas[0].");
            return false;
        }

        if (double.IsPositiveInfinity(bestAlpha))
        {
            error = new HillAlphaException(
                HillAlphaError.InfiniteAlpha,
                $"the best xmin candidate ({lambda[best].ToString(CultureInfo.InvariantCulture)}) has a constant tail: alpha is infinite.");
            return false;
        }

        result = new HillAlphaResult(bestAlpha, lambda[best], bestD, n, removed, xPeak, evaluated);
        return true;
    }

    private static int ScratchLength(int n, int candidates)
    {
        int length = (2 * candidates) + n;
        foreach (int stride in Strides)
        {
            length += 2 * (((n - 1) / stride) + 1);
        }

        return length;
    }

    /// <summary>
    /// Step 4-5 over the window [first, stop): returns the first argmin of D (or -1 when no
    /// candidate has alpha &gt; 1), with its D and alpha.
    /// </summary>
    /// <remarks>
    /// Exact, but far below the naive O(window x N) in practice. Every term of D is a lower
    /// bound on D, so a candidate is ruled out as soon as any term exceeds the best D found so
    /// far (or equals it, for a later index: argmin takes the first). Phase 1 computes alpha
    /// (O(1) from the suffix sums) and a lower bound from every 256th eigenvalue for all
    /// candidates; the one with the smallest bound seeds the search with its exact D. Phase 2
    /// visits the rest in index order and checks each against the best D on every 64th, 16th,
    /// then 4th eigenvalue, and only then on all of them. Samples sit on global index grids,
    /// so every check is a contiguous SIMD loop. Short tails go straight to the exact pass.
    /// </remarks>
    private static int SearchCandidates(
        ReadOnlySpan<double> lambda,
        ReadOnlySpan<double> logs,
        ReadOnlySpan<double> suffix,
        int first,
        int stop,
        double[] scratch,
        out double bestD,
        out double bestAlpha)
    {
        int n = lambda.Length;
        int count = stop - first;
        Span<double> alphas = scratch.AsSpan(0, count);
        Span<double> lowerBounds = scratch.AsSpan(count, count);
        Span<double> index = scratch.AsSpan(2 * count, n);
        for (int j = 0; j < n; j++)
        {
            index[j] = j;
        }

        int offset = (2 * count) + n;
        var exact = new SampleGrid(logs, index, 1);
        SampleGrid seeding = BuildGrid(logs, Strides[0], scratch, ref offset);
        SampleGrid coarse = BuildGrid(logs, Strides[1], scratch, ref offset);
        SampleGrid medium = BuildGrid(logs, Strides[2], scratch, ref offset);
        SampleGrid fine = BuildGrid(logs, Strides[3], scratch, ref offset);

        // Phase 1.
        double lambdaMax = lambda[n - 1];
        int seed = -1;
        for (int c = 0; c < count; c++)
        {
            int i = first + c;
            int m = n - i;
            if (lambda[i] == lambdaMax)
            {
                // Constant tail: the log sum is 0, alpha = +inf and (lambda/xmin)^(1-alpha) = 1^-inf = 1,
                // so each KS term is k/m and D = (m-1)/m, as in the reference.
                alphas[c] = double.PositiveInfinity;
                lowerBounds[c] = (m - 1) / (double)m;
            }
            else
            {
                double denominator = suffix[i] - (m * logs[i]);
                double alpha = denominator > 0 ? 1 + (m / denominator) : double.NaN;
                if (!(alpha > 1))
                {
                    // Rejected: the reference keeps D = 1 here, so it never wins while any
                    // candidate is valid (a valid D is < 1).
                    alphas[c] = double.NaN;
                    lowerBounds[c] = double.PositiveInfinity;
                    continue;
                }

                alphas[c] = alpha;
                MaxTermWithin(seeding, i, m, logs[i], 1 - alpha, double.PositiveInfinity, allowEqual: true, out lowerBounds[c]);
            }

            if (seed < 0 || lowerBounds[c] < lowerBounds[seed])
            {
                seed = c;
            }
        }

        bestD = 1.0;
        bestAlpha = 0;
        if (seed < 0)
        {
            return -1;
        }

        int best = first + seed;
        bestAlpha = alphas[seed];
        bestD = Distance(exact, best, n - best, logs[best], bestAlpha);

        // Phase 2.
        for (int c = 0; c < count; c++)
        {
            double alpha = alphas[c];
            if (c == seed || double.IsNaN(alpha) || lowerBounds[c] > bestD + SampleSlack)
            {
                continue;
            }

            int i = first + c;
            int m = n - i;
            bool allowEqual = i < best;
            double d;
            if (double.IsPositiveInfinity(alpha))
            {
                d = (m - 1) / (double)m;
                if (!(d < bestD || (allowEqual && d == bestD)))
                {
                    continue;
                }
            }
            else
            {
                double exponent = 1 - alpha;
                double logXmin = logs[i];
                if (m > ShortTail &&
                    (!MaxTermWithin(coarse, i, m, logXmin, exponent, bestD + SampleSlack, allowEqual: true, out _) ||
                     !MaxTermWithin(medium, i, m, logXmin, exponent, bestD + SampleSlack, allowEqual: true, out _) ||
                     !MaxTermWithin(fine, i, m, logXmin, exponent, bestD + SampleSlack, allowEqual: true, out _)))
                {
                    continue;
                }

                if (!MaxTermWithin(exact, i, m, logXmin, exponent, bestD, allowEqual, out d))
                {
                    continue;
                }
            }

            best = i;
            bestD = d;
            bestAlpha = alpha;
        }

        return best;
    }

    private static double Distance(SampleGrid exact, int i, int m, double logXmin, double alpha)
    {
        if (double.IsPositiveInfinity(alpha))
        {
            return (m - 1) / (double)m;
        }

        MaxTermWithin(exact, i, m, logXmin, 1 - alpha, double.PositiveInfinity, allowEqual: true, out double d);
        return d;
    }

    private static SampleGrid BuildGrid(ReadOnlySpan<double> logs, int stride, double[] scratch, ref int offset)
    {
        int count = ((logs.Length - 1) / stride) + 1;
        Span<double> gridLogs = scratch.AsSpan(offset, count);
        Span<double> gridIndex = scratch.AsSpan(offset + count, count);
        offset += 2 * count;
        for (int t = 0; t < count; t++)
        {
            gridLogs[t] = logs[t * stride];
            gridIndex[t] = t * stride;
        }

        return new SampleGrid(gridLogs, gridIndex, stride);
    }

    /// <summary>
    /// Max over the grid's sample indices j in [i, i + m) of the KS term
    /// |1 - exp(exponent (ln lambda_j - ln xmin)) - (j - i)/m|. With the exact grid this is D.
    /// Stops early and returns false once the max exceeds <paramref name="bound"/> (or reaches it,
    /// unless <paramref name="allowEqual"/>); otherwise <paramref name="max"/> is the full maximum.
    /// </summary>
    private static bool MaxTermWithin(
        SampleGrid grid,
        int i,
        int m,
        double logXmin,
        double exponent,
        double bound,
        bool allowEqual,
        out double max)
    {
        int start = (i + grid.Stride - 1) / grid.Stride;
        ReadOnlySpan<double> gridLogs = grid.Logs[start..];
        ReadOnlySpan<double> gridIndex = grid.Index[start..];
        int length = gridLogs.Length;
        double md = m;
        double result = 0;
        int t = 0;
        if (Vector.IsHardwareAccelerated && length >= Vector<double>.Count)
        {
            int width = Vector<double>.Count;
            var baseLog = new Vector<double>(logXmin);
            var baseIndex = new Vector<double>(i);
            var exponentV = new Vector<double>(exponent);
            var mV = new Vector<double>(md);
            var boundV = new Vector<double>(bound);
            Vector<double> maxV = Vector<double>.Zero;
            for (; t <= length - width; t += width)
            {
                var l = new Vector<double>(gridLogs.Slice(t, width));
                var k = new Vector<double>(gridIndex.Slice(t, width)) - baseIndex;
                Vector<double> term = Vector.Abs(Vector<double>.One - Vector.Exp(exponentV * (l - baseLog)) - (k / mV));
                maxV = Vector.Max(maxV, term);
                if (allowEqual ? Vector.GreaterThanAny(maxV, boundV) : Vector.GreaterThanOrEqualAny(maxV, boundV))
                {
                    max = double.NaN;
                    return false;
                }
            }

            for (int j = 0; j < width; j++)
            {
                result = Math.Max(result, maxV[j]);
            }
        }

        for (; t < length; t++)
        {
            double term = Math.Abs(1 - Math.Exp(exponent * (gridLogs[t] - logXmin)) - ((gridIndex[t] - i) / md));
            if (term > result)
            {
                result = term;
            }
        }

        max = result;
        return result < bound || (allowEqual && result == bound);
    }

    /// <summary>Eigenvalue logs sampled every <see cref="Stride"/> indices, with their global indices.</summary>
    private readonly ref struct SampleGrid
    {
        public SampleGrid(ReadOnlySpan<double> logs, ReadOnlySpan<double> index, int stride)
        {
            Logs = logs;
            Index = index;
            Stride = stride;
        }

        public ReadOnlySpan<double> Logs { get; }

        public ReadOnlySpan<double> Index { get; }

        public int Stride { get; }
    }
}
