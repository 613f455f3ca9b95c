using Npgsql;

namespace MoLA.Silo;

/// <summary>
/// Our own migration of a PostgreSQL database to the contract of Orleans' three ADO.NET providers (clustering, grain
/// state, reminders; Invariant "Npgsql"). Each provider loads its statements from table OrleansQuery by key, binds
/// its parameters by name (@DeploymentId, @ServiceId, ...) and reads the result columns by name; the NuGet packages
/// do not ship the scripts that create them. Versioned (MolaSchema) and idempotent: applying it twice changes nothing,
/// and a database migrated by a newer build is refused.
/// </summary>
public static class PostgresSchema
{
    public const int Version = 1;

    private const string Component = "orleans";

    // Unquoted names: PostgreSQL folds them to lower case and Npgsql matches the providers' column names without case.
    // Membership: one version row per cluster (the table's optimistic lock, the ETag every membership change must
    // name) and one row per silo incarnation; deleting the version row drops the cluster's silos with it.
    // Grain state: the key columns are the primary key (the provider's hashes are not needed for lookups); no key
    // extension is stored as '' so that it can be part of the key. Reminders: ranges of the grain hash are read by the
    // reminder service's ring partitions, hence the index.
    private const string Tables = """
        CREATE TABLE IF NOT EXISTS MolaSchema (
            Component text PRIMARY KEY,
            Version integer NOT NULL,
            AppliedUtc timestamptz NOT NULL);
        CREATE TABLE IF NOT EXISTS OrleansQuery (
            QueryKey varchar(64) PRIMARY KEY,
            QueryText text NOT NULL);
        CREATE TABLE IF NOT EXISTS MolaMembershipVersion (
            ClusterId text PRIMARY KEY,
            Version integer NOT NULL DEFAULT 0,
            UpdatedUtc timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS MolaMembership (
            ClusterId text NOT NULL REFERENCES MolaMembershipVersion (ClusterId) ON DELETE CASCADE,
            Address varchar(45) NOT NULL,
            Port integer NOT NULL,
            Generation integer NOT NULL,
            SiloName text NOT NULL,
            HostName text NOT NULL,
            Status integer NOT NULL,
            ProxyPort integer NOT NULL,
            SuspectTimes text NULL,
            StartTime timestamptz NOT NULL,
            IAmAliveTime timestamptz NOT NULL,
            PRIMARY KEY (ClusterId, Address, Port, Generation));
        CREATE TABLE IF NOT EXISTS MolaGrainState (
            ServiceId text NOT NULL,
            GrainType text NOT NULL,
            IdN0 bigint NOT NULL,
            IdN1 bigint NOT NULL,
            IdExtension text NOT NULL,
            Payload bytea NULL,
            Version integer NOT NULL,
            UpdatedUtc timestamptz NOT NULL,
            PRIMARY KEY (ServiceId, GrainType, IdN0, IdN1, IdExtension));
        CREATE TABLE IF NOT EXISTS MolaReminder (
            ServiceId text NOT NULL,
            GrainId text NOT NULL,
            ReminderName text NOT NULL,
            StartTime timestamptz NOT NULL,
            Period bigint NOT NULL,
            GrainHash integer NOT NULL,
            Version integer NOT NULL,
            PRIMARY KEY (ServiceId, GrainId, ReminderName));
        CREATE INDEX IF NOT EXISTS MolaReminder_Hash ON MolaReminder (ServiceId, GrainHash);
        """;

    // ---- Clustering. Every change to a silo row also moves the cluster's version from the @Version the caller read
    // to the next one; a stale @Version changes nothing and answers false (the membership protocol re-reads and
    // retries). The version moves only when the row change will happen, so a refused change leaves no trace.

    // True only for the call that created the version row.
    private const string InsertMembershipVersion = """
        WITH created AS (
            INSERT INTO MolaMembershipVersion (ClusterId) VALUES (@DeploymentId)
            ON CONFLICT (ClusterId) DO NOTHING
            RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM created);
        """;

    private const string SiloRow = "m.ClusterId = v.ClusterId AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation";

    private const string InsertMembership = $"""
        WITH bumped AS (
            UPDATE MolaMembershipVersion v SET Version = v.Version + 1, UpdatedUtc = now()
            WHERE v.ClusterId = @DeploymentId AND v.Version = @Version
              AND NOT EXISTS (SELECT 1 FROM MolaMembership m WHERE {SiloRow})
            RETURNING v.ClusterId),
        added AS (
            INSERT INTO MolaMembership (ClusterId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
            SELECT ClusterId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
            FROM bumped
            RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM added);
        """;

