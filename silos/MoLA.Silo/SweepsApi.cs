using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using MoLA.Grains;

namespace MoLA.Silo;

/// <summary>
/// Sweeps under /api (bearer token, as for jobs): POST /api/sweeps, GET /api/sweeps, GET /api/sweeps/{id},
/// POST /api/sweeps/{id}/cancel. A sweep is refused whole (400 naming the field, e.g. "trials[3].lr") before any trial
/// starts; every trial's settings are validated as `mola train` would.
/// </summary>
public static partial class SweepsApi
{
    public const int MaxTrials = 10_000;

    public static void Map(RouteGroupBuilder api, SiloOptions options)
    {
        api.MapPost("/sweeps", async (HttpRequest request, IGrainFactory grains, IJobSpecValidator validator) =>
        {
            SubmitSweepRequest? body;
            try
            {
                body = await request.ReadFromJsonAsync<SubmitSweepRequest>(SiloJson.Options);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NotSupportedException)
            {
                return JobsApi.BadRequest("body", $"not a valid sweep request ({JobsApi.Inner(e).Message})");
            }
            if (body is null) return JobsApi.BadRequest("body", "empty; expected {\"configurations\": [...], \"trials\": [...], ...}");
            SweepSpec spec;
            string id;
            try
            {
                id = JobsApi.NewId("sweep");
                spec = await Prepare(body, Path.Combine(Path.GetFullPath(options.RunRoot), id), grains, validator);
            }
            catch (JobSpecException e)
            {
                return JobsApi.BadRequest(e.Field, e.Message[(e.Field.Length + 2)..]);
            }
            var status = await grains.GetGrain<ISweepGrain>(id).Start(spec);
            return Results.Json(SweepView.From(status), SiloJson.Options, statusCode: 201);
        });

        api.MapGet("/sweeps", async (IGrainFactory grains) =>
        {
            var views = new List<SweepView>();
            foreach (var id in await grains.GetGrain<IJobCatalogGrain>(Catalogs.Sweeps).List())
                if (await grains.GetGrain<ISweepGrain>(id).GetStatus() is { } s) views.Add(SweepView.From(s));
            return Results.Json(views, SiloJson.Options);
        });

        api.MapGet("/sweeps/{id}", async (string id, IGrainFactory grains) =>
            await Find(grains, id) is { } s ? Results.Json(SweepView.From(s), SiloJson.Options) : NotFound(id));

        api.MapPost("/sweeps/{id}/cancel", async (string id, IGrainFactory grains) =>
            await Find(grains, id) is null ? NotFound(id)
                : Results.Json(SweepView.From(await grains.GetGrain<ISweepGrain>(id).Cancel("cancelled by the user")), SiloJson.Options));
    }

