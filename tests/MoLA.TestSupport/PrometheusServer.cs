using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MoLA.TestSupport;

/// <summary>
/// Debian's real Prometheus server (installed by ./mola's bootstrap) scraping one loopback target every second, in a
/// temporary directory; <see cref="QueryAsync"/> polls its HTTP query API. Disposing kills it and removes the directory.
/// </summary>
public sealed class PrometheusServer : IDisposable
{
    public const string ExecutablePath = "/usr/bin/prometheus";

    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _dir;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly Uri _api;

    private PrometheusServer(int targetPort)
    {
        _dir = Directory.CreateTempSubdirectory("mola-prom-").FullName;
        var port = LoopbackPorts.Free();
        var config = Path.Combine(_dir, "prometheus.yml");
        File.WriteAllText(config,
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n" +
            "scrape_configs:\n  - job_name: mola\n    static_configs:\n" +
            $"      - targets: ['127.0.0.1:{targetPort}']\n");
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

    /// <summary>Starts a server scraping http://127.0.0.1:<paramref name="targetPort"/>/metrics.</summary>
    public static PrometheusServer Start(int targetPort)
    {
        if (!File.Exists(ExecutablePath))
            throw new InvalidOperationException($"{ExecutablePath} is missing: run ./mola (its bootstrap installs the Prometheus server) and re-run the tests.");
        return new PrometheusServer(targetPort);
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
