using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MoLA.Silo;

namespace MoLA.Cli.Cluster;

/// <summary>The REST API from the client commands (submit, jobs, status, cancel, logs, sweep). Errors carry the server's message.</summary>
internal sealed class ClusterClient : IDisposable
{
    private readonly HttpClient _http;

    public ClusterClient(ClusterEndpoint endpoint)
    {
        if (!File.Exists(endpoint.TokenFile)) throw new UsageException($"--token-file: {endpoint.TokenFile} does not exist");
        var token = File.ReadAllText(endpoint.TokenFile).Trim();
        _http = new HttpClient { BaseAddress = new Uri(endpoint.Url + "/"), Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Url = endpoint.Url;
    }

    public string Url { get; }

    public Task<JobView> Submit(SubmitJobRequest request) => Send<JobView>(HttpMethod.Post, "api/jobs", request);
    public Task<List<JobView>> Jobs() => Send<List<JobView>>(HttpMethod.Get, "api/jobs");
    public Task<JobView> Status(string id) => Send<JobView>(HttpMethod.Get, $"api/jobs/{Uri.EscapeDataString(id)}");
    public Task<JobView> Cancel(string id) => Send<JobView>(HttpMethod.Post, $"api/jobs/{Uri.EscapeDataString(id)}/cancel");

    public Task<SweepView> SubmitSweep(SubmitSweepRequest request) => Send<SweepView>(HttpMethod.Post, "api/sweeps", request);
    public Task<List<SweepView>> Sweeps() => Send<List<SweepView>>(HttpMethod.Get, "api/sweeps");
    public Task<SweepView> Sweep(string id) => Send<SweepView>(HttpMethod.Get, $"api/sweeps/{Uri.EscapeDataString(id)}");
    public Task<SweepView> CancelSweep(string id) => Send<SweepView>(HttpMethod.Post, $"api/sweeps/{Uri.EscapeDataString(id)}/cancel");

    public async Task<string> Logs(string id, int rank)
    {
        using var response = await Call(HttpMethod.Get, $"api/jobs/{Uri.EscapeDataString(id)}/logs?rank={rank}", null);
        return await response.Content.ReadAsStringAsync();
    }

    private async Task<T> Send<T>(HttpMethod method, string path, object? body = null)
    {
        using var response = await Call(method, path, body);
        return await response.Content.ReadFromJsonAsync<T>(ReadOptions) ?? throw new InvalidOperationException($"{Url}/{path}: empty answer");
    }

    private static readonly JsonSerializerOptions ReadOptions = new(SiloJson.Options) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip };

    private async Task<HttpResponseMessage> Call(HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body, options: SiloJson.Options);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request);
        }
        catch (HttpRequestException e)
        {
            throw new ClusterException($"cannot reach the cluster at {Url}: {e.Message}");
        }
        if (response.IsSuccessStatusCode) return response;
        var text = await response.Content.ReadAsStringAsync();
        string message;
        try
        {
            message = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString() ?? text;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            message = text;
        }
        var status = response.StatusCode;
        response.Dispose();
        throw status == HttpStatusCode.BadRequest ? new UsageException(message) : new ClusterException($"{(int)status}: {message}");
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The cluster refused or failed a request (exit 1; 400s are usage errors, exit 2).</summary>
internal sealed class ClusterException(string message) : Exception(message);
