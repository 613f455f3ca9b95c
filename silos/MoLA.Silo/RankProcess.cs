using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MoLA.Grains;

namespace MoLA.Silo;

/// <summary>
/// One `mola train` rank process started by the node agent: the rendezvous environment in, progress lines
/// ("@mola {json}") out to a callback, every other line to the rank's log file. Its crash never reaches the silo.
/// </summary>
internal sealed class RankProcess : IDisposable
{
    private const string ProgressPrefix = "@mola ";
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly object _logLock = new();
    private string? _lastLine;

    public RankAssignment Assignment { get; }
    public int ProcessId { get; }
    public bool StopRequested { get; private set; }
    private DateTime _stopRequestedAt;
    /// <summary>Why the agent killed the process itself (hung), reported with its exit.</summary>
    private string? _cause;
    private long _lastActivityTicks = DateTime.UtcNow.Ticks;

    /// <summary>The process start or its latest step line: a rank silent for longer than the hang timeout is hung.</summary>
    public DateTime LastActivity => new(Interlocked.Read(ref _lastActivityTicks), DateTimeKind.Utc);
    public bool Hung => _cause is not null;
    /// <summary>Killed as hung while in the stopped state (SIGSTOP, a debugger): the likely cause of its peers' hang.</summary>
    public bool StoppedWhenKilled { get; private set; }

