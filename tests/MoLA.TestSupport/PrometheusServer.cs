using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MoLA.TestSupport;

/// <summary>
/// Debian's real Prometheus server (installed by ./mola's bootstrap) scraping loopback targets every second (job "mola"),
/// in a temporary directory; <see cref="QueryAsync"/> polls its HTTP query API, <see cref="SeriesAsync"/> asks it once. Disposing kills it and removes the directory.
/// </summary>
public sealed class PrometheusServer : IDisposable
{
    public const string ExecutablePath = "/usr/bin/prometheus";

    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _dir;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly Uri _api;

    private PrometheusServer(int[] targetPorts)
    {
        _dir = Directory.CreateTempSubdirectory("mola-prom-").FullName;
        var port = LoopbackPorts.Free();
        var config = Path.Combine(_dir, "prometheus.yml");
        File.WriteAllText(config,
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n" +
            "scrape_configs:\n  - job_name: mola\n    static_configs:\n" +
            $"      - targets: [{string.Join(", ", targetPorts.Select(p => $"'127.0.0.1:{p}'"))}]\n");
        var psi = new ProcessStartInfo(ExecutablePath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _dir };
        psi.ArgumentList.Add($"--config.file={config}");
        psi.ArgumentList.Add($"--storage.tsdb.path={Path.Combine(_dir, "data")}");
        psi.ArgumentList.Add($"--web.listen-address=127.0.0.1:{port}");
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _api = new Uri($"http://127.0.0.1:{port}/api/v1/query");
    }

    /// <summary>Starts a server scraping http://127.0.0.1:PORT/metrics for each of <paramref name="targetPorts"/>.</summary>
    public static PrometheusServer Start(params int[] targetPorts)
    {
        if (targetPorts.Length == 0) throw new ArgumentException("at least one target port is required", nameof(targetPorts));
        if (!File.Exists(ExecutablePath))
            throw new InvalidOperationException($"{ExecutablePath} is missing: run ./mola (its bootstrap installs the Prometheus server) and re-run the tests.");
        return new PrometheusServer(targetPorts);
    }

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>
    /// Polls an instant query until it returns exactly one sample, and returns its value; throws
    /// <see cref="TimeoutException"/> (with the last answer and the server's log) after <paramref name="deadline"/>.
    /// </summary>
    public async Task<double> QueryAsync(string query, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        var last = "(no answer yet)";
        while (clock.Elapsed < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"prometheus exited with code {_process.ExitCode}:\n{Log}");
            try
            {
                var json = await _http.GetStringAsync(new Uri(_api, "?query=" + Uri.EscapeDataString(query)));
                last = json;
                using var doc = JsonDocument.Parse(json);
                var result = doc.RootElement.GetProperty("data").GetProperty("result");
                if (result.GetArrayLength() == 1)
                    return double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            }
            catch (HttpRequestException e) { last = e.Message; } // still starting
            catch (TaskCanceledException e) { last = e.Message; }
            await Task.Delay(250);
        }
        throw new TimeoutException($"query {query} returned no single sample within {deadline.TotalSeconds} s; last answer: {last}\nprometheus log:\n{Log}");
    }

    /// <summary>
    /// Evaluates an instant query once: the number of series (or 1 for a scalar), or null while the server does not
    /// answer yet. A query Prometheus refuses (bad PromQL) throws, naming the query and the error.
    /// </summary>
    public async Task<int?> SeriesAsync(string query)
    {
        if (_process.HasExited) throw new InvalidOperationException($"prometheus exited with code {_process.ExitCode}:\n{Log}");
        string json;
        try
        {
            using var response = await _http.GetAsync(new Uri(_api, "?query=" + Uri.EscapeDataString(query)));
            if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable) return null; // TSDB not ready
            json = await response.Content.ReadAsStringAsync();
        }
        catch (HttpRequestException) { return null; } // still starting
        catch (TaskCanceledException) { return null; }
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.GetProperty("status").GetString() != "success")
            throw new InvalidOperationException($"prometheus refused the query {query}: {json}");
        var data = doc.RootElement.GetProperty("data");
        return data.GetProperty("resultType").GetString() is "vector" or "matrix" ? data.GetProperty("result").GetArrayLength() : 1;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _http.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
