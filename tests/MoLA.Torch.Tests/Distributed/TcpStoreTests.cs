using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MoLA.Torch.Distributed;

namespace MoLA.Torch.Tests.Distributed;

[Collection(DistributedCollection.Name)]
public sealed class TcpStoreTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public void Server_and_client_share_keys()
    {
        using var server = TcpStore.CreateServer(0, Timeout);
        Assert.True(server.IsServer);
        Assert.InRange(server.Port, 1, 65535);
        using var client = TcpStore.Connect("127.0.0.1", server.Port, Timeout);
        Assert.False(client.IsServer);
        Assert.Equal(server.Port, client.Port);

        client.Set("bytes", new byte[] { 0, 1, 2, 255 });
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, server.Get("bytes"));
        server.Set("text", "grüße");
        Assert.Equal("grüße", client.GetString("text"));
        client.Set("empty", ReadOnlySpan<byte>.Empty);
        Assert.Empty(server.Get("empty"));
        var large = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        server.Set("large", large);
        Assert.Equal(large, client.Get("large"));

        Assert.Equal(5, server.Add("n", 5));
        Assert.Equal(3, client.Add("n", -2));
        Assert.Equal(3, server.Add("n", 0));

        Assert.True(server.Check("text", "n"));
        Assert.False(server.Check("text", "missing"));
        client.Wait("text", "bytes");
        Assert.True(client.Delete("text"));
        Assert.False(client.Delete("text"));
        Assert.False(server.Check("text"));
    }

    [Fact]
    public async Task Wait_for_a_key_set_later_by_another_thread()
    {
        using var server = TcpStore.CreateServer(0, Timeout);
        using var client = TcpStore.Connect("127.0.0.1", server.Port, Timeout);
        var setter = Task.Run(async () =>
        {
            await Task.Delay(200);
            server.Set("late", "here");
        });
        Assert.Equal("here", client.GetString("late"));  // get blocks until the key exists
        await setter;
    }

    [Fact]
    public void Wait_for_a_missing_key_times_out()
    {
        using var server = TcpStore.CreateServer(0, Timeout);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<StoreException>(() => server.Wait(TimeSpan.FromMilliseconds(300), "never"));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3));
        Assert.True(e.IsTimeout, e.Message);
        Assert.Contains("timed out", e.Message);
        Assert.Contains("300 ms", e.Message);
        Assert.Contains("'never'", e.Message);
    }

    [Fact]
    public void Store_stays_usable_after_a_timed_out_wait()
    {
        using var server = TcpStore.CreateServer(0, Timeout);
        using var client = TcpStore.Connect("127.0.0.1", server.Port, Timeout);
        Assert.Throws<StoreException>(() => client.Wait(TimeSpan.FromMilliseconds(200), "late"));
        // The abandoned wait's key appears afterwards; later answers must not be mixed up with it.
        server.Set("late", "1");
        client.Set("k", "v");
        Assert.Equal("v", client.GetString("k"));
        Assert.Equal(7, client.Add("counter", 7));
        Assert.Equal("1", client.GetString("late"));
    }

    [Fact]
    public void Get_of_a_missing_key_times_out_with_the_store_timeout()
    {
        using var server = TcpStore.CreateServer(0, TimeSpan.FromMilliseconds(400));
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<StoreException>(() => server.Get("never"));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(3));
        Assert.True(e.IsTimeout, e.Message);
        Assert.Contains("timed out", e.Message);
        Assert.Contains("never", e.Message);
    }

    [Fact]
    public void Connecting_where_no_server_listens_fails_within_the_timeout()
    {
        var port = WorkerRunner.FreePort();
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<StoreException>(() => TcpStore.Connect("127.0.0.1", port, TimeSpan.FromSeconds(1)));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(3));
        Assert.True(e.IsTimeout, e.Message);
        Assert.Equal(port, e.Port);
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        Assert.Contains("timed out after 1000 ms", e.Message);
        Assert.Contains("Connection refused", e.Message);
    }

    [Fact]
    public async Task Client_started_before_its_server_still_connects()
    {
        var port = WorkerRunner.FreePort();
        var client = Task.Run(() => TcpStore.Connect("127.0.0.1", port, Timeout));
        await Task.Delay(300);
        using var server = TcpStore.CreateServer(port, Timeout);
        using var c = await client.WaitAsync(Timeout * 2);
        c.Set("k", "v");
        Assert.Equal("v", server.GetString("k"));
    }

    [Fact]
    public void Server_on_a_port_used_by_another_store_fails_naming_the_port()
    {
        using var first = TcpStore.CreateServer(0, Timeout);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<StoreException>(() => TcpStore.CreateServer(first.Port, Timeout));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), "a busy port must fail at once, not after the timeout");
        Assert.False(e.IsTimeout, e.Message);
        Assert.Equal(first.Port, e.Port);
        Assert.Contains($"port {first.Port}", e.Message);
        Assert.Contains("Address already in use", e.Message);
    }

    [Fact]
    public void Server_on_a_port_used_by_another_program_fails_naming_the_port()
    {
        var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var e = Assert.Throws<StoreException>(() => TcpStore.CreateServer(port, Timeout));
            Assert.Contains($"port {port}", e.Message);
            Assert.Contains("in use", e.Message);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task Server_waiting_for_workers_returns_once_they_joined()
    {
        var port = WorkerRunner.FreePort();
        var server = Task.Run(() => TcpStore.CreateServer(port, Timeout, worldSize: 2, waitForWorkers: true));
        await Task.Delay(200);
        Assert.False(server.IsCompleted, "the server should wait for the second worker");
        using var client = TcpStore.Connect("127.0.0.1", port, Timeout, worldSize: 2);
        using var s = await server.WaitAsync(Timeout * 2);
        Assert.Equal(port, s.Port);
    }

    [Fact]
    public void Server_waiting_for_missing_workers_times_out()
    {
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<StoreException>(() =>
            TcpStore.CreateServer(WorkerRunner.FreePort(), TimeSpan.FromSeconds(1), worldSize: 2, waitForWorkers: true));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"took {clock.Elapsed}");
        Assert.True(e.IsTimeout, e.Message);
        Assert.Contains("timed out", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Disposed_store_throws_ObjectDisposedException()
    {
        var server = TcpStore.CreateServer(0, Timeout);
        server.Dispose();
        server.Dispose();  // idempotent
        Assert.Throws<ObjectDisposedException>(() => server.Set("k", "v"));
    }

    [Fact]
    public void Invalid_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TcpStore.CreateServer(70000, Timeout));
        Assert.Throws<ArgumentOutOfRangeException>(() => TcpStore.CreateServer(0, TimeSpan.Zero));
        var e = Assert.Throws<StoreException>(() => TcpStore.Connect("127.0.0.1", 0, Timeout));
        Assert.Contains("port", e.Message);
        using var server = TcpStore.CreateServer(0, Timeout);
        Assert.Throws<ArgumentException>(() => server.Set("bad\0key", "v"));
    }
}
