using System.Runtime.InteropServices;
using System.Text;
using static MoLA.Torch.Distributed.GlooNative;

namespace MoLA.Torch.Distributed;

/// <summary>
/// A c10d TCPStore: the key-value store ranks rendezvous through. Rank 0 (or the launcher)
/// runs the server, every other process connects as a client; process groups created over
/// it (<see cref="GlooProcessGroup"/>) keep their keys under a per-group prefix, so one store
/// serves several groups. The timeout bounds connecting, <see cref="Get(string)"/> and
/// <see cref="Wait(string[])"/>; a get or wait that timed out throws a
/// <see cref="StoreException"/> (IsTimeout) and the store reconnects, so later calls are not
/// confused by the abandoned wait. Thread-safe for concurrent calls (c10d serialises them).
/// </summary>
public sealed unsafe class TcpStore : IDisposable
{
    private readonly StoreSafeHandle _handle;

    private TcpStore(StoreSafeHandle handle, string host, bool isServer, TimeSpan timeout)
    {
        _handle = handle;
        Host = host;
        IsServer = isServer;
        Timeout = timeout;
        Port = mt_store_port(handle);
    }

    /// <summary>The server's address (a client's target; a server listens on all interfaces).</summary>
    public string Host { get; }

    /// <summary>The server's port (the chosen one when the server was created with port 0).</summary>
    public int Port { get; }

    public bool IsServer { get; }
    public TimeSpan Timeout { get; }

    internal StoreSafeHandle Handle =>
        !_handle.IsClosed ? _handle : throw new ObjectDisposedException(nameof(TcpStore), "store used after Dispose()");

    /// <summary>
    /// Creates the store. A server binds <paramref name="port"/> (0 = any free port, see
    /// <see cref="Port"/>) and fails at once, naming the port, when it is in use. A client
    /// waits up to <paramref name="timeout"/> for the server to accept connections (the
    /// start order of the processes does not matter) and then fails with "timed out".
    /// <paramref name="worldSize"/> &lt;= 0 means unknown; with <paramref name="waitForWorkers"/>
    /// a server blocks until that many stores (its own included) have joined.
    /// </summary>
    public static TcpStore Create(string host, int port, bool isServer, TimeSpan timeout, int worldSize = 0, bool waitForWorkers = false)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var ms = ToMilliseconds(timeout);
        var h = Utf8Z.Of(host);
        StoreSafeHandle handle;
        fixed (byte* hp = h)
            handle = mt_store_create(hp, port, isServer ? 1 : 0, worldSize, ms, waitForWorkers ? 1 : 0);
        if (handle.IsInvalid)
        {
            var error = TakeError();
            handle.Dispose();
            throw new StoreException(isServer ? "server start" : "connect", host, port, error);
        }
        return new TcpStore(handle, host, isServer, timeout);
    }

    /// <summary>Starts a server on <paramref name="port"/> (0 = any free port).</summary>
    public static TcpStore CreateServer(int port, TimeSpan timeout, int worldSize = 0, bool waitForWorkers = false, string host = "127.0.0.1") =>
        Create(host, port, isServer: true, timeout, worldSize, waitForWorkers);

    /// <summary>Connects to the server at host:port, waiting up to <paramref name="timeout"/> for it to listen.</summary>
    public static TcpStore Connect(string host, int port, TimeSpan timeout, int worldSize = 0) =>
        Create(host, port, isServer: false, timeout, worldSize, waitForWorkers: false);

    public void Set(string key, ReadOnlySpan<byte> value)
    {
        var k = Utf8Z.Of(key);
        fixed (byte* kp = k)
        fixed (byte* vp = value)
            Ensure(mt_store_set(Handle, kp, vp, value.Length), "set", key);
    }

    public void Set(string key, string value) => Set(key, Encoding.UTF8.GetBytes(value));

    /// <summary>The value of <paramref name="key"/>, waiting up to the store's timeout for it to be set.</summary>
    public byte[] Get(string key)
    {
        var k = Utf8Z.Of(key);
        long len;
        byte* p;
        fixed (byte* kp = k)
            p = mt_store_get(Handle, kp, &len);
        if (p == null) throw Fail("get", key);
        return new ReadOnlySpan<byte>(p, checked((int)len)).ToArray();
    }

    public string GetString(string key) => Encoding.UTF8.GetString(Get(key));

    /// <summary>Atomically adds <paramref name="delta"/> to the integer counter <paramref name="key"/> (created as 0) and returns the new value.</summary>
    public long Add(string key, long delta)
    {
        var k = Utf8Z.Of(key);
        long result;
        fixed (byte* kp = k)
            Ensure(mt_store_add(Handle, kp, delta, &result), "add", key);
        return result;
    }

    /// <summary>Blocks until every key is set, up to the store's timeout.</summary>
    public void Wait(params string[] keys) => WaitCore(keys, -1);

    /// <summary>Blocks until every key is set, up to <paramref name="timeout"/>.</summary>
    public void Wait(TimeSpan timeout, params string[] keys) => WaitCore(keys, ToMilliseconds(timeout));

    /// <summary>True when every key is set (does not wait).</summary>
    public bool Check(params string[] keys)
    {
        var rc = WithKeys(keys, (pp, n) => mt_store_check(Handle, pp, n));
        if (rc < 0) throw Fail("check", string.Join(", ", keys));
        return rc == 1;
    }

    /// <summary>Deletes <paramref name="key"/>; false when it did not exist.</summary>
    public bool Delete(string key)
    {
        var k = Utf8Z.Of(key);
        int rc;
        fixed (byte* kp = k)
            rc = mt_store_delete(Handle, kp);
        if (rc < 0) throw Fail("delete", key);
        return rc == 1;
    }

    /// <summary>Closes the connection (a server also stops serving); process groups created over it keep their own connection.</summary>
    public void Dispose() => _handle.Dispose();

    public override string ToString() => $"TcpStore({(IsServer ? "server" : "client")} {Host}:{Port})";

    private void WaitCore(string[] keys, long timeoutMs)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (WithKeys(keys, (pp, n) => mt_store_wait(Handle, pp, n, timeoutMs)) < 0)
            throw Fail("wait", string.Join(", ", keys));
    }

    private delegate int KeysCall(byte** keys, int n);

    private static int WithKeys(string[] keys, KeysCall call)
    {
        var ptrs = new IntPtr[keys.Length];
        try
        {
            for (var i = 0; i < keys.Length; i++)
            {
                ArgumentNullException.ThrowIfNull(keys[i], nameof(keys));
                ptrs[i] = Marshal.StringToCoTaskMemUTF8(keys[i]);
            }
            fixed (IntPtr* pp = ptrs)
                return call((byte**)pp, keys.Length);
        }
        finally
        {
            foreach (var p in ptrs)
                if (p != IntPtr.Zero) Marshal.FreeCoTaskMem(p);
        }
    }

    private void Ensure(int rc, string op, string key)
    {
        if (rc < 0) throw Fail(op, key);
    }

    private StoreException Fail(string op, string keys) => new($"{op} '{keys}'", Host, Port, TakeError());

    internal static long ToMilliseconds(TimeSpan timeout)
    {
        var ms = (long)Math.Ceiling(timeout.TotalMilliseconds);
        if (ms <= 0) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be positive");
        return ms;
    }
}
