using System.Data;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MoLA.TestSupport;
using Npgsql;
using Orleans.Configuration;
using P = (string Name, object? Value);

namespace MoLA.Silo.Tests;

/// <summary>
/// <see cref="PostgresSchema"/> against Debian's real PostgreSQL 15 (installed by ./mola's bootstrap): the migration
/// is idempotent and versioned, its stored queries keep the providers' optimistic-concurrency contract, and real
/// Orleans silos cluster, persist grain state and register reminders on it.
/// </summary>
public sealed class PostgresSchemaTests
{
    // The keys the three providers (10.4.2) load, written out here rather than taken from PostgresSchema.
    private static readonly string[] ProviderKeys =
    [
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey",
        "MembershipReadRowKey", "MembershipReadAllKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey",
        "CleanupDefunctSiloEntriesKey",
        "WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey", "DeleteStorageKey",
        "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key", "ReadRangeRows2Key",
        "DeleteReminderRowKey", "DeleteReminderRowsKey",
    ];

    [Fact]
    public void Applying_twice_changes_nothing()
    {
        using var pg = PostgresServer.Start();
        Assert.Null(PostgresSchema.InstalledVersion(pg.ConnectionString));

        PostgresSchema.Apply(pg.ConnectionString);
        var first = Snapshot(pg.ConnectionString);
        PostgresSchema.Apply(pg.ConnectionString);
        var second = Snapshot(pg.ConnectionString);

        Assert.Equal(PostgresSchema.Version, PostgresSchema.InstalledVersion(pg.ConnectionString));
        Assert.Equal(ProviderKeys.Order(StringComparer.Ordinal), first.Queries.Select(q => q.Key));
        // Same rows, and not even rewritten: xmin (the transaction that wrote a row) is unchanged.
        Assert.Equal(first, second);
    }

    [Fact]
    public void A_database_from_a_newer_build_is_refused()
    {
        using var pg = PostgresServer.Start();
        PostgresSchema.Apply(pg.ConnectionString);
        Exec(pg.ConnectionString, "UPDATE MolaSchema SET Version = Version + 1;");

        var e = Assert.Throws<InvalidOperationException>(() => PostgresSchema.Apply(pg.ConnectionString));
        Assert.Contains($"version {PostgresSchema.Version + 1} ", e.Message);
        Assert.Contains($"build's {PostgresSchema.Version}", e.Message);
        Assert.Equal(PostgresSchema.Version + 1, PostgresSchema.InstalledVersion(pg.ConnectionString));
    }

