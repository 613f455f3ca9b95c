using System.Diagnostics;
using MoLA.Model.Analysis;
using MoLA.Torch;

namespace MoLA.Cli.Benchmarks;

public sealed record AlphaBenchRow(string Shape, double GramSeconds, double SvdSeconds, double Speedup, double GramAlpha, double SvdAlpha, double AlphaDifference);
public sealed record AlphaBenchReport(string TorchVersion, string Device, int Threads, int Repeats, IReadOnlyList<AlphaBenchRow> Rows, double TargetSpeedupMin, double TargetAlphaDifferenceMax);

/// <summary>
/// Times PL_Alpha_Hill of one weight matrix by the two ESD routes, side by side on the same matrix:
/// float64 eigenvalues of the smaller Gram matrix (our default) against the reference's float32
/// svdvals. The matrices are LLaMA/Mistral-sized projections with a heavy-tailed spectrum.
/// </summary>
public static class AlphaBenchmark
{
    public static readonly (long Out, long In)[] Shapes = [(4096, 4096), (4096, 14336)];

    public static AlphaBenchReport Run(int threads, int repeats, bool quick, Action<string>? progress = null, Device? device = null)
    {
        torch.set_num_threads(threads);
        var rows = new List<AlphaBenchRow>();
        foreach (var (rowsOut, colsIn) in quick ? [(512L, 512L), (512L, 1792L)] : Shapes)
        {
            using var scope = torch.NewDisposeScope();
            torch.manual_seed(17);
            // Gaussian times a power-law column scaling: a spectrum with a heavy tail, as trained weights have.
            var w = torch.randn([rowsOut, colsIn]).mul(torch.arange(1, colsIn + 1, 1, DType.Float32).pow(-0.35)).to(device ?? Device.CPU);
            var gram = new List<double>();
            var svd = new List<double>();
            double gramAlpha = 0, svdAlpha = 0;
            for (var r = 0; r < repeats; r++)
            {
                // Alternate which route goes first so neither always sees a warm cache.
                foreach (var method in r % 2 == 0 ? new[] { EsdMethod.Gram, EsdMethod.SvdVals } : [EsdMethod.SvdVals, EsdMethod.Gram])
                {
                    var sw = Stopwatch.StartNew();
                    var alpha = EmpiricalSpectralDensity.Alpha(w, method).Alpha;
                    var seconds = sw.Elapsed.TotalSeconds;
                    (method == EsdMethod.Gram ? gram : svd).Add(seconds);
                    if (method == EsdMethod.Gram) gramAlpha = alpha; else svdAlpha = alpha;
                    progress?.Invoke($"[{rowsOut} x {colsIn}] {method}: {seconds:F2} s, alpha {alpha:F6}");
                }
            }
            var g = Median(gram);
            var s = Median(svd);
            rows.Add(new AlphaBenchRow($"{rowsOut}x{colsIn}", g, s, s / g, gramAlpha, svdAlpha, Math.Abs(gramAlpha - svdAlpha)));
        }
        return new AlphaBenchReport(torch.version, (device ?? Device.CPU).IsCuda ? "cuda" : "cpu", torch.get_num_threads(), repeats, rows, 3.0, 1e-4);
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
