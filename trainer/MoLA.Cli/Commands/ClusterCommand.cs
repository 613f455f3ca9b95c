using System.CommandLine;
using MoLA.Cli.Cluster;
using MoLA.Cli.Configuration;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola cluster</c>: the embedded default: one silo with a node agent of N CPU slots, grain state in SQLite under
/// .mola/cluster/, API on 127.0.0.1; writes its URL and token file there so the client commands need no flags.
/// <c>mola silo --config silo.yaml [--flag value]</c>: a silo of a real cluster.
/// </summary>
internal static class ClusterCommand
{
    public static Command CreateCluster()
    {
        var slots = new Option<int>("--slots") { Description = "CPU slots (ranks at once) of this machine", DefaultValueFactory = _ => 2 };
        var apiPort = new Option<int>("--api-port") { Description = "REST API port on 127.0.0.1", DefaultValueFactory = _ => 7870 };
        var siloPort = new Option<int>("--silo-port") { Description = "Orleans silo port", DefaultValueFactory = _ => 11111 };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Orleans gateway port", DefaultValueFactory = _ => 30000 };
        var rendezvous = new Option<int>("--rendezvous-port-start") { Description = "first rendezvous port of the jobs' rank 0", DefaultValueFactory = _ => 29500 };
        var stateDir = new Option<string?>("--state-dir") { Description = "state directory (default: .mola/cluster of this checkout)" };
        var command = new Command("cluster", "Run the embedded one-machine cluster (silo + node agent, SQLite state)")
        {
            slots, apiPort, siloPort, gatewayPort, rendezvous, stateDir,
        };
        command.SetAction(parse =>
        {
            var pairs = new Dictionary<string, string>
            {
                ["node-name"] = "local",
                ["cpu-slots"] = parse.GetValue(slots).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["api-port"] = parse.GetValue(apiPort).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["silo-port"] = parse.GetValue(siloPort).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["gateway-port"] = parse.GetValue(gatewayPort).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["rendezvous-port-start"] = parse.GetValue(rendezvous).ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            if (parse.GetValue(slots) < 1) throw new UsageException($"--slots: must be >= 1, got {parse.GetValue(slots)}");
            var options = SiloSettings.From(Settings.FromPairs(SiloSettings.Specs, pairs), parse.GetValue(stateDir) ?? ClusterEndpoint.DefaultStateDirectory());
            return SiloRunner.Run(options, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        });
        return command;
    }

    public static Command CreateSilo()
    {
        var config = new Option<string?>("--config") { Description = "YAML file of silo settings (keys as the flags)", HelpName = "FILE" };
        var options = Settings.CreateOptions(SiloSettings.Specs);
        var command = new Command("silo", "Run one silo of a cluster: Orleans silo, REST API, health probes, node agent") { config };
        foreach (var o in options.Values) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var settings = Settings.Resolve(SiloSettings.Specs, parse.GetValue(config), parse, options);
            var silo = SiloSettings.From(settings, ClusterEndpoint.DefaultStateDirectory());
            return SiloRunner.Run(silo, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        });
        command.Subcommands.Add(CreateMigrate());
        return command;
    }

    /// <summary>
    /// <c>mola silo migrate --connection-string S</c>: creates or upgrades the cluster's PostgreSQL schema (membership,
    /// grain state, reminders, the providers' queries); idempotent, so the Helm chart runs it as a hook before every upgrade.
    /// </summary>
    private static Command CreateMigrate()
    {
        var config = new Option<string?>("--config") { Description = "YAML file of silo settings (its connection-string is used)", HelpName = "FILE" };
        var connection = new Option<string?>("--connection-string") { Description = "PostgreSQL connection string (default: $MOLA_SILO_CONNECTION_STRING)", HelpName = "TEXT" };
        var command = new Command("migrate", "Create or upgrade the cluster's PostgreSQL schema (idempotent)") { config, connection };
        command.SetAction(parse =>
        {
            var pairs = new Dictionary<string, string> { ["provider"] = "postgres" };
            if (parse.GetValue(connection) is { } c) pairs["connection-string"] = c;
            var settings = parse.GetValue(config) is { } file
                ? Settings.Resolve(SiloSettings.Specs, file, parse, new Dictionary<string, System.CommandLine.Option<string?>>())
                : Settings.FromPairs(SiloSettings.Specs, pairs);
            var text = parse.GetValue(connection) ?? settings.String("connection-string") ?? Environment.GetEnvironmentVariable("MOLA_SILO_CONNECTION_STRING")
                ?? throw new UsageException("--connection-string: required (or connection-string in --config, or MOLA_SILO_CONNECTION_STRING)");
            int before;
            try
            {
                before = MoLA.Silo.PostgresSchema.InstalledVersion(text) ?? 0;
                MoLA.Silo.PostgresSchema.Apply(text);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or ArgumentException or InvalidOperationException)
            {
                throw new UsageException($"--connection-string: {e.Message}");
            }
            parse.InvocationConfiguration.Output.WriteLine(before == MoLA.Silo.PostgresSchema.Version
                ? $"schema version {before}: up to date"
                : $"schema version {before} -> {MoLA.Silo.PostgresSchema.Version}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
