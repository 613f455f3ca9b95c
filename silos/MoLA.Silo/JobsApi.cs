using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using MoLA.Grains;

namespace MoLA.Silo;

/// <summary>
/// The REST API under /api (bearer token required): GET/POST /api/jobs, GET /api/jobs/{id}, POST /api/jobs/{id}/cancel,
/// GET /api/jobs/{id}/logs?rank=R, GET /api/nodes. A refused request (400, 401, 404) writes nothing.
/// </summary>
public static class JobsApi
{
    public static void Map(IEndpointRouteBuilder app, SiloOptions options, string token)
    {
        var api = app.MapGroup("/api");
        api.AddEndpointFilter(async (context, next) =>
            ApiToken.Authorized(context.HttpContext.Request, token)
                ? await next(context)
                : Results.Json(new { error = "missing or wrong bearer token (Authorization: Bearer <token from the token file>)" }, statusCode: 401));

        api.MapPost("/jobs", async (HttpRequest request, IGrainFactory grains, IJobSpecValidator validator, SiloMetrics metrics) =>
        {
            SubmitJobRequest? body;
            try
            {
                body = await request.ReadFromJsonAsync<SubmitJobRequest>(SiloJson.Options);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NotSupportedException)
            {
                metrics.Refused("body");
                return BadRequest("body", $"not a valid job request ({Inner(e).Message})");
            }
            if (body is null) return BadRequest("body", "empty; expected {\"settings\": {...}, \"dp\": D, \"ep\": E}");
            JobSpec spec;
            string id;
            try
            {
                (spec, id) = await Prepare(body, options, grains, validator);
            }
            catch (JobSpecException e)
            {
                metrics.Refused(e.Field);
                return BadRequest(e.Field, e.Message[(e.Field.Length + 2)..]);
            }
            var status = await grains.GetGrain<ITrainingJobGrain>(id).Submit(spec);
            metrics.Submitted();
            return Results.Json(JobView.From(status), SiloJson.Options, statusCode: 201);
        });

        api.MapGet("/jobs", async (IGrainFactory grains) =>
        {
            var views = new List<JobView>();
            foreach (var id in await grains.GetGrain<IJobCatalogGrain>(Catalogs.Jobs).List())
                if (await grains.GetGrain<ITrainingJobGrain>(id).GetStatus() is { } s) views.Add(JobView.From(s));
            return Results.Json(views, SiloJson.Options);
        });

        api.MapGet("/jobs/{id}", async (string id, IGrainFactory grains) =>
            await Find(grains, id) is { } s ? Results.Json(JobView.From(s), SiloJson.Options) : NotFound(id));

        api.MapPost("/jobs/{id}/cancel", async (string id, IGrainFactory grains) =>
            await Find(grains, id) is null ? NotFound(id)
                : Results.Json(JobView.From(await grains.GetGrain<ITrainingJobGrain>(id).Cancel("cancelled by the user")), SiloJson.Options));

        api.MapGet("/jobs/{id}/logs", async (string id, int? rank, IGrainFactory grains) =>
        {
            if (await Find(grains, id) is not { } s) return NotFound(id);
            var r = rank ?? 0;
            if (r < 0 || r >= s.Spec.WorldSize) return BadRequest("rank", $"must be in [0, {s.Spec.WorldSize - 1}], got {r}");
            var file = JobPaths.RankLog(s.Spec.RunDirectory, r);
            return File.Exists(file) ? Results.Text(await ReadShared(file), "text/plain") : Results.Text("", "text/plain");
        });

        SweepsApi.Map(api, options);

        api.MapGet("/nodes", async (IGrainFactory grains, Microsoft.Extensions.Options.IOptions<ControlPlaneOptions> controlPlane) =>
        {
            var views = new List<NodeView>();
            foreach (var name in await grains.GetGrain<ISchedulerGrain>(0).Nodes())
                if (await grains.GetGrain<INodeGrain>(name).GetInfo() is { } n)
                    views.Add(new NodeView(n.Name, n.Registration.Address, n.Alive && DateTime.UtcNow - n.LastHeartbeat < controlPlane.Value.NodeSilentAfter,
                        n.LastHeartbeat, n.Registration.Devices.Select(d => $"{d.Kind}:{d.Index}").ToList(), n.Assigned, n.Running));
            return Results.Json(views, SiloJson.Options);
        });
    }