    /// <summary>
    /// The stored queries run with parameters typed as the providers type them (DbType by CLR type, UTC DateTimes),
    /// checking the ETag rules: a stale version changes nothing and says so.
    /// </summary>
    [Fact]
    public void Stored_queries_keep_the_optimistic_concurrency_contract()
    {
        using var pg = PostgresServer.Start();
        PostgresSchema.Apply(pg.ConnectionString);
        using var db = new NpgsqlConnection(pg.ConnectionString);
        db.Open();
        var queries = new Dictionary<string, string>();
        using (var read = new NpgsqlCommand("SELECT QueryKey, QueryText FROM OrleansQuery;", db))
        using (var r = read.ExecuteReader())
            while (r.Read()) queries[r.GetString(0)] = r.GetString(1);

        // Grain state: ETag = Version; "none" = no row back (the provider's InconsistentStateException).
        P[] Grain(int? etag, byte[]? payload = null) =>
        [
            ("GrainIdHash", 17), ("GrainIdN0", 0L), ("GrainIdN1", 42L), ("GrainTypeHash", 99), ("GrainTypeString", "test.note"),
            ("GrainIdExtensionString", null), ("ServiceId", "svc"), ("GrainStateVersion", etag), ("PayloadBinary", payload),
        ];
        string Write(int? etag, byte payload) => Answer(db, queries["WriteToStorageKey"], Grain(etag, [payload]));
        List<Dictionary<string, object?>> ReadState() => Rows(db, queries["ReadFromStorageKey"], Grain(null)[..7]);
        Assert.Equal("1", Write(null, 1));
        Assert.Equal("none", Write(null, 2));  // a second first write: the row exists
        Assert.Equal("2", Write(1, 3));
        Assert.Equal("none", Write(1, 4));     // stale ETag
        Assert.Equal("none", Write(7, 4));     // ETag from nowhere
        var state = Assert.Single(ReadState());
        Assert.Equal(new byte[] { 3 }, state["PayloadBinary"]);
        Assert.Equal(2, state["Version"]);
        Assert.Equal("none", Answer(db, queries["ClearStorageKey"], Grain(1)));
        Assert.Equal("3", Answer(db, queries["ClearStorageKey"], Grain(2)));
        state = Assert.Single(ReadState());
        Assert.Null(state["PayloadBinary"]);
        Assert.Equal(3, state["Version"]);
        Assert.Equal("4", Write(3, 5));
        Assert.Equal("5", Answer(db, queries["DeleteStorageKey"], Grain(4)));
        Assert.Empty(ReadState());

        // Membership: the version row is the table's ETag.
        var now = DateTime.UtcNow;
        P[] Cluster(params P[] more) => [("DeploymentId", "cluster"), .. more];
        P[] Silo(int port, params P[] more) => Cluster([("Address", "127.0.0.1"), ("Port", port), ("Generation", 5), .. more]);
        string Insert(int port, int version) => Answer(db, queries["InsertMembershipKey"], Silo(port, ("SiloName", $"s{port}"), ("HostName", "h"),
            ("Status", 3), ("ProxyPort", port + 1), ("StartTime", now), ("IAmAliveTime", now), ("Version", version)));
        string Update(int port, int status, int version) => Answer(db, queries["UpdateMembershipKey"], Silo(port, ("Status", status),
            ("SuspectTimes", null), ("IAmAliveTime", now), ("Version", version)));
        List<Dictionary<string, object?>> ReadAll() => Rows(db, queries["MembershipReadAllKey"], Cluster());
        Assert.Equal("True", Answer(db, queries["InsertMembershipVersionKey"], Cluster()));
        Assert.Equal("False", Answer(db, queries["InsertMembershipVersionKey"], Cluster()));
        var empty = Assert.Single(ReadAll());
        Assert.Null(empty["StartTime"]);
        Assert.Equal(0, empty["Version"]);
        Assert.Equal("True", Insert(1000, 0));
        Assert.Equal("False", Insert(2000, 0));  // stale table version
        Assert.Equal("False", Insert(1000, 1));  // already there
        Assert.Equal("True", Insert(2000, 1));
        Assert.Equal("False", Update(1000, 6, 1));  // stale
        Assert.Equal("False", Update(3000, 6, 2));  // no such silo: the version stays
        Assert.Equal("True", Update(1000, 6, 2));
        var all = ReadAll();
        Assert.Equal(2, all.Count);
        Assert.All(all, row => Assert.Equal(3, row["Version"]));
        Assert.Equal(DateTimeKind.Utc, ((DateTime)all[0]["IAmAliveTime"]!).Kind);
        Assert.Equal("s2000", Assert.Single(Rows(db, queries["MembershipReadRowKey"], Silo(2000)))["SiloName"]);
        Assert.Equal(2001, Assert.Single(Rows(db, queries["GatewaysQueryKey"], Cluster(("Status", 3))))["ProxyPort"]);
        Rows(db, queries["UpdateIAmAlivetimeKey"], Silo(2000, ("IAmAliveTime", now.AddMinutes(1))));
        Rows(db, queries["CleanupDefunctSiloEntriesKey"], Cluster(("IAmAliveTime", now.AddSeconds(30))));  // the Dead silo 1000 goes
        Assert.Equal(2000, Assert.Single(ReadAll())["Port"]);
        Assert.Equal(3, Assert.Single(Rows(db, queries["MembershipReadRowKey"], Silo(1000)))["Version"]);  // version row, no silo
        Rows(db, queries["DeleteMembershipTableEntriesKey"], Cluster());
        Assert.Empty(ReadAll());

        // Reminders: Version is the reminder's ETag.
        P[] Reminder(params P[] more) => [("ServiceId", "svc"), ("GrainId", "note/x"), ("ReminderName", "r"), .. more];
        string Upsert(object period) => Answer(db, queries["UpsertReminderRowKey"], Reminder(("StartTime", now), ("Period", period), ("GrainHash", -5)));
        P[] Range(int begin, int end) => [("ServiceId", "svc"), ("BeginHash", begin), ("EndHash", end)];
        Assert.Equal("0", Upsert(60_000));
        Assert.Equal("1", Upsert(5_000_000_000L));  // periods beyond int arrive as Int64
        Assert.Equal(5_000_000_000L, Assert.Single(Rows(db, queries["ReadReminderRowKey"], Reminder()))["Period"]);
        Assert.Single(Rows(db, queries["ReadReminderRowsKey"], [("ServiceId", "svc"), ("GrainId", "note/x")]));
        Assert.Single(Rows(db, queries["ReadRangeRows1Key"], Range(-10, -5)));
        Assert.Empty(Rows(db, queries["ReadRangeRows1Key"], Range(-5, 10)));
        Assert.Single(Rows(db, queries["ReadRangeRows2Key"], Range(10, -5)));
        Assert.Equal("False", Answer(db, queries["DeleteReminderRowKey"], Reminder(("Version", 0))));
        Assert.Equal("True", Answer(db, queries["DeleteReminderRowKey"], Reminder(("Version", 1))));
        Upsert(60_000);
        Rows(db, queries["DeleteReminderRowsKey"], [("ServiceId", "svc")]);
        Assert.Empty(Rows(db, queries["ReadReminderRowsKey"], [("ServiceId", "svc"), ("GrainId", "note/x")]));
    }

