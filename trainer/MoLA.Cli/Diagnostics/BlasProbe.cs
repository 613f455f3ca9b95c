namespace MoLA.Cli.Diagnostics;

/// <summary>Which BLAS implementation libtorch actually runs on, from the libraries mapped into this process.</summary>
internal sealed record BlasReport(string Kind, bool OpenBlasPthread, IReadOnlyList<string> Loaded, string? Warning);

/// <summary>
/// Debian's libtorch is built against the generic BLAS interface (BLAS_INFO=generic): the library
/// behind libblas.so.3 is chosen at run time by update-alternatives. The multi-threaded OpenBLAS
/// (libopenblas0-pthread) is the one to have; the reference BLAS is about 40x slower on GEMM and
/// the serial OpenBLAS uses one core. The truth is in /proc/self/maps once libtorch is loaded.
/// </summary>
internal static class BlasProbe
{
    public const string InstallHint = "apt-get install -y libopenblas0-pthread";

    public static BlasReport Inspect() => Classify(LoadedLibraries(File.Exists("/proc/self/maps") ? File.ReadLines("/proc/self/maps") : []));

    /// <summary>Distinct paths of mapped BLAS/LAPACK-like libraries, in order of first appearance.</summary>
    public static IReadOnlyList<string> LoadedLibraries(IEnumerable<string> mapsLines)
    {
        var seen = new List<string>();
        foreach (var line in mapsLines)
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0) continue;
            var path = line[slash..].Trim();
            var name = Path.GetFileName(path).ToLowerInvariant();
            var isBlas = name.Contains("blas", StringComparison.Ordinal) || name.Contains("lapack", StringComparison.Ordinal)
                || name.StartsWith("libmkl", StringComparison.Ordinal) || name.StartsWith("libblis", StringComparison.Ordinal);
            if (isBlas && !seen.Contains(path, StringComparer.Ordinal)) seen.Add(path);
        }
        return seen;
    }

    public static BlasReport Classify(IReadOnlyList<string> loaded)
    {
        bool Any(Func<string, bool> p) => loaded.Any(p);
        static string Lower(string s) => s.ToLowerInvariant();

        if (Any(p => Lower(p).Contains("openblas-pthread", StringComparison.Ordinal) || Path.GetFileName(p).StartsWith("libopenblasp", StringComparison.Ordinal)))
            return new BlasReport("openblas-pthread", true, loaded, null);
        if (Any(p => Lower(p).Contains("openblas-openmp", StringComparison.Ordinal) || Path.GetFileName(p).StartsWith("libopenblaso", StringComparison.Ordinal)))
            return new BlasReport("openblas-openmp", false, loaded, null);
        if (Any(p => Lower(p).Contains("openblas-serial", StringComparison.Ordinal) || Path.GetFileName(p).StartsWith("libopenblas-r", StringComparison.Ordinal)))
            return new BlasReport("openblas-serial", false, loaded,
                $"the serial OpenBLAS is loaded: GEMM runs on one core. Install the threaded one: {InstallHint}");
        if (Any(p => Path.GetFileName(p).StartsWith("libmkl", StringComparison.Ordinal)))
            return new BlasReport("mkl", false, loaded, null);
        if (Any(p => Path.GetFileName(p).StartsWith("libblis", StringComparison.Ordinal)))
            return new BlasReport("blis", false, loaded, null);
        if (Any(p => Path.GetFileName(p).StartsWith("libopenblas", StringComparison.Ordinal)))
            return new BlasReport("openblas", false, loaded, null);
        if (Any(p => Path.GetFileName(p).StartsWith("libblas", StringComparison.Ordinal)))
            return new BlasReport("reference", false, loaded,
                $"the reference BLAS (netlib) is loaded: matrix products are about 40x slower than with OpenBLAS. Install it: {InstallHint}");
        return new BlasReport("unknown", false, loaded,
            "no BLAS library is mapped into this process (libtorch may use its own kernels); expected the OpenBLAS of libopenblas0-pthread");
    }
}