    private const string UpdateMembership = $"""
        WITH bumped AS (
            UPDATE MolaMembershipVersion v SET Version = v.Version + 1, UpdatedUtc = now()
            WHERE v.ClusterId = @DeploymentId AND v.Version = @Version
              AND EXISTS (SELECT 1 FROM MolaMembership m WHERE {SiloRow})
            RETURNING v.ClusterId),
        changed AS (
            UPDATE MolaMembership m SET Status = @Status, SuspectTimes = @SuspectTimes, IAmAliveTime = @IAmAliveTime
            FROM bumped v
            WHERE {SiloRow}
            RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM changed);
        """;

    // A heartbeat: not a membership change, so the version stays.
    private const string UpdateIAmAlive = """
        UPDATE MolaMembership SET IAmAliveTime = @IAmAliveTime
        WHERE ClusterId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation;
        """;

    // The version row comes back even without silo rows (outer join): the provider takes the table's ETag from it and
    // sees "no silo" where StartTime is null.
    private const string MembershipColumns = """
        SELECT m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort, m.SuspectTimes,
               m.StartTime, m.IAmAliveTime, v.Version
        FROM MolaMembershipVersion v
        """;

    private const string MembershipReadRow = $"""
        {MembershipColumns}
        LEFT JOIN MolaMembership m ON {SiloRow}
        WHERE v.ClusterId = @DeploymentId;
        """;

    private const string MembershipReadAll = $"""
        {MembershipColumns}
        LEFT JOIN MolaMembership m ON m.ClusterId = v.ClusterId
        WHERE v.ClusterId = @DeploymentId;
        """;

    private const string DeleteMembershipTableEntries = "DELETE FROM MolaMembershipVersion WHERE ClusterId = @DeploymentId;";

    // Clients find gateways here: silos with the status asked for (Active) that listen for clients.
    private const string Gateways = """
        SELECT Address, ProxyPort, Generation FROM MolaMembership
        WHERE ClusterId = @DeploymentId AND Status = @Status AND ProxyPort > 0;
        """;

    // Rows of silos that are not Active (3) and have not been heard of since @IAmAliveTime; like a heartbeat, not a
    // membership change.
    private const string CleanupDefunctSiloEntries = """
        DELETE FROM MolaMembership
        WHERE ClusterId = @DeploymentId AND Status <> 3 AND IAmAliveTime < @IAmAliveTime;
        """;

    // ---- Grain state. The ETag is Version: a write or clear names the version it read (@GrainStateVersion, null =
    // none read) and answers the new one; no row back means the ETag was stale and the provider raises
    // InconsistentStateException.

    private const string GrainKey = """
        ServiceId = @ServiceId AND GrainType = @GrainTypeString AND IdN0 = @GrainIdN0 AND IdN1 = @GrainIdN1
        AND IdExtension = coalesce(@GrainIdExtensionString, '')
        """;

    // With an ETag: update exactly that version. Without: insert version 1, which fails (no row back) when a row
    // already exists, also when two activations race to insert.
    private const string WriteToStorage = $"""
        WITH updated AS (
            UPDATE MolaGrainState SET Payload = @PayloadBinary, Version = Version + 1, UpdatedUtc = now()
            WHERE {GrainKey} AND Version = @GrainStateVersion
            RETURNING Version),
        inserted AS (
            INSERT INTO MolaGrainState (ServiceId, GrainType, IdN0, IdN1, IdExtension, Payload, Version, UpdatedUtc)
            SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, coalesce(@GrainIdExtensionString, ''), @PayloadBinary, 1, now()
            WHERE @GrainStateVersion IS NULL
            ON CONFLICT DO NOTHING
            RETURNING Version)
        SELECT Version AS NewGrainStateVersion FROM updated
        UNION ALL
        SELECT Version FROM inserted;
        """;

    private const string ReadFromStorage = $"SELECT Payload AS PayloadBinary, Version FROM MolaGrainState WHERE {GrainKey};";

    // Clearing keeps the row (payload null) so that the version keeps counting.
    private const string ClearStorage = $"""
        UPDATE MolaGrainState SET Payload = NULL, Version = Version + 1, UpdatedUtc = now()
        WHERE {GrainKey} AND Version = @GrainStateVersion
        RETURNING Version AS NewGrainStateVersion;
        """;

    // Used instead of ClearStorageKey with DeleteStateOnClear; the provider wants a version other than the ETag back.
    private const string DeleteStorage = $"""
        DELETE FROM MolaGrainState
        WHERE {GrainKey} AND Version = @GrainStateVersion
        RETURNING Version + 1 AS NewGrainStateVersion;
        """;

    // ---- Reminders. Version is the reminder's ETag: 0 when created, +1 on every re-registration.

    private const string ReminderColumns = "SELECT GrainId, ReminderName, StartTime, Period, Version FROM MolaReminder";

    private const string UpsertReminderRow = """
        INSERT INTO MolaReminder (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
        VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
        ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
            SET StartTime = excluded.StartTime, Period = excluded.Period, GrainHash = excluded.GrainHash,
                Version = MolaReminder.Version + 1
        RETURNING Version;
        """;