    /// <summary>
    /// Two silos (two hosts, one ClusterId) on the migrated database: both register as Active, a grain's state written
    /// on the first is read back on the second after the first stopped, and a reminder lands in its table.
    /// </summary>
    [Fact]
    public async Task Two_silos_cluster_persist_state_and_reminders_on_postgres()
    {
        using var pg = PostgresServer.Start();
        PostgresSchema.Apply(pg.ConnectionString);
        var clusterId = "c-" + Guid.NewGuid().ToString("N")[..8];
        var serviceId = "s-" + Guid.NewGuid().ToString("N")[..8];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        using var first = BuildSilo(pg.ConnectionString, clusterId, serviceId);
        using var second = BuildSilo(pg.ConnectionString, clusterId, serviceId);
        await first.StartAsync(cts.Token);
        var note = first.Services.GetRequiredService<IGrainFactory>().GetGrain<INoteGrain>("shared");
        await note.Write("written on the first silo");
        var firstSilo = await note.Silo();
        await note.Remind("tick");

        await second.StartAsync(cts.Token);
        await Until(() => Scalar<long>(pg.ConnectionString, "SELECT count(*) FROM MolaMembership WHERE ClusterId = @c AND Status = 3;", ("c", clusterId)) == 2,
            "both silos Active in MolaMembership", cts.Token);
        Assert.Equal(1L, Scalar<long>(pg.ConnectionString,
            "SELECT count(*) FROM MolaGrainState WHERE ServiceId = @s AND IdExtension = 'shared' AND Payload IS NOT NULL AND Version = 1;", ("s", serviceId)));
        Assert.Equal(1L, Scalar<long>(pg.ConnectionString,
            "SELECT count(*) FROM MolaReminder WHERE ServiceId = @s AND ReminderName = 'tick' AND GrainId LIKE '%shared';", ("s", serviceId)));

        await first.StopAsync(cts.Token);
        var again = second.Services.GetRequiredService<IGrainFactory>().GetGrain<INoteGrain>("shared");
        Assert.Equal("written on the first silo", await again.Read());
        Assert.NotEqual(firstSilo, await again.Silo());
        await again.Write("and on the second");
        Assert.Equal(2, Scalar<int>(pg.ConnectionString, "SELECT Version FROM MolaGrainState WHERE ServiceId = @s AND IdExtension = 'shared';", ("s", serviceId)));
        await second.StopAsync(cts.Token);
    }