    /// <summary>Validates everything before anything is written: settings, shape, capacity.</summary>
    private static async Task<(JobSpec, string)> Prepare(SubmitJobRequest body, SiloOptions options, IGrainFactory grains, IJobSpecValidator validator)
    {
        var (dp, ep, maxRestarts, hangTimeout) = Shape(body.Dp, body.Ep, body.MaxRestarts, body.HangTimeout);
        var settings = body.Settings ?? [];
        var device = ValidateSettings(settings, dp, ep, validator, "");
        await CheckCapacity(grains, device, dp, ep);
        var id = NewId("job");
        var name = string.IsNullOrWhiteSpace(body.Name) ? id : body.Name.Trim();
        var runDirectory = Path.Combine(Path.GetFullPath(options.RunRoot), id);
        var spec = new JobSpec
        {
            Name = name,
            Settings = new Dictionary<string, string>(settings, StringComparer.Ordinal),
            DataParallel = dp,
            ExpertParallel = ep,
            Priority = body.Priority ?? 0,
            RunDirectory = runDirectory,
            Device = device,
            MaxRestarts = maxRestarts,
            HangTimeout = hangTimeout,
        };
        return (spec, id);
    }

    /// <summary>The parallel shape and restart policy of a job (or of every trial of a sweep), validated.</summary>
    internal static (int Dp, int Ep, int MaxRestarts, TimeSpan HangTimeout) Shape(int? dpValue, int? epValue, int? maxRestartsValue, double? hangTimeoutValue)
    {
        var dp = dpValue ?? 1;
        var ep = epValue ?? 1;
        if (dp < 1) throw new JobSpecException("dp", $"must be >= 1, got {dp}");
        if (ep < 1) throw new JobSpecException("ep", $"must be >= 1, got {ep}");
        var maxRestarts = maxRestartsValue ?? JobSpec.DefaultMaxRestarts;
        if (maxRestarts is < 0 or > 1000) throw new JobSpecException("max-restarts", $"must be in [0, 1000], got {maxRestarts}");
        var hangTimeout = hangTimeoutValue ?? JobSpec.DefaultHangTimeout.TotalSeconds;
        if (!double.IsFinite(hangTimeout) || hangTimeout < 1 || hangTimeout > 7 * 24 * 3600)
            throw new JobSpecException("hang-timeout", $"must be a number of seconds in [1, 604800], got {hangTimeout.ToString(CultureInfo.InvariantCulture)}");
        return (dp, ep, maxRestarts, TimeSpan.FromSeconds(hangTimeout));
    }

    /// <summary>
    /// A job's `mola train` settings, validated as `mola train` would; returns the device kind. <paramref name="prefix"/>
    /// names where the settings sit in a larger request ("trials[3] t04."), so the error names the field at fault.
    /// </summary>
    internal static string ValidateSettings(IReadOnlyDictionary<string, string> settings, int dp, int ep, IJobSpecValidator validator, string prefix)
    {
        if (settings.ContainsKey("out")) throw new JobSpecException(prefix + "out", "is chosen by the cluster (the job's run directory under the run root); leave it out");
        if (settings.ContainsKey("resume")) throw new JobSpecException(prefix + "resume", "is not a cluster job setting");
        try
        {
            return validator.Validate(settings, dp, ep);
        }
        catch (JobSpecException e) when (prefix.Length > 0)
        {
            throw new JobSpecException(prefix + e.Field, e.Message[(e.Field.Length + 2)..]);
        }
    }

    internal static async Task CheckCapacity(IGrainFactory grains, string device, int dp, int ep)
    {
        var capacity = await grains.GetGrain<ISchedulerGrain>(0).Capacity();
        var slots = capacity.GetValueOrDefault(device);
        if (dp * ep > slots)
            throw new JobSpecException("dp", $"dp {dp} x ep {ep} = {dp * ep} ranks, but the cluster has {slots} {device} device slot{(slots == 1 ? "" : "s")} on live nodes");
    }

    /// <summary>"job-20261207-194100-3fa2": sortable by time, unique enough across silos with the random tail.</summary>
    internal static string NewId(string kind) =>
        string.Create(CultureInfo.InvariantCulture, $"{kind}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(2)).ToLowerInvariant()}");

    private static async Task<JobStatus?> Find(IGrainFactory grains, string id) =>
        id.Length is > 0 and <= 100 ? await grains.GetGrain<ITrainingJobGrain>(id).GetStatus() : null;

    private static async Task<string> ReadShared(string file)
    {
        await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    internal static IResult BadRequest(string field, string message) =>
        Results.Json(new { error = $"{field}: {message}", field }, statusCode: 400);

    private static IResult NotFound(string id) => Results.Json(new { error = $"no job '{id}'" }, statusCode: 404);

    internal static Exception Inner(Exception e) => e.InnerException ?? e;
}
