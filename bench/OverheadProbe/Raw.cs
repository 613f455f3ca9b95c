using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MoLA.Bench.OverheadProbe;

/// <summary>
/// Our own declarations of a few libmola_torch entry points (MoLA.Torch keeps its own internal),
/// to time the native call without the C# Tensor wrapper. Resolved to the library MoLA.Torch loads.
/// </summary>
internal static unsafe class Raw
{
    private const string Lib = "mola_torch";

    [ModuleInitializer]
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(Raw).Assembly, (name, _, _) => name == Lib ? NativeLibrary.Load(LibraryPath()) : IntPtr.Zero);

    public static string LibraryPath()
    {
        var env = Environment.GetEnvironmentVariable("MOLA_TORCH_LIB");
        if (!string.IsNullOrWhiteSpace(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MoLA.Distributed.sln")))
                return Path.Combine(dir.FullName, "native", "build", "libmola_torch.so");
        throw new DllNotFoundException("libmola_torch.so: set MOLA_TORCH_LIB");
    }

    // Values of native/src/ops.h (FillKind.Randn = 5, BinaryOp.Add = 0 / Mul = 2, UnaryOp.Relu = 11, ViewOp.View = 0).
    public const int FillRandn = 5;
    public const int BinaryAdd = 0;
    public const int BinaryMul = 2;
    public const int UnaryRelu = 11;
    public const int ViewView = 0;

    [DllImport(Lib)] public static extern IntPtr mt_new(int kind, long* shape, int ndim, double value, int dtype, int deviceType, int deviceIndex);
    [DllImport(Lib)] public static extern IntPtr mt_binary(int op, IntPtr a, IntPtr b, double alpha);
    [DllImport(Lib)] public static extern IntPtr mt_unary(int op, IntPtr a);
    [DllImport(Lib)] public static extern IntPtr mt_view(int op, IntPtr a, long* args, int nargs);
    [DllImport(Lib)] public static extern void mt_free(IntPtr t);

    [DllImport(Lib, EntryPoint = "mt_binary"), SuppressGCTransition] public static extern IntPtr mt_binary_nogc(int op, IntPtr a, IntPtr b, double alpha);
    [DllImport(Lib, EntryPoint = "mt_view"), SuppressGCTransition] public static extern IntPtr mt_view_nogc(int op, IntPtr a, long* args, int nargs);
    [DllImport(Lib, EntryPoint = "mt_free"), SuppressGCTransition] public static extern void mt_free_nogc(IntPtr t);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")] private static extern int clock_gettime(int clockId, Timespec* time);

    /// <summary>CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID) in nanoseconds.</summary>
    public static double ThreadCpuNs()
    {
        Timespec ts;
        if (clock_gettime(3, &ts) != 0) throw new InvalidOperationException("clock_gettime failed");
        return ts.Seconds * 1e9 + ts.Nanoseconds;
    }

    public static IntPtr Randn(long rows, long cols)
    {
        var shape = stackalloc long[] { rows, cols };
        return mt_new(FillRandn, shape, 2, 0, 6, 0, -1);
    }
}
