using System.Diagnostics;
using System.Text;

namespace MoLA.TestSupport;

/// <summary>
/// Debian's real PostgreSQL 15 (package postgresql, installed by ./mola's bootstrap): a fresh cluster (initdb) in a
/// temporary directory, listening on a free loopback port with trust authentication, its unix socket inside that
/// directory, and one empty database. PostgreSQL refuses to run as root, so under root the server runs as the
/// package's postgres user. Disposing stops it (immediate shutdown) and removes the directory.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";
    public const string Database = "mola";
    private const string SuperUser = "postgres";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly string _dir;
    private readonly string _data;
    private readonly bool _asPostgresUser = Environment.UserName == "root";
    private bool _started;

    private PostgresServer()
    {
        _dir = Directory.CreateTempSubdirectory("mola-pg-").FullName;
        _data = Path.Combine(_dir, "data");
        Port = LoopbackPorts.Free();
        ConnectionString = $"Host=127.0.0.1;Port={Port};Username={SuperUser};Database={Database};Include Error Detail=true";
    }

    /// <summary>Npgsql connection string to the test database (TCP on 127.0.0.1).</summary>
    public string ConnectionString { get; }

    public int Port { get; }

    /// <summary>The server's log so far (startup and errors).</summary>
    public string Log
    {
        get
        {
            try { return File.ReadAllText(Path.Combine(_dir, "postgres.log")); }
            catch (IOException) { return "(no log)"; }
            catch (UnauthorizedAccessException) { return "(log not readable)"; }
        }
    }

    public static PostgresServer Start()
    {
        if (!File.Exists(Path.Combine(BinDirectory, "postgres")))
            throw new InvalidOperationException($"{BinDirectory}/postgres is missing: run ./mola (its bootstrap installs the postgresql package) and re-run the tests.");
        var server = new PostgresServer();
        try
        {
            server.Initialize();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private void Initialize()
    {
        if (_asPostgresUser) Run("/bin/chown", [$"{SuperUser}:", _dir], asServerUser: false);
        Run(Path.Combine(BinDirectory, "initdb"), ["-D", _data, "-U", SuperUser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
        _started = true; // from here on Dispose stops the server, also if the start below fails half-way
        // Durability settings off: a test database is thrown away, and fsyncs only slow the tests down.
        StartServer();
        Run(Path.Combine(BinDirectory, "createdb"), ["-h", "127.0.0.1", "-p", Port.ToString(), "-U", SuperUser, Database], asServerUser: false);
    }

    /// <summary>Runs a PostgreSQL program (as the postgres user when we are root) and throws with its output when it fails.</summary>
    private string Run(string program, IReadOnlyList<string> args, bool asServerUser = true)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _dir };
        if (asServerUser && _asPostgresUser)
        {
            psi.FileName = "/usr/sbin/runuser";
            foreach (var a in new[] { "-u", SuperUser, "--", program }) psi.ArgumentList.Add(a);
        }
        else psi.FileName = program;
        foreach (var a in args) psi.ArgumentList.Add(a);
        var output = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(program)} did not finish within {CommandTimeout.TotalSeconds} s:\n{output}\nserver log:\n{Log}");
        }
        process.WaitForExit(); // drains the redirected output
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', args)} exited with code {process.ExitCode}:\n{output}\nserver log:\n{Log}");
        lock (output) return output.ToString();
    }

    /// <summary>
    /// The database crashes: immediate stop (no shutdown checkpoint, every connection cut). <see cref="Recover"/> brings it
    /// back on the same port and data, as an operated PostgreSQL restarts after a failover or a crash.
    /// </summary>
    public void Crash() => Run(Path.Combine(BinDirectory, "pg_ctl"), ["stop", "-D", _data, "-m", "immediate", "-w", "-t", "20"]);

    /// <summary>Starts the crashed server again (crash recovery replays its write-ahead log).</summary>
    public void Recover() => StartServer();

    private void StartServer() =>
        Run(Path.Combine(BinDirectory, "pg_ctl"),
            ["start", "-D", _data, "-w", "-t", "60", "-l", Path.Combine(_dir, "postgres.log"),
             "-o", $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"]);

    public void Dispose()
    {
        if (_started)
        {
            // Immediate: the data is thrown away, so no shutdown checkpoint. If pg_ctl cannot stop it, kill the postmaster.
            try { Run(Path.Combine(BinDirectory, "pg_ctl"), ["stop", "-D", _data, "-m", "immediate", "-w", "-t", "20"]); }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException) { KillPostmaster(); }
            _started = false;
        }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private void KillPostmaster()
    {
        try
        {
            // The first line of postmaster.pid is the postmaster's process id.
            var pid = int.Parse(File.ReadLines(Path.Combine(_data, "postmaster.pid")).First());
            using var p = Process.GetProcessById(pid);
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
    }
}
