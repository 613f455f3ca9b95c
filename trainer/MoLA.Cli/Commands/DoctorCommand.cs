using System.CommandLine;
using System.Runtime.InteropServices;
using MoLA.Cli.Benchmarks;
using MoLA.Cli.Diagnostics;
using MoLA.Cli.Output;
using MoLA.Torch;
using MoLA.Torch.Native;
using NcclSharp;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola doctor</c>: what this machine runs on (libtorch build, BLAS actually loaded, threads,
/// CPU, NCCL, .NET) and its measured fp32 GEMM throughput, the peak MFU figures are quoted against.
/// </summary>
internal static class DoctorCommand
{
    public static readonly int[] GemmSizes = [1024, 2048];
    public const int GemmWarmupRuns = 2;
    public const int GemmTimedRuns = 7;

    public static Command Create()
    {
        var json = CommonOptions.Json();
        var threads = CommonOptions.Threads();
        var command = new Command("doctor", "Check the runtime (libtorch, BLAS, threads, CPU, NCCL, .NET) and measure this machine's fp32 GEMM GFLOP/s")
        {
            json,
            threads,
        };
        command.SetAction(parse =>
        {
            var report = Collect(parse.GetValue(threads));
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json)) Json.Write(output, report);
            else WriteTable(output, report);
            if (report.NativeLibraryError is not null)
            {
                parse.InvocationConfiguration.Error.WriteLine($"mola: error: {report.NativeLibraryError}");
                return ExitCodes.NativeLibraryMissing;
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    public static DoctorReport Collect(int threads)
    {
        var warnings = new List<string>();
        var cpu = CpuInfo.Read();
        var nccl = ProbeNccl();
        var dotnet = new DotnetSection(
            Environment.Version.ToString(), RuntimeInformation.FrameworkDescription,
            RuntimeInformation.OSDescription, RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant());

        LibtorchSection? libtorch = null;
        BlasSection? blas = null;
        ThreadsSection? threadInfo = null;
        GemmSection? gemm = null;
        string? nativeError = null;
        try
        {
            torch.set_num_threads(threads);
            var config = BuildConfig.Parse(torch.build_config);
            var cudaBuild = torch.cuda.is_built;
            var cudaAvailable = torch.cuda.is_available();
            libtorch = new LibtorchSection(
                torch.version,
                cudaBuild ? "cuda" : "cpu",
                cudaBuild,
                cudaAvailable,
                cudaBuild ? torch.cuda.device_count() : 0,
                config.CpuCapability,
                ParallelBackend(torch.parallel_info),
                MappedPath("libmola_torch.so"));
            if (cudaBuild && !cudaAvailable) warnings.Add("libtorch is a CUDA build but no CUDA device is usable (driver, CUDA_VISIBLE_DEVICES?)");

            threadInfo = new ThreadsSection(threads, torch.get_num_threads(),
                Environment.GetEnvironmentVariable("OMP_NUM_THREADS"), Environment.GetEnvironmentVariable("OPENBLAS_NUM_THREADS"));
            if (threadInfo.IntraOp != threads) warnings.Add($"asked for {threads} intra-op threads, libtorch runs {threadInfo.IntraOp}");

            gemm = MeasureGemm();

            // After the products: libblas.so.3 is certainly mapped by now.
            var probe = BlasProbe.Inspect();
            var core = OpenBlasCore.InUse();
            var check = SelfCheckGemm(256);
            blas = new BlasSection(config["BLAS_INFO"], config["LAPACK_INFO"], probe.Kind, probe.OpenBlasPthread, probe.Loaded,
                core, OpenBlasCore.Best, OpenBlasCore.Source, check);
            if (core is not null && OpenBlasCore.IsGeneric(core) && OpenBlasCore.Best is { } best)
                warnings.Add($"OpenBLAS runs its generic {core} kernels on a CPU that supports {best}: matmuls run several times slower; set OPENBLAS_CORETYPE={best}");
            if (!check.Ok)
                warnings.Add($"fp32 GEMM self-check failed ({check.WorstRatioToBound:G3} x the rounding bound) with OpenBLAS core {core ?? "?"}: " +
                    $"set {OpenBlasCore.OptOut}=default (or another OPENBLAS_CORETYPE) and run mola doctor again");
            // A pip torch links MKL statically (BLAS_INFO=mkl): no BLAS library is mapped, and none is needed.
            var staticMkl = probe.Kind == "unknown" && config["BLAS_INFO"] == "mkl";
            if (probe.Warning is not null && !staticMkl) warnings.Add(probe.Warning);
        }
        catch (Exception e) when (CliApp.FindNativeLibraryError(e) is { } missing)
        {
            nativeError = missing.Message;
        }

        var peak = gemm?.Sizes.MaxBy(s => s.BestGflops);
        return new DoctorReport(
            nativeError is null && warnings.Count == 0,
            libtorch, blas, threadInfo, cpu, nccl, dotnet, gemm,
            peak?.BestGflops, peak?.N, nativeError, warnings);
    }

    /// <summary>The installed Debian package's version (dpkg-query), or null off Debian or when not installed.</summary>
    private static string? DebianPackageVersion(string package)
    {
        try
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dpkg-query", ["-W", "-f", "${Version}", package])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            });
            if (p is null) return null;
            var text = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && text.Length > 0 ? text : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static GemmSelfCheck SelfCheckGemm(int n)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        var a = torch.randn([n, n]);
        var b = torch.randn([n, n]);
        var product = torch.matmul(a, b).to(DType.Float64);
        var exact = torch.matmul(a.to(DType.Float64), b.to(DType.Float64));
        var bound = torch.matmul(a.to(DType.Float64).abs(), b.to(DType.Float64).abs()).mul(n * Math.Pow(2, -23));
        var ratio = product.sub(exact).abs().div(bound).max().item();
        return new GemmSelfCheck(n, Stats.Round(ratio, 6), ratio <= 1);
    }

    private static GemmSection MeasureGemm()
    {
        var sizes = new List<GemmSize>();
        foreach (var n in GemmSizes)
        {
            using var bench = new GemmBenchmark(n);
            var seconds = bench.Run(GemmWarmupRuns, GemmTimedRuns);
            var best = seconds.Min();
            sizes.Add(new GemmSize(n, GemmWarmupRuns, GemmTimedRuns,
                Stats.Round(bench.Gflops(best), 2), Stats.Round(bench.Gflops(Stats.Median(seconds)), 2), Stats.Round(best, 6)));
        }
        return new GemmSection("float32", "cpu",
            $"C = A B with A, B of N(0,1) values, 2 n^3 flops per product; {GemmWarmupRuns} warm-up products, then the best " +
            $"(and median) of {GemmTimedRuns} timed ones per size; gemm_gflops is the highest best over the sizes (gemm_gflops_n says which)", sizes);
    }

    private static NcclSection ProbeNccl()
    {
        try
        {
            return Nccl.IsAvailable
                ? new NcclSection(true, Nccl.Version.ToString(), null)
                : new NcclSection(false, null, Nccl.UnavailableReason);
        }
        catch (Exception e)
        {
            return new NcclSection(false, null, e.Message);
        }
    }

    private static string? ParallelBackend(string parallelInfo)
    {
        const string Prefix = "ATen parallel backend:";
        foreach (var line in parallelInfo.Split('\n'))
        {
            var t = line.Trim();
            if (t.StartsWith(Prefix, StringComparison.Ordinal)) return t[Prefix.Length..].Trim();
        }
        return null;
    }

    private static string? MappedPath(string fileName)
    {
        if (!File.Exists("/proc/self/maps")) return null;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0 && line.EndsWith("/" + fileName, StringComparison.Ordinal)) return line[slash..].Trim();
        }
        return null;
    }

    private static void WriteTable(TextWriter o, DoctorReport r)
    {
        var t = new TextTable(("check", false), ("value", false)) { ShowHeader = false };
        if (r.Libtorch is { } lt)
        {
            t.Add("libtorch", $"{lt.Version} as the library reports it ({lt.Flavour.ToUpperInvariant()} build)" +
                (DebianPackageVersion("libtorch1.13") is { } deb ? $"; Debian package libtorch1.13 {deb} (Debian built 1.13.1 from a tree that still says 1.13.0)" : ""));
            t.Add("CUDA", lt.CudaBuild ? $"available: {Format.YesNo(lt.CudaAvailable)}, devices: {lt.CudaDeviceCount}" : "not built in (CPU-only libtorch)");
            t.Add("CPU kernels", $"{lt.CpuCapability ?? "?"}, parallel backend {lt.ParallelBackend ?? "?"}");
            t.Add("native library", lt.NativeLibrary ?? "?");
        }
        else
        {
            t.Add("libtorch", "NOT LOADED: " + r.NativeLibraryError);
        }
        if (r.Blas is { } b)
        {
            t.Add("BLAS (build)", $"BLAS_INFO={b.BlasInfo ?? "?"}, LAPACK_INFO={b.LapackInfo ?? "?"}");
            t.Add("BLAS (loaded)", $"{b.Kind}{(b.OpenblasPthread ? " (libopenblas0-pthread, good)" : "")}");
            if (b.OpenblasCore is not null)
                t.Add("OpenBLAS core", $"{b.OpenblasCore} ({b.CoreSource switch { "auto" => "chosen by mola from the CPU flags", "user" => "OPENBLAS_CORETYPE set by you", _ => "OpenBLAS's own detection" }}); best for this CPU: {b.BestCore ?? "unknown"}");
            t.Add("GEMM self-check", string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{(b.SelfCheck.Ok ? "ok" : "FAILED")}: fp32 {b.SelfCheck.N}^2 product vs float64, worst element at {b.SelfCheck.WorstRatioToBound:G3} x its rounding bound"));
            foreach (var path in b.Loaded) t.Add("", path);
        }
        if (r.Threads is { } th)
            t.Add("threads", $"intra-op {th.IntraOp} (requested {th.Requested}); OMP_NUM_THREADS={th.OmpNumThreads ?? "unset"}, OPENBLAS_NUM_THREADS={th.OpenblasNumThreads ?? "unset"}");
        t.Add("CPU", $"{r.Cpu.Model}, {r.Cpu.LogicalCores} usable logical cores ({r.Cpu.OnlineProcessors} online), {string.Join(' ', r.Cpu.VectorFlags)}");
        t.Add("NCCL", r.Nccl.Available ? $"available, {r.Nccl.Version}" : $"not available: {r.Nccl.Reason}");
        t.Add(".NET", $"{r.Dotnet.Framework} ({r.Dotnet.Architecture}), {r.Dotnet.Os}");
        if (r.Gemm is { } g)
        {
            foreach (var s in g.Sizes)
                t.Add($"fp32 GEMM {s.N}", $"{Format.Gflops(s.BestGflops)} GFLOP/s best, {Format.Gflops(s.MedianGflops)} median of {s.TimedRuns}");
            t.Add("gemm_gflops", $"{Format.Gflops(r.GemmGflops)} (peak for MFU: best fp32 product, at {r.GemmGflopsN}x{r.GemmGflopsN}; {GemmTimedRuns} timed after {GemmWarmupRuns} warm-up per size)");
        }
        t.Write(o);
        foreach (var w in r.Warnings) o.WriteLine($"WARNING: {w}");
        o.WriteLine(r.Ok ? "OK" : "PROBLEMS FOUND (see above)");
    }
}

internal sealed record DoctorReport(
    bool Ok,
    LibtorchSection? Libtorch,
    BlasSection? Blas,
    ThreadsSection? Threads,
    CpuInfo Cpu,
    NcclSection Nccl,
    DotnetSection Dotnet,
    GemmSection? Gemm,
    double? GemmGflops,
    int? GemmGflopsN,
    string? NativeLibraryError,
    IReadOnlyList<string> Warnings);

internal sealed record LibtorchSection(
    string Version, string Flavour, bool CudaBuild, bool CudaAvailable, int CudaDeviceCount,
    string? CpuCapability, string? ParallelBackend, string? NativeLibrary);

internal sealed record BlasSection(string? BlasInfo, string? LapackInfo, string Kind, bool OpenblasPthread, IReadOnlyList<string> Loaded,
    string? OpenblasCore, string? BestCore, string CoreSource, GemmSelfCheck SelfCheck);

/// <summary>
/// An fp32 GEMM against the float64 product of the same inputs: every element within the worst-case rounding bound
/// k 2^-23 (|A| |B|)_ij (Higham's gamma_k for a k-term dot product, doubled for slack). A wrong kernel misses it by far.
/// </summary>
internal sealed record GemmSelfCheck(int N, double WorstRatioToBound, bool Ok);

internal sealed record ThreadsSection(int Requested, int IntraOp, string? OmpNumThreads, string? OpenblasNumThreads);

internal sealed record NcclSection(bool Available, string? Version, string? Reason);

internal sealed record DotnetSection(string Runtime, string Framework, string Os, string Architecture);

internal sealed record GemmSection(string Dtype, string Device, string Method, IReadOnlyList<GemmSize> Sizes);

internal sealed record GemmSize(int N, int WarmupRuns, int TimedRuns, double BestGflops, double MedianGflops, double BestSeconds);
