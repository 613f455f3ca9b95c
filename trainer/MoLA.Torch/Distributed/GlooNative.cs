using System.Runtime.InteropServices;

namespace MoLA.Torch.Distributed;

/// <summary>
/// P/Invoke declarations of native/src/c10d.cpp (TCPStore and Gloo process groups). Handles are
/// owned native objects released by <c>mt_store_free</c> / <c>mt_pg_free</c>; functions return
/// 0 (or a non-null pointer) on success, -1 (or null) on error with the text in
/// <c>mt_last_error</c>, which is per thread, so it must be read on the calling thread.
/// </summary>
internal static unsafe partial class GlooNative
{
    private const string Lib = "mola_torch";

    [DllImport(Lib)] internal static extern IntPtr mt_last_error();
    [DllImport(Lib)] internal static extern void mt_clear_error();

    [DllImport(Lib)] internal static extern StoreSafeHandle mt_store_create(byte* host, int port, int isServer, int worldSize, long timeoutMs, int waitWorkers);
    [DllImport(Lib)] internal static extern int mt_store_port(StoreSafeHandle store);
    [DllImport(Lib)] internal static extern int mt_store_set(StoreSafeHandle store, byte* key, byte* data, long len);
    [DllImport(Lib)] internal static extern byte* mt_store_get(StoreSafeHandle store, byte* key, long* len);
    [DllImport(Lib)] internal static extern int mt_store_add(StoreSafeHandle store, byte* key, long delta, long* result);
    [DllImport(Lib)] internal static extern int mt_store_wait(StoreSafeHandle store, byte** keys, int n, long timeoutMs);
    [DllImport(Lib)] internal static extern int mt_store_check(StoreSafeHandle store, byte** keys, int n);
    [DllImport(Lib)] internal static extern int mt_store_delete(StoreSafeHandle store, byte* key);
    [DllImport(Lib)] internal static extern void mt_store_free(IntPtr store);

    [DllImport(Lib)] internal static extern PgSafeHandle mt_pg_gloo_create(StoreSafeHandle store, byte* group, int rank, int size, long timeoutMs, byte* hostname, byte* iface);
    [DllImport(Lib)] internal static extern int mt_pg_rank(PgSafeHandle pg);
    [DllImport(Lib)] internal static extern int mt_pg_size(PgSafeHandle pg);
    [DllImport(Lib)] internal static extern int mt_pg_allreduce(PgSafeHandle pg, IntPtr tensor, int op);
    [DllImport(Lib)] internal static extern int mt_pg_broadcast(PgSafeHandle pg, IntPtr tensor, int root);
    [DllImport(Lib)] internal static extern int mt_pg_allgather(PgSafeHandle pg, IntPtr input, IntPtr output);
    [DllImport(Lib)] internal static extern int mt_pg_alltoall(PgSafeHandle pg, IntPtr output, IntPtr input, long* outSplits, long* inSplits, int n);
    [DllImport(Lib)] internal static extern int mt_pg_barrier(PgSafeHandle pg);
    [DllImport(Lib)] internal static extern void mt_pg_free(IntPtr pg);

    /// <summary>Reads and clears the calling thread's native error, without the native op prefix.</summary>
    internal static string TakeError()
    {
        var text = Marshal.PtrToStringUTF8(mt_last_error()) ?? "";
        mt_clear_error();
        // The native text starts with its entry point's name ("pg_allreduce: ..."); callers name the op.
        var colon = text.IndexOf(": ", StringComparison.Ordinal);
        if (colon > 0 && colon < 24 && !text[..colon].Contains(' ')) text = text[(colon + 2)..];
        text = text.Trim();
        return text.Length > 0 ? text : "unknown native error (no message)";
    }

    /// <summary>
    /// True when a native message reports a timeout: c10d.cpp words every timeout (its own, Gloo's
    /// "Timed out waiting ...", c10d's "Socket Timeout") as "timed out ... (timeout N ms)".
    /// </summary>
    internal static bool IsTimeoutText(string text) => text.Contains("timed out", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// An owned native TCPStore. As a SafeHandle it is kept alive for the duration of every
/// P/Invoke that receives it, so Dispose (or finalization) during a blocking get/wait on
/// another thread frees the store only after that call returned.
/// </summary>
internal sealed class StoreSafeHandle : SafeHandle
{
    public StoreSafeHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        GlooNative.mt_store_free(handle);
        return true;
    }
}

/// <summary>An owned native Gloo process group; see <see cref="StoreSafeHandle"/> for the lifetime rules.</summary>
internal sealed class PgSafeHandle : SafeHandle
{
    public PgSafeHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        // Waits for in-flight work, which Gloo's own timeout bounds.
        GlooNative.mt_pg_free(handle);
        return true;
    }
}

/// <summary>A NUL-terminated UTF-8 copy of a string, for passing as <c>const char*</c>.</summary>
internal static class Utf8Z
{
    internal static byte[] Of(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.Contains('\0')) throw new ArgumentException("string must not contain NUL characters", nameof(s));
        var n = System.Text.Encoding.UTF8.GetByteCount(s);
        var bytes = new byte[n + 1];
        System.Text.Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    internal static byte[]? OfNullable(string? s) => s is null ? null : Of(s);
}
