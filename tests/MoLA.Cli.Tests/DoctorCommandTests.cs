using System.Text.Json;

namespace MoLA.Cli.Tests;

public sealed class DoctorCommandTests
{
    [Fact]
    public void Doctor_json_reports_libtorch_blas_threads_and_a_positive_gemm_peak()
    {
        var run = Cli.InProcess("doctor", "--json", "--threads", "2");
        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());

        using var doc = JsonDocument.Parse(run.Stdout);
        var root = doc.RootElement;
        Assert.StartsWith("1.13", root.GetProperty("libtorch").GetProperty("version").GetString());
        Assert.Equal("cpu", root.GetProperty("libtorch").GetProperty("flavour").GetString());
        Assert.True(root.GetProperty("gemm_gflops").GetDouble() > 0, run.Stdout);
        Assert.Contains(root.GetProperty("gemm_gflops_n").GetInt32(), new[] { 1024, 2048 });
        var best = root.GetProperty("gemm").GetProperty("sizes").EnumerateArray().Max(s => s.GetProperty("best_gflops").GetDouble());
        Assert.Equal(best, root.GetProperty("gemm_gflops").GetDouble());
        Assert.Equal(2, root.GetProperty("threads").GetProperty("intra_op").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("native_library_error").ValueKind);
        // The build machines have libopenblas0-pthread (docs/environment.md); doctor must find it mapped.
        Assert.Equal("openblas-pthread", root.GetProperty("blas").GetProperty("kind").GetString());
        Assert.True(root.GetProperty("blas").GetProperty("openblas_pthread").GetBoolean());
        // The kernel family is reported, not a generic fallback, and the fp32 GEMM passed its float64 check.
        var core = root.GetProperty("blas").GetProperty("openblas_core").GetString()!;
        Assert.False(MoLA.Torch.Native.OpenBlasCore.IsGeneric(core), core);
        Assert.True(root.GetProperty("blas").GetProperty("self_check").GetProperty("ok").GetBoolean(), run.Stdout);
        Assert.False(root.GetProperty("nccl").GetProperty("available").GetBoolean() && root.GetProperty("nccl").GetProperty("version").ValueKind == JsonValueKind.Null);
        Assert.True(root.GetProperty("cpu").GetProperty("logical_cores").GetInt32() >= 1);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("dotnet").GetProperty("runtime").GetString()));
        foreach (var size in root.GetProperty("gemm").GetProperty("sizes").EnumerateArray())
            Assert.True(size.GetProperty("best_gflops").GetDouble() >= size.GetProperty("median_gflops").GetDouble());
    }

    [Fact]
    public void A_missing_native_library_exits_3_with_the_install_hint_and_no_stack_trace()
    {
        var env = new Dictionary<string, string> { ["MOLA_TORCH_LIB"] = "/nonexistent/libmola_torch.so" };
        foreach (var args in new[] { new[] { "doctor" }, new[] { "bench", "ops", "--quick", "--json" } })
        {
            var run = Cli.ChildProcess(env, args);
            Assert.True(run.ExitCode == ExitCodes.NativeLibraryMissing, run.ToString());
            Assert.Contains("libmola_torch.so", run.Stderr);
            Assert.Contains("apt-get install", run.Stderr);
            Assert.DoesNotContain("   at ", run.Stderr + run.Stdout); // no stack trace
            Assert.DoesNotContain("Unhandled exception", run.Stderr);
        }
    }
}
