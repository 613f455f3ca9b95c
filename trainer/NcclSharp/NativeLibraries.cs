using System.Reflection;
using System.Runtime.InteropServices;

namespace NcclSharp;

/// <summary>Outcome of probing for a native library: a handle, or why none could be loaded.</summary>
/// <param name="Handle">The loaded library, or <see cref="IntPtr.Zero"/>.</param>
/// <param name="Failure">Every attempt that failed, with the loader's own message; null on success.</param>
internal sealed record LibraryProbe(IntPtr Handle, string? Failure)
{
    public bool IsLoaded => Handle != IntPtr.Zero;
}

/// <summary>
/// Finds libnccl.so.2 and libcudart for the <c>DllImport</c>s of this assembly.
/// </summary>
/// <remarks>
/// NCCL is not on the default library path of most machines (the pip wheels put it under
/// site-packages/nvidia/nccl/lib), so an explicit path in an environment variable is tried first,
/// then the operating system's ordinary search by soname. Nothing else is probed, so which file
/// gets loaded is always explainable. The result is cached for the life of the process because
/// a library, once loaded, cannot be swapped for another.
/// </remarks>
internal static class NativeLibraries
{
    /// <summary>Import name (and soname) of NCCL; the 2 is the ABI major version every NCCL 2.x ships.</summary>
    public const string NcclName = "libnccl.so.2";

    /// <summary>Environment variable holding the full path of libnccl.so.2.</summary>
    public const string NcclPathVariable = "NCCL_LIBRARY";

    /// <summary>
    /// Import name used by the CUDA runtime bindings; it is never a real file name, the resolver
    /// maps it onto whichever libcudart soname is present.
    /// </summary>
    public const string CudartImportName = "cudart";

    /// <summary>Environment variable holding the full path of libcudart.</summary>
    public const string CudartPathVariable = "CUDART_LIBRARY";

    /// <summary>CUDA runtime sonames, newest first, then the unversioned development link.</summary>
    public static readonly IReadOnlyList<string> CudartNames = ["libcudart.so.13", "libcudart.so.12", "libcudart.so"];

    private static readonly Lazy<LibraryProbe> s_nccl = new(
        () => Probe(NcclPathVariable, Environment.GetEnvironmentVariable(NcclPathVariable), [NcclName]));

    private static readonly Lazy<LibraryProbe> s_cudart = new(
        () => Probe(CudartPathVariable, Environment.GetEnvironmentVariable(CudartPathVariable), CudartNames));

    static NativeLibraries()
    {
        // One resolver per assembly is all the runtime allows; registering it here, before any
        // probe result is handed out, guarantees it is in place before the first P/Invoke.
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
    }

    /// <summary>The NCCL probe (performed once per process).</summary>
    public static LibraryProbe Nccl => s_nccl.Value;

    /// <summary>The CUDA runtime probe (performed once per process).</summary>
    public static LibraryProbe Cudart => s_cudart.Value;

    /// <summary>
    /// Tries <paramref name="explicitPath"/> (the value of <paramref name="variable"/>) and then each
    /// of <paramref name="names"/> through the OS loader's default search; collects each failure.
    /// </summary>
    internal static LibraryProbe Probe(string variable, string? explicitPath, IReadOnlyList<string> names)
    {
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            if (TryLoad(explicitPath, out var handle, out var error))
            {
                return new LibraryProbe(handle, null);
            }

            failures.Add($"{variable}={explicitPath}: {error}");
        }
        else
        {
            failures.Add($"{variable} is not set");
        }

        foreach (var name in names)
        {
            if (TryLoad(name, out var handle, out var error))
            {
                return new LibraryProbe(handle, null);
            }

            failures.Add($"default search for {name}: {error}");
        }

        return new LibraryProbe(IntPtr.Zero, string.Join("; ", failures));
    }

    private static bool TryLoad(string pathOrName, out IntPtr handle, out string? error)
    {
        try
        {
            // NativeLibrary.Load(string) is a plain dlopen: a path is used as is, a bare soname
            // goes through LD_LIBRARY_PATH, the ld.so cache and the system directories.
            handle = NativeLibrary.Load(pathOrName);
            error = null;
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException or ArgumentException)
        {
            handle = IntPtr.Zero;
            error = LoaderMessage(ex.Message);
            return false;
        }
    }

    /// <summary>
    /// Keeps the dynamic loader's own text (e.g. "libnccl.so.2: cannot open shared object file: No
    /// such file or directory"), which .NET puts after a newline following a generic hint.
    /// </summary>
    internal static string LoaderMessage(string message)
    {
        var newline = message.IndexOf('\n');
        var detail = newline >= 0 ? message[(newline + 1)..] : message;
        detail = string.Join(' ', detail.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return detail.Length > 0 ? detail : message.Trim();
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        // Returning zero lets the runtime's own probing run; it fails the same way and the public
        // API checks availability first, so callers still get the explanatory NcclException.
        return libraryName switch
        {
            NcclName => Nccl.Handle,
            CudartImportName => Cudart.Handle,
            _ => IntPtr.Zero,
        };
    }
}
