using System.Runtime.InteropServices;
using NcclSharp;

namespace NcclSharp.Tests;

/// <summary>
/// What happens with and without libnccl.so.2 / libcudart. Each test first finds out on its own
/// whether the library can be loaded here and then asserts the matching behaviour, so it checks
/// something real on CPU machines and on GPU machines alike.
/// </summary>
public class AvailabilityTests
{
    private static bool CanLoad(string? explicitPath, params string[] names)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath) && NativeLibrary.TryLoad(explicitPath, out _))
        {
            return true;
        }

        return names.Any(name => NativeLibrary.TryLoad(name, out _));
    }

    private static bool NcclLoadable => CanLoad(Environment.GetEnvironmentVariable("NCCL_LIBRARY"), "libnccl.so.2");

    private static bool CudartLoadable =>
        CanLoad(Environment.GetEnvironmentVariable("CUDART_LIBRARY"), "libcudart.so.13", "libcudart.so.12", "libcudart.so");

    [Fact]
    public void IsAvailableMatchesWhetherLibncclLoads()
    {
        Assert.Equal(NcclLoadable, Nccl.IsAvailable);
        Assert.Equal(Nccl.IsAvailable, Nccl.UnavailableReason is null);
    }

    [Fact]
    public void CreatingAUniqueIdFailsClearlyWithoutNcclAndWorksWithIt()
    {
        if (Nccl.IsAvailable)
        {
            var id = NcclUniqueId.Create();
            Assert.Contains(id.ToBytes(), b => b != 0);
            Assert.Equal(2, Nccl.Version.Major);
            return;
        }

        var ex = Assert.Throws<NcclException>(NcclUniqueId.Create);
        Assert.Contains("libnccl.so.2", ex.Message);
        Assert.Contains("NCCL_LIBRARY", ex.Message);
        Assert.Contains("nvidia-nccl-cu12", ex.Message);
        Assert.Contains("Gloo", ex.Message);
        Assert.Null(ex.Function);
    }

    [Fact]
    public void EveryEntryPointReportsTheMissingLibrary()
    {
        if (Nccl.IsAvailable)
        {
            // Exercised for real by the GPU tests; here only the version must be readable.
            Assert.True(Nccl.VersionCode > 2000);
            return;
        }

        var zeroId = NcclUniqueId.FromBytes(new byte[NcclUniqueId.Size]);
        Action[] calls =
        [
            () => _ = Nccl.Version,
            () => _ = Nccl.VersionCode,
            () => NcclCommunicator.Create(zeroId, 1, 0).Dispose(),
            () => NcclGroup.Begin().Dispose(),
            Nccl.EnsureAvailable,
        ];
        foreach (var call in calls)
        {
            var ex = Assert.Throws<NcclException>(call);
            Assert.Contains("libnccl.so.2", ex.Message);
        }
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(2, -1)]
    [InlineData(2, 2)]
    public void CommunicatorArgumentsAreCheckedBeforeLoadingNccl(int worldSize, int rank)
    {
        var id = NcclUniqueId.FromBytes(new byte[NcclUniqueId.Size]);

        Assert.Throws<ArgumentOutOfRangeException>(() => NcclCommunicator.Create(id, worldSize, rank));
    }

    [Fact]
    public void DeviceCountNeverThrowsAndIsZeroWithoutCudart()
    {
        var count = CudaRuntime.DeviceCount();
        var ok = CudaRuntime.TryGetDeviceCount(out var tried, out var failure);

        Assert.Equal(ok ? tried : 0, count);
        Assert.True(count >= 0);
        if (!CudartLoadable)
        {
            Assert.Equal(0, count);
            Assert.False(ok);
            Assert.Contains("libcudart", failure);
            var ex = Assert.Throws<CudaException>(() => CudaRuntime.Malloc(16));
            Assert.Contains("libcudart not found", ex.Message);
        }
    }

    [Fact]
    public void GpuFactSkipsExactlyWhenGpuOrNcclIsMissing()
    {
        var runnable = CudaRuntime.DeviceCount() > 0 && Nccl.IsAvailable;
        var skip = new GpuFactAttribute().Skip;

        if (runnable)
        {
            Assert.Null(skip);
        }
        else
        {
            Assert.NotNull(skip);
            Assert.Contains(CudaRuntime.DeviceCount() == 0 ? "no CUDA GPU" : "libnccl.so.2", skip);
        }
    }
}

/// <summary>The probe order: explicit path first, then the default search by each name in turn.</summary>
public class LibraryProbeTests
{
    private static readonly string RealLibraryPath =
        Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "libSystem.Native.so");

    [Fact]
    public void UsesTheExplicitPathFirst()
    {
        Assert.True(File.Exists(RealLibraryPath), RealLibraryPath);

        var probe = NativeLibraries.Probe("TEST_LIBRARY", RealLibraryPath, ["libdefinitely-missing.so.9"]);

        Assert.True(probe.IsLoaded);
        Assert.Null(probe.Failure);
        Assert.Equal(NativeLibrary.Load(RealLibraryPath), probe.Handle);
    }

    [Fact]
    public void FallsBackToTheDefaultSearchByName()
    {
        var probe = NativeLibraries.Probe("TEST_LIBRARY", "/nonexistent/dir/libfoo.so", ["libdefinitely-missing.so.9", "libc.so.6"]);

        Assert.True(probe.IsLoaded);
        Assert.Equal(NativeLibrary.Load("libc.so.6"), probe.Handle);
    }

    [Fact]
    public void ReportsEveryFailedAttempt()
    {
        var probe = NativeLibraries.Probe("TEST_LIBRARY", "/nonexistent/dir/libfoo.so", ["libdefinitely-missing.so.9"]);

        Assert.False(probe.IsLoaded);
        Assert.Equal(IntPtr.Zero, probe.Handle);
        Assert.Contains("TEST_LIBRARY=/nonexistent/dir/libfoo.so", probe.Failure);
        Assert.Contains("default search for libdefinitely-missing.so.9: libdefinitely-missing.so.9: cannot open shared object file", probe.Failure);
        Assert.DoesNotContain("strace", probe.Failure);
    }

    [Theory]
    [InlineData(
        "Unable to load shared library 'x.so' or one of its dependencies. Hint: \nx.so: invalid ELF header\n",
        "x.so: invalid ELF header")]
    [InlineData("plain message ", "plain message")]
    [InlineData("head\nline one\n line two \n", "line one line two")]
    public void KeepsTheDynamicLoadersOwnText(string message, string expected) =>
        Assert.Equal(expected, NativeLibraries.LoaderMessage(message));

    [Fact]
    public void SaysWhenTheVariableIsUnset()
    {
        var probe = NativeLibraries.Probe("TEST_LIBRARY", null, ["libdefinitely-missing.so.9"]);

        Assert.False(probe.IsLoaded);
        Assert.StartsWith("TEST_LIBRARY is not set; ", probe.Failure);
    }
}