    /// <summary>Everything is checked before the sweep exists: names, references, ASHA, shape, each trial's settings, capacity.</summary>
    internal static async Task<SweepSpec> Prepare(SubmitSweepRequest body, string directory, IGrainFactory grains, IJobSpecValidator validator)
    {
        var (dp, ep, maxRestarts, hangTimeout) = JobsApi.Shape(body.Dp, body.Ep, body.MaxRestarts, body.HangTimeout);
        var configurations = body.Configurations is { Count: > 0 } c ? c : throw new JobSpecException("configurations", "lists none; a sweep needs at least one");
        var trials = body.Trials is { Count: > 0 } t ? t : throw new JobSpecException("trials", "lists none; a sweep needs at least one");
        if (trials.Count > MaxTrials) throw new JobSpecException("trials", $"lists {trials.Count}; at most {MaxTrials} per sweep");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < configurations.Count; i++)
        {
            var name = configurations[i].Name;
            if (string.IsNullOrWhiteSpace(name)) throw new JobSpecException($"configurations[{i}].name", "is empty");
            if (!names.Add(name)) throw new JobSpecException($"configurations[{i}].name", $"'{name}' is used twice");
        }
        var metric = body.Metric ?? "generation";
        if (metric is not ("generation" or "multiple_choice"))
            throw new JobSpecException("metric", $"must be generation or multiple_choice, got '{metric}'");
        if (body.Baseline is { } baseline && !names.Contains(baseline))
            throw new JobSpecException("baseline", $"'{baseline}' is not one of the configurations ({string.Join(", ", names)})");
        var steps = body.Steps ?? throw new JobSpecException("steps", "is required (the optimizer steps of every trial)");
        if (steps < 1) throw new JobSpecException("steps", $"must be >= 1, got {steps}");
        SweepAsha? asha = null;
        if (body.Asha is { } a)
        {
            if (a.FirstRung < 1) throw new JobSpecException("asha.first-rung", $"must be >= 1, got {a.FirstRung}");
            if (a.FirstRung >= steps) throw new JobSpecException("asha.first-rung", $"must be below the trials' steps ({steps}), got {a.FirstRung}");
            if (a.Eta < 2) throw new JobSpecException("asha.eta", $"must be >= 2, got {a.Eta}");
            if (a.MinSeeds < 1) throw new JobSpecException("asha.min-seeds", $"must be >= 1, got {a.MinSeeds}");
            asha = new SweepAsha(a.FirstRung, a.Eta, a.MinSeeds);
        }
        var retries = body.TrialRetries ?? 1;
        if (retries is < 0 or > 100) throw new JobSpecException("trial-retries", $"must be in [0, 100], got {retries}");
        var mirrors = new List<MirrorPair>();
        foreach (var (pair, i) in (body.MirrorPairs ?? []).Select((p, i) => (p, i)))
        {
            if (pair is not [var shape, var mirror]) throw new JobSpecException($"mirror_pairs[{i}]", "must name two configurations");
            foreach (var n in pair)
                if (!names.Contains(n)) throw new JobSpecException($"mirror_pairs[{i}]", $"'{n}' is not one of the configurations");
            mirrors.Add(new MirrorPair(shape, mirror));
        }

        var trialNames = new HashSet<string>(StringComparer.Ordinal);
        string? device = null;
        for (var i = 0; i < trials.Count; i++)
        {
            var trial = trials[i];
            var at = $"trials[{i}]";
            if (trial.Name is null || !TrialName().IsMatch(trial.Name))
                throw new JobSpecException($"{at}.name", $"'{trial.Name}' must be 1-40 letters, digits, '-' or '_' (it names the trial's directory)");
            if (!trialNames.Add(trial.Name)) throw new JobSpecException($"{at}.name", $"'{trial.Name}' is used twice");
            if (!names.Contains(trial.Configuration)) throw new JobSpecException($"{at}.configuration", $"'{trial.Configuration}' is not one of the configurations");
            var kind = JobsApi.ValidateSettings(trial.Settings ?? [], dp, ep, validator, $"{at}.");
            if (device is not null && kind != device)
                throw new JobSpecException($"{at}.device", $"every trial must run on one device kind: {device} before, {kind} here");
            device = kind;
        }
        await JobsApi.CheckCapacity(grains, device!, dp, ep);
        return new SweepSpec
        {
            Name = string.IsNullOrWhiteSpace(body.Name) ? Path.GetFileName(directory) : body.Name.Trim(),
            Directory = directory,
            Configurations = configurations.Select(x => new SweepConfiguration(x.Name, x.Entry ?? x.Name, new Dictionary<string, string>(x.Settings ?? [], StringComparer.Ordinal))).ToList(),
            Trials = trials.Select(x => new SweepTrial(x.Name, x.Configuration, x.Seed, new Dictionary<string, string>(x.Settings, StringComparer.Ordinal))).ToList(),
            Baseline = body.Baseline,
            Metric = metric,
            Asha = asha,
            TrialRetries = retries,
            DataParallel = dp,
            ExpertParallel = ep,
            Device = device!,
            MaxRestarts = maxRestarts,
            HangTimeout = hangTimeout,
            Priority = body.Priority ?? 0,
            MirrorPairs = mirrors,
            Steps = steps,
        };
    }

    private static async Task<SweepStatus?> Find(IGrainFactory grains, string id) =>
        id.Length is > 0 and <= 100 ? await grains.GetGrain<ISweepGrain>(id).GetStatus() : null;

    private static IResult NotFound(string id) => Results.Json(new { error = $"no sweep '{id}'" }, statusCode: 404);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,40}$")]
    private static partial Regex TrialName();
}