    private const string ReadReminderRows = $"{ReminderColumns} WHERE ServiceId = @ServiceId AND GrainId = @GrainId;";

    private const string ReadReminderRow = $"{ReminderColumns} WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName;";

    // The ring range (@BeginHash, @EndHash] of signed hashes: one interval when Begin < End (Rows1), else it wraps
    // around (Rows2).
    private const string ReadRangeRows1 = $"{ReminderColumns} WHERE ServiceId = @ServiceId AND GrainHash > @BeginHash AND GrainHash <= @EndHash;";

    private const string ReadRangeRows2 = $"{ReminderColumns} WHERE ServiceId = @ServiceId AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);";

    // True when the row with that ETag was there to delete.
    private const string DeleteReminderRow = """
        WITH gone AS (
            DELETE FROM MolaReminder
            WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName AND Version = @Version
            RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM gone);
        """;

    private const string DeleteReminderRows = "DELETE FROM MolaReminder WHERE ServiceId = @ServiceId;";

    /// <summary>Every OrleansQuery row the three providers read, by key.</summary>
    internal static IReadOnlyList<(string Key, string Text)> Queries { get; } =
    [
        ("InsertMembershipVersionKey", InsertMembershipVersion),
        ("InsertMembershipKey", InsertMembership),
        ("UpdateMembershipKey", UpdateMembership),
        ("UpdateIAmAlivetimeKey", UpdateIAmAlive),
        ("MembershipReadRowKey", MembershipReadRow),
        ("MembershipReadAllKey", MembershipReadAll),
        ("DeleteMembershipTableEntriesKey", DeleteMembershipTableEntries),
        ("GatewaysQueryKey", Gateways),
        ("CleanupDefunctSiloEntriesKey", CleanupDefunctSiloEntries),
        ("WriteToStorageKey", WriteToStorage),
        ("ReadFromStorageKey", ReadFromStorage),
        ("ClearStorageKey", ClearStorage),
        ("DeleteStorageKey", DeleteStorage),
        ("UpsertReminderRowKey", UpsertReminderRow),
        ("ReadReminderRowsKey", ReadReminderRows),
        ("ReadReminderRowKey", ReadReminderRow),
        ("ReadRangeRows1Key", ReadRangeRows1),
        ("ReadRangeRows2Key", ReadRangeRows2),
        ("DeleteReminderRowKey", DeleteReminderRow),
        ("DeleteReminderRowsKey", DeleteReminderRows),
    ];

    /// <summary>
    /// Creates or upgrades the schema in one transaction. Throws <see cref="InvalidOperationException"/> when the
    /// database was migrated by a newer build.
    /// </summary>
    public static void Apply(string connectionString)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var tx = connection.BeginTransaction();
        // Silos starting together migrate one after the other (CREATE ... IF NOT EXISTS is not safe against a
        // concurrent CREATE); the lock ends with the transaction.
        Execute(connection, tx, "SELECT pg_advisory_xact_lock(hashtext('MolaSchema'));");
        Execute(connection, tx, Tables);
        var found = ReadVersion(connection, tx) ?? 0;
        if (found > Version)
            throw new InvalidOperationException($"PostgreSQL schema version {found} is newer than this build's {Version}; upgrade mola");
        foreach (var (key, text) in Queries)
        {
            // Rewrites a row only when its text differs, so that a second run changes nothing.
            Execute(connection, tx, """
                INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES (@k, @t)
                ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText
                WHERE OrleansQuery.QueryText IS DISTINCT FROM excluded.QueryText;
                """, ("k", key), ("t", text));
        }
        Execute(connection, tx, """
            INSERT INTO MolaSchema (Component, Version, AppliedUtc) VALUES (@c, @v, now())
            ON CONFLICT (Component) DO UPDATE SET Version = excluded.Version, AppliedUtc = excluded.AppliedUtc
            WHERE MolaSchema.Version <> excluded.Version;
            """, ("c", Component), ("v", Version));
        tx.Commit();
    }

    /// <summary>The schema version the database holds; null when it was never migrated.</summary>
    public static int? InstalledVersion(string connectionString)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        return ReadVersion(connection, null);
    }

    private static int? ReadVersion(NpgsqlConnection connection, NpgsqlTransaction? tx)
    {
        // A database never migrated has no MolaSchema table to query.
        using (var exists = new NpgsqlCommand("SELECT to_regclass('MolaSchema') IS NOT NULL;", connection, tx))
            if (exists.ExecuteScalar() is not true) return null;
        using var cmd = new NpgsqlCommand("SELECT Version FROM MolaSchema WHERE Component = @c;", connection, tx);
        cmd.Parameters.AddWithValue("c", Component);
        return cmd.ExecuteScalar() is int v ? v : null;
    }

    private static void Execute(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, params (string Name, object Value)[] parameters)
    {
        using var cmd = new NpgsqlCommand(sql, connection, tx);
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        cmd.ExecuteNonQuery();
    }
}
