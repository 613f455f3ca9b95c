using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MoLA.Cli.Benchmarks;

/// <summary>What the Python side reported about itself.</summary>
internal sealed record PythonInfo(string Executable, string PythonVersion, string TorchVersion, int Threads, IReadOnlyDictionary<string, int> Ops);

/// <summary>
/// A long-lived <c>python3 ops_bench.py --serve</c> child process (bench/python/ops_bench.py,
/// embedded in mola.dll): one JSON request per line, one JSON answer per line. It lets the command
/// interleave C# and PyTorch measurements in one run. The script is written to a temporary
/// directory that is deleted on <see cref="Dispose"/>.
/// </summary>
internal sealed class PythonTorch : IDisposable
{
    public const string DefaultInterpreter = "/usr/bin/python3";
    public const string ResourceName = "MoLA.Cli.ops_bench.py";
    public const string TrainStepResourceName = "MoLA.Cli.train_step_ref.py";
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(300);

    private readonly Process _process;
    private readonly string _scriptDir;
    private readonly StringBuilder _stderr;

    private PythonTorch(Process process, string scriptDir, StringBuilder stderr, PythonInfo info)
    {
        _process = process;
        _scriptDir = scriptDir;
        _stderr = stderr;
        Info = info;
    }

    public PythonInfo Info { get; }

    /// <summary>An embedded script (by default ops_bench.py), as shipped.</summary>
    public static string ScriptText(string resourceName = ResourceName)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"resource {resourceName} is missing from mola.dll (build problem)");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>Starts the interpreter; returns null with the reason when it or its torch is missing.</summary>
    public static PythonTorch? TryStart(string interpreter, int threads, out string? problem) =>
        TryStart(interpreter, threads, ResourceName, out problem);

    /// <summary>As above for another embedded script that speaks the same protocol (hello line, then one answer per request).</summary>
    public static PythonTorch? TryStart(string interpreter, int threads, string resourceName, out string? problem)
    {
        problem = null;
        if (!File.Exists(interpreter))
        {
            problem = $"{interpreter} not found: the PyTorch comparison needs Debian's python3-torch (apt-get install -y python3-torch)";
            return null;
        }
        var dir = Directory.CreateTempSubdirectory("mola-bench-");
        var script = Path.Combine(dir.FullName, resourceName["MoLA.Cli.".Length..]);
        File.WriteAllText(script, ScriptText(resourceName));

        var psi = new ProcessStartInfo(interpreter)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var a in new[] { "-u", script, "--serve", "--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("Process.Start returned null");
        }
        catch (Exception e)
        {
            TryDelete(dir.FullName);
            problem = $"could not start {interpreter}: {e.Message}";
            return null;
        }

        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();

        var hello = ReadLine(process, StartTimeout);
        JsonNode? node = null;
        try { node = hello is null ? null : JsonNode.Parse(hello); }
        catch (JsonException) { }
        if (node is null || node["ok"]?.GetValue<bool>() != true)
        {
            var why = node?["error"]?.GetValue<string>() ?? Tail(stderr) ?? hello ?? "no answer";
            Kill(process);
            TryDelete(dir.FullName);
            problem = $"{interpreter} cannot run the PyTorch side ({why}); install Debian's python3-torch (apt-get install -y python3-torch)";
            return null;
        }

        var ops = node["ops"]?.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>()) ?? [];
        var info = new PythonInfo(
            node["executable"]?.GetValue<string>() ?? interpreter,
            node["python_version"]?.GetValue<string>() ?? "?",
            node["torch_version"]?.GetValue<string>() ?? "?",
            node["threads"]?.GetValue<int>() ?? 0,
            ops);
        return new PythonTorch(process, dir.FullName, stderr, info);
    }

    /// <summary>Nanoseconds per call of op <paramref name="name"/> over <paramref name="iterations"/> calls.</summary>
    public double TimeOp(string name, int iterations, BenchClock clock = BenchClock.Wall) =>
        Request(new JsonObject { ["cmd"] = "op", ["name"] = name, ["iters"] = iterations, ["clock"] = clock.Name() })["ns_per_call"]?.GetValue<double>()
        ?? throw new InvalidOperationException($"the Python side gave no ns_per_call for op '{name}'");

    /// <summary>Seconds of each of <paramref name="runs"/> n x n fp32 products.</summary>
    public double[] TimeGemm(int n, int runs) =>
        (Request(new JsonObject { ["cmd"] = "gemm", ["n"] = n, ["runs"] = runs })["seconds"]?.AsArray()
            ?? throw new InvalidOperationException($"the Python side gave no seconds for GEMM {n}"))
        .Select(v => v?.GetValue<double>() ?? throw new InvalidOperationException($"null GEMM time from the Python side")).ToArray();

    /// <summary>Sends one request and returns the answer; throws with the script's error when it is not ok.</summary>
    public JsonNode Request(JsonObject request)
    {
        if (_process.HasExited)
            throw new InvalidOperationException($"the Python side exited (code {_process.ExitCode}){Suffix()}");
        _process.StandardInput.WriteLine(request.ToJsonString());
        _process.StandardInput.Flush();
        var line = ReadLine(_process, RequestTimeout)
            ?? throw new InvalidOperationException($"the Python side did not answer {request.ToJsonString()}{Suffix()}");
        var node = JsonNode.Parse(line) ?? throw new InvalidOperationException($"the Python side answered '{line}'");
        if (node["ok"]?.GetValue<bool>() != true)
            throw new InvalidOperationException($"the Python side failed on {request.ToJsonString()}: {node["error"]?.GetValue<string>() ?? line}");
        return node;
    }

    private string Suffix()
    {
        var tail = Tail(_stderr);
        return tail is null ? "" : $": {tail}";
    }

    private static string? ReadLine(Process process, TimeSpan timeout)
    {
        var task = process.StandardOutput.ReadLineAsync();
        return task.Wait(timeout) ? task.Result : null;
    }

    private static string? Tail(StringBuilder sb)
    {
        string text;
        lock (sb) text = sb.ToString().Trim();
        if (text.Length == 0) return null;
        var lines = text.Split('\n');
        return string.Join(" | ", lines.TakeLast(3)).Trim();
    }

    private static void Kill(Process p)
    {
        try { if (!p.HasExited) p.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        p.Dispose();
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine("{\"cmd\": \"quit\"}");
                _process.StandardInput.Flush();
                if (!_process.WaitForExit(5000)) _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException) { }
        _process.Dispose();
        TryDelete(_scriptDir);
    }
}
