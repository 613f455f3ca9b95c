using MoLA.Cli.Diagnostics;

namespace MoLA.Cli.Tests;

public sealed class DiagnosticsTests
{
    [Fact]
    public void Build_config_settings_and_cpu_capability_are_parsed()
    {
        const string Text = """
            PyTorch built with:
              - GCC 12.2
              - CPU capability usage: AVX2
              - Build settings: BLAS_INFO=open, BUILD_TYPE=Release, CXX_FLAGS=-O2 -fPIC -Wall, LAPACK_INFO=open, USE_CUDA=OFF, 
            """;
        var config = BuildConfig.Parse(Text);
        Assert.Equal("open", config["BLAS_INFO"]);
        Assert.Equal("open", config["LAPACK_INFO"]);
        Assert.Equal("-O2 -fPIC -Wall", config["CXX_FLAGS"]);
        Assert.Equal("OFF", config["USE_CUDA"]);
        Assert.Equal("AVX2", config.CpuCapability);
        Assert.Null(config["MISSING"]);
    }

    [Theory]
    [InlineData("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so", "openblas-pthread", false)]
    [InlineData("/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas-r0.3.21.so", "openblas-serial", true)]
    [InlineData("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", "reference", true)]
    [InlineData("/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblaso-r0.3.21.so", "openblas-openmp", false)]
    public void Loaded_blas_is_classified_and_slow_ones_warned_about(string path, string kind, bool warns)
    {
        var maps = new[]
        {
            "7f0000000000-7f0000001000 r--p 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6",
            $"7f0000001000-7f0000002000 r-xp 00001000 08:01 456 {path}",
            $"7f0000002000-7f0000003000 r--p 00002000 08:01 456 {path}",
            "7f0000003000-7f0000004000 rw-p 00000000 00:00 0 ",
        };
        var loaded = BlasProbe.LoadedLibraries(maps);
        Assert.Equal([path], loaded);
        var report = BlasProbe.Classify(loaded);
        Assert.Equal(kind, report.Kind);
        Assert.Equal(kind == "openblas-pthread", report.OpenBlasPthread);
        Assert.Equal(warns, report.Warning is not null);
        if (warns) Assert.Contains("apt-get install -y libopenblas0-pthread", report.Warning);
    }
}
