using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MoLA.Torch.Native;

/// <summary>
/// Finds libmola_torch.so for every DllImport("mola_torch") in this assembly. Search order:
/// $MOLA_TORCH_LIB (a full path), the application directory, then native/build/ of the
/// repository the application runs from (found by walking up to MoLA.Distributed.sln).
/// A missing library or libtorch becomes a DllNotFoundException that says what to install.
/// <para>
/// Before the first load it sets OMP_WAIT_POLICY=PASSIVE in the process environment (libc setenv, which OpenMP
/// reads when it initialises) unless the user set a policy: with spinning OpenMP workers, a machine whose cores are
/// shared (other ranks, other jobs, CI) ran our training steps 12x slower (measured: 250 vs 3,000 tokens/s, load 18 on
/// 2 cores); on a quiet machine PASSIVE costs nothing measurable for our op sizes (bench moe-layer). It also picks
/// OpenBLAS's kernel family from the CPU's flags (<see cref="OpenBlasCore"/>) unless the user set one.
/// </para>
/// </summary>
internal static partial class NativeLibraryLoader
{
    internal const string LibraryName = "mola_torch";
    internal const string FileName = "libmola_torch.so";
    internal const string InstallHint =
        "Build it with `./mola build` from the repository root (needs Debian packages libtorch-dev libgloo-dev " +
        "libopenblas0-pthread: `apt-get install -y libtorch-dev libgloo-dev libopenblas0-pthread`), " +
        "or set MOLA_TORCH_LIB to the library's full path";

    [ModuleInitializer]
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != LibraryName) return IntPtr.Zero;
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null) _ = setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
        OpenBlasCore.SelectBeforeLoad((name, value) => setenv(name, value, 0));
        var candidates = Candidates().ToList();
        var failures = new List<string>();
        foreach (var path in candidates)
        {
            if (!File.Exists(path)) continue;
            if (NativeLibrary.TryLoad(path, out var handle)) return handle;
            // The file exists but dlopen failed: almost always libtorch itself is missing.
            try { NativeLibrary.Load(path); }
            catch (DllNotFoundException e) { failures.Add($"{path}: {e.Message}"); }
        }
        var why = failures.Count > 0
            ? "found but could not load it (" + string.Join("; ", failures) + ")"
            : "not found (looked in: " + string.Join(", ", candidates) + ")";
        throw new DllNotFoundException($"{FileName} {why}. {InstallHint}.");
    }

    internal static IEnumerable<string> Candidates()
    {
        var env = Environment.GetEnvironmentVariable("MOLA_TORCH_LIB");
        if (!string.IsNullOrWhiteSpace(env)) { yield return env; yield break; }
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MoLA.Distributed.sln")))
            {
                yield return Path.Combine(dir.FullName, "native", "build", FileName);
                yield break;
            }
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
