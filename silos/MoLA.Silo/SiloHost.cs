using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MoLA.Grains;
using OpenTelemetry.Metrics;
using Orleans.Configuration;

namespace MoLA.Silo;

/// <summary>
/// Builds one node's host: the Orleans silo (clustering and grain state from <see cref="SiloOptions.Provider"/>), the
/// token-protected REST API, /healthz and /readyz, /metrics (Orleans' and the silo's own instruments), and the node agent. The caller supplies what is specific to
/// training: the job validator and the rank program.
/// </summary>
public static class SiloHost
{
    public const string DatabaseFile = "grains.db";

    public static WebApplication Build(SiloOptions options, IJobSpecValidator validator, RankProgram program, Action<ILoggingBuilder>? logging = null)
    {
        Directory.CreateDirectory(options.StateDirectory);
        Directory.CreateDirectory(options.RunRoot);
        var database = Path.Combine(options.StateDirectory, DatabaseFile);
        switch (options.Provider)
        {
            case "embedded":
                SqliteGrainStateSchema.Apply(database);
                break;
            case "postgres":
                // The schema is applied once per cluster by `mola silo migrate` (a Helm hook), not by every silo at start.
                var installed = PostgresSchema.InstalledVersion(RequireConnectionString(options));
                if (installed != PostgresSchema.Version)
                    throw new ArgumentException(
                        $"connection-string: the database has schema version {installed?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, this build needs {PostgresSchema.Version}; run `mola silo migrate` first");
                break;
            case "redis":
                RedisConfiguration(options); // fails early, naming the field, on a malformed connection string
                break;
            default:
                throw new ArgumentException($"provider: '{options.Provider}' is not one of embedded, postgres, redis");
        }
        var token = ApiToken.LoadOrCreate(options.ResolvedTokenFile);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "mola-silo", Args = [] });
        builder.Logging.ClearProviders();
        if (logging is not null) logging(builder.Logging);
        else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; }).SetMinimumLevel(LogLevel.Warning)
            .AddFilter("MoLA", LogLevel.Information)
            // ServerGC advice: the silo shares its machine with the rank processes, workstation GC is the right choice.
            .AddFilter("Orleans.Runtime.Silo", LogLevel.Error);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(options.ApiAddress), options.ApiPort));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(validator);
        builder.Services.AddSingleton(program);
        builder.Services.AddSingleton<NodeAgent>();
        builder.Services.AddSingleton<SiloMetrics>();
        builder.Services.AddHostedService<SweepResumer>();
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter("Microsoft.Orleans", SiloMetrics.MeterName, ControlPlaneMetrics.MeterName)
            .AddPrometheusExporter());
        if (options.Agent) builder.Services.AddHostedService(sp => sp.GetRequiredService<NodeAgent>());
        builder.Services.AddHealthChecks().AddCheck<ReadinessCheck>("ready", tags: ["ready"]);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(c =>
            {
                c.ClusterId = options.ClusterId;
                c.ServiceId = options.ServiceId;
            });
            // A training cluster wants a dead silo declared within 10 s (Orleans' defaults take 10-18 s): probes time out
            // after 2 s and 3 missed probes make a suspicion, so the grains it hosted re-activate elsewhere about 6-8 s
            // after it died. Silos of a training cluster sit on one fast network; 2 s is far above a probe's round trip.
            silo.Configure<ClusterMembershipOptions>(m =>
            {
                m.ProbeTimeout = TimeSpan.FromSeconds(2);
                m.NumMissedProbesLimit = 3;
            });
            if (options.Provider == "postgres")
            {
                var connection = options.ConnectionString!;
                ConfigureEndpoints(silo, options);
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = PostgresInvariant;
                    o.ConnectionString = connection;
                });
                silo.AddAdoNetGrainStorage(StorageNames.Grains, o =>
                {
                    o.Invariant = PostgresInvariant;
                    o.ConnectionString = connection;
                });
                silo.UseAdoNetReminderService(o =>
                {
                    o.Invariant = PostgresInvariant;
                    o.ConnectionString = connection;
                });
            }
            else if (options.Provider == "redis")
            {
                var redis = RedisConfiguration(options);
                ConfigureEndpoints(silo, options);
                silo.UseRedisClustering(o => o.ConfigurationOptions = redis.Clone());
                silo.AddRedisGrainStorage(StorageNames.Grains, o => o.ConfigurationOptions = redis.Clone());
                silo.UseRedisReminderService(o => o.ConfigurationOptions = redis.Clone());
            }
            else
            {
                silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort);
                silo.AddAdoNetGrainStorage(StorageNames.Grains, o =>
                {
                    o.Invariant = "System.Data.SQLite";
                    o.ConnectionString = SqliteGrainStateSchema.ConnectionString(database);
                });
                // One machine: reminders live in the silo's memory; the job grains re-register theirs on activation.
                silo.UseInMemoryReminderService();
            }
        });

        var app = builder.Build();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        // Unauthenticated like every Prometheus target; the API binds loopback unless configured otherwise.
        app.MapPrometheusScrapingEndpoint("/metrics");
        JobsApi.Map(app, options, token);
        return app;
    }

    /// <summary>
    /// A multi-node silo's endpoints: its node address, or under Kubernetes the pod's (UseKubernetesHosting fills the
    /// advertised address from POD_IP and listens on every interface; only the ports are ours to set).
    /// </summary>
    private static void ConfigureEndpoints(ISiloBuilder silo, SiloOptions options)
    {
        if (options.Kubernetes)
        {
            silo.Configure<EndpointOptions>(e =>
            {
                e.SiloPort = options.SiloPort;
                e.GatewayPort = options.GatewayPort;
            });
            silo.UseKubernetesHosting();
        }
        else
        {
            silo.ConfigureEndpoints(IPAddress.Parse(options.NodeAddress), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: true);
        }
    }

    /// <summary>The ADO.NET invariant of Npgsql, as Orleans' providers name it.</summary>
    public const string PostgresInvariant = "Npgsql";

    /// <summary>The Redis endpoint(s) from the connection string (StackExchange.Redis syntax: "host:port,password=...").</summary>
    private static StackExchange.Redis.ConfigurationOptions RedisConfiguration(SiloOptions options)
    {
        var text = RequireConnectionString(options);
        try
        {
            return StackExchange.Redis.ConfigurationOptions.Parse(text);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"connection-string: not a Redis connection string ({e.Message})");
        }
    }

    private static string RequireConnectionString(SiloOptions options) =>
        string.IsNullOrWhiteSpace(options.ConnectionString)
            ? throw new ArgumentException($"connection-string: required with provider {options.Provider} (postgres: Host=db;Database=mola;Username=mola;Password=...; redis: host:6379,password=...)")
            : options.ConnectionString;

    /// <summary>Ready when the silo answers and, with an agent, this node is registered.</summary>
    private sealed class ReadinessCheck(IGrainFactory grains, SiloOptions options, NodeAgent agent) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await grains.GetGrain<IJobCatalogGrain>(Catalogs.Jobs).List();
            }
            catch (Exception e)
            {
                return HealthCheckResult.Unhealthy($"the silo does not answer: {e.Message}");
            }
            return !options.Agent || agent.Registered ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("the node agent has not registered yet");
        }
    }
}