    /// <summary>The one-letter state in /proc/PID/stat (R, S, D, T, Z...), or '?' where it cannot be read.</summary>
    private static char ProcessState(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var end = stat.LastIndexOf(')'); // the command name may hold spaces and parentheses
            return end > 0 && end + 2 < stat.Length ? stat[end + 2] : '?';
        }
        catch (IOException) { return '?'; }
        catch (UnauthorizedAccessException) { return '?'; }
    }

    /// <summary>Whether the rank has printed a step yet.</summary>
    public bool Stepped => Volatile.Read(ref _stepped);
    private bool _stepped;

    private RankProcess(RankAssignment assignment, Process process, StreamWriter log)
    {
        Assignment = assignment;
        _process = process;
        _log = log;
        ProcessId = process.Id;
    }

    public static RankProcess Start(RankAssignment a, RankProgram program, int threads, Action<RankProgress> onProgress,
        Action<JobEvaluation> onEvaluation)
    {
        var jobDirectory = a.Spec.RunDirectory;
        var logFile = JobPaths.RankLog(jobDirectory, a.Rank);
        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        var log = new StreamWriter(new FileStream(logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var psi = new ProcessStartInfo(program.Program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = jobDirectory,
        };
        foreach (var arg in program.PrefixArguments) psi.ArgumentList.Add(arg);
        psi.ArgumentList.Add("train");
        foreach (var (key, value) in a.Spec.Settings.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            psi.ArgumentList.Add("--" + key);
            psi.ArgumentList.Add(value);
        }
        psi.ArgumentList.Add("--out");
        psi.ArgumentList.Add(JobPaths.Run(jobDirectory));
        // A rank started again for the same job (the silo or node restarted) continues from the newest checkpoint.
        psi.ArgumentList.Add("--resume");
        psi.ArgumentList.Add("auto");
        if (!a.Spec.Settings.ContainsKey("threads"))
        {
            psi.ArgumentList.Add("--threads");
            psi.ArgumentList.Add(threads.ToString(CultureInfo.InvariantCulture));
        }
        // The contract `mola launch` and a Kubernetes pod use (RendezvousInfo reads it); rank 0 serves the store.
        var env = psi.Environment;
        env["RANK"] = Str(a.Rank);
        env["LOCAL_RANK"] = Str(a.LocalRank);
        env["WORLD_SIZE"] = Str(a.Spec.WorldSize);
        env["MASTER_ADDR"] = a.Rendezvous.Address;
        env["MASTER_PORT"] = Str(a.Rendezvous.Port);
        env["MOLA_DP"] = Str(a.Spec.DataParallel);
        env["MOLA_EP"] = Str(a.Spec.ExpertParallel);
        env["MOLA_PLACEMENT"] = "";
        env["MOLA_STORE_HOSTED"] = "0";
        env["MOLA_JOB_ID"] = a.JobId;
        env["MOLA_GENERATION"] = Str(a.Generation);
        env["MOLA_PROGRESS"] = "1";
        if (a.Spec.Device == "cuda") env["CUDA_VISIBLE_DEVICES"] = Str(a.Slot);
        var process = new Process { StartInfo = psi };
        env["MOLA_EXIT_WITH_AGENT"] = "1";
        process.Start();
        // Our end of the rank's stdin stays open for the rank's life: when this process dies (kill -9 included) the
        // kernel closes it and the rank, reading end of file, stops too.
        var rank = new RankProcess(a, process, log);
        log.WriteLine($"# {DateTime.UtcNow:O} rank {a.Rank} of {a.JobId} generation {a.Generation} started as pid {process.Id}");
        process.OutputDataReceived += (_, e) => rank.OnLine(e.Data, onProgress, onEvaluation);
        process.ErrorDataReceived += (_, e) => rank.OnLine(e.Data, onProgress, onEvaluation);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return rank;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The signal that ended the process (128 + n exit codes; 130, Ctrl-C, counts as an exit), or null.</summary>
    public int? ExitSignal => _process.HasExited && _process.ExitCode is > 128 and < 160 and not 130 ? _process.ExitCode - 128 : null;

    /// <summary>The exit, once the process ended and its output was drained.</summary>
    public RankExit Exit()
    {
        _process.WaitForExit();
        var code = _process.ExitCode;
        var signal = ExitSignal;
        lock (_logLock) _log.WriteLine($"# {DateTime.UtcNow:O} exited with code {code}");
        // A stop the agent asked for is not a failure, unless the agent killed the rank because it hung.
        return new RankExit(code, signal, code == 0 ? null : _lastLine, DateTime.UtcNow, Stopped: StopRequested && _cause is null, Cause: _cause);
    }

    /// <summary>
    /// Kills a rank that printed no step for <paramref name="silentFor"/> (SIGKILL: a stopped or deadlocked process does
    /// not act on SIGTERM); its exit then reports the hang as the cause.
    /// </summary>
    public void KillHung(TimeSpan silentFor, TimeSpan timeout)
    {
        if (_process.HasExited || _cause is not null) return;
        // Its peers wait in a collective and look hung too; a process stopped by a signal (or a debugger) is the cause.
        StoppedWhenKilled = ProcessState(_process.Id) == 'T';
        _cause = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"hung: {(StoppedWhenKilled ? "stopped by a signal, " : "")}no step for {silentFor.TotalSeconds:0} s (hang-timeout {timeout.TotalSeconds:0} s)");
        lock (_logLock) _log.WriteLine($"# {DateTime.UtcNow:O} {_cause}; killed by the node agent");
        _process.Kill(entireProcessTree: true);
    }

    /// <summary>
    /// SIGTERM first (`mola train` checkpoints and exits), SIGKILL when it does not stop in time; a zero grace kills at
    /// once.
    /// </summary>
    public void Stop(TimeSpan grace)
    {
        if (_process.HasExited) return;
        if (grace == TimeSpan.Zero)
        {
            StopRequested = true;
            _process.Kill(entireProcessTree: true);
        }
        else if (!StopRequested)
        {
            StopRequested = true;
            _stopRequestedAt = DateTime.UtcNow;
            if (!OperatingSystem.IsWindows()) _ = Kill(_process.Id, 15);
            else _process.Kill(entireProcessTree: true);
        }
        else if (DateTime.UtcNow - _stopRequestedAt > grace)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    private void OnLine(string? line, Action<RankProgress> onProgress, Action<JobEvaluation> onEvaluation)
    {
        if (line is null) return;
        if (line.StartsWith(ProgressPrefix, StringComparison.Ordinal) && ParseProgress(line[ProgressPrefix.Length..]) is { } p)
        {
            Interlocked.Exchange(ref _lastActivityTicks, DateTime.UtcNow.Ticks);
            Volatile.Write(ref _stepped, true);
            onProgress(p);
            return;
        }
        if (line.StartsWith(ProgressPrefix, StringComparison.Ordinal) && ParseEvaluation(line[ProgressPrefix.Length..]) is { } evaluation)
        {
            // An evaluation takes a while without steps: it counts as activity for the hang watch.
            Interlocked.Exchange(ref _lastActivityTicks, DateTime.UtcNow.Ticks);
            onEvaluation(evaluation);
            return;
        }
        lock (_logLock)
        {
            _log.WriteLine(line);
            if (!string.IsNullOrWhiteSpace(line)) _lastLine = line.Length > 500 ? line[..500] : line;
        }
    }

    internal static RankProgress? ParseProgress(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            return new RankProgress(r.GetProperty("step").GetInt64(), r.GetProperty("total_steps").GetInt64(),
                r.GetProperty("loss").GetDouble(), r.GetProperty("tokens_per_second").GetDouble(), DateTime.UtcNow);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>"@mola {"eval_step": N, "accuracy": {"generation": 0.41, ...}}": rank 0's evaluation of the whole set.</summary>
    internal static JobEvaluation? ParseEvaluation(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            var accuracy = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var format in r.GetProperty("accuracy").EnumerateObject()) accuracy[format.Name] = format.Value.GetDouble();
            return new JobEvaluation(r.GetProperty("eval_step").GetInt64(), accuracy, DateTime.UtcNow);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        _process.Dispose();
        lock (_logLock) _log.Dispose();
    }

    private static string Str(int v) => v.ToString(CultureInfo.InvariantCulture);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