    private static IHost BuildSilo(string connectionString, string clusterId, string serviceId)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, LoopbackPorts.Free(), LoopbackPorts.Free());
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
            silo.AddAdoNetGrainStorage(NoteGrain.Storage, o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
            silo.UseAdoNetReminderService(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
        });
        return builder.Build();
    }

    private static async Task Until(Func<bool> condition, string what, CancellationToken token)
    {
        while (!condition())
        {
            if (token.IsCancellationRequested) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(200, CancellationToken.None);
        }
    }

    private sealed record SchemaSnapshot(List<(string Key, string Text, string Xmin)> Queries, string Schema)
    {
        public bool Equals(SchemaSnapshot? other) => other is not null && Queries.SequenceEqual(other.Queries) && Schema == other.Schema;
        public override int GetHashCode() => Schema.GetHashCode();
    }

    private static SchemaSnapshot Snapshot(string connectionString)
    {
        using var db = new NpgsqlConnection(connectionString);
        db.Open();
        var queries = new List<(string, string, string)>();
        using (var cmd = new NpgsqlCommand("SELECT QueryKey, QueryText, xmin::text FROM OrleansQuery ORDER BY QueryKey COLLATE \"C\";", db))
        using (var r = cmd.ExecuteReader())
            while (r.Read()) queries.Add((r.GetString(0), r.GetString(1), r.GetString(2)));
        using var schema = new NpgsqlCommand("SELECT string_agg(Component || ' ' || Version || ' ' || AppliedUtc || ' ' || xmin::text, '; ') FROM MolaSchema;", db);
        return new SchemaSnapshot(queries, (string)schema.ExecuteScalar()!);
    }

    /// <summary>Runs a stored query with parameters added the way the providers add them: DbType from the CLR type.</summary>
    private static List<Dictionary<string, object?>> Rows(NpgsqlConnection db, string sql, P[] parameters)
    {
        using var cmd = new NpgsqlCommand(sql, db);
        foreach (var (name, value) in parameters)
        {
            var parameter = cmd.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            parameter.DbType = value switch
            {
                null when name == "GrainStateVersion" => DbType.Int32,
                null when name == "PayloadBinary" => DbType.Binary,
                null => DbType.String,
                int => DbType.Int32,
                long => DbType.Int64,
                string => DbType.String,
                byte[] => DbType.Binary,
                DateTime => DbType.DateTime,
                _ => throw new ArgumentException($"unexpected parameter type {value.GetType()}"),
            };
            cmd.Parameters.Add(parameter);
        }
        var rows = new List<Dictionary<string, object?>>();
        using var r = cmd.ExecuteReader();
        do
        {
            while (r.Read())
            {
                var row = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
                for (var i = 0; i < r.FieldCount; i++) row[r.GetName(i)] = r.IsDBNull(i) ? null : r.GetValue(i);
                rows.Add(row);
            }
        } while (r.NextResult());
        return rows;
    }

    /// <summary>The first column of the single row back, or "none" without one.</summary>
    private static string Answer(NpgsqlConnection db, string sql, P[] parameters)
    {
        var rows = Rows(db, sql, parameters);
        Assert.True(rows.Count <= 1, $"{rows.Count} rows back");
        return rows.Count == 0 ? "none" : Convert.ToString(rows[0].Values.First(), System.Globalization.CultureInfo.InvariantCulture) ?? "null";
    }

    private static T Scalar<T>(string connectionString, string sql, params (string Name, object Value)[] parameters)
    {
        using var db = new NpgsqlConnection(connectionString);
        db.Open();
        using var cmd = new NpgsqlCommand(sql, db);
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        return (T)cmd.ExecuteScalar()!;
    }

    private static void Exec(string connectionString, string sql)
    {
        using var db = new NpgsqlConnection(connectionString);
        db.Open();
        using var cmd = new NpgsqlCommand(sql, db);
        cmd.ExecuteNonQuery();
    }
}
