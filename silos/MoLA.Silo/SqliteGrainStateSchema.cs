using Microsoft.Data.Sqlite;

namespace MoLA.Silo;

/// <summary>
/// Our own migration of the embedded grain-state database (SQLite) to the ADO.NET storage provider's contract: the
/// provider reads its statements from table OrleansQuery (keys WriteToStorageKey, ReadFromStorageKey,
/// ClearStorageKey), binds the parameters @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
/// @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary, and reads the columns PayloadBinary and
/// Version (read) or NewGrainStateVersion (write and clear; no row = the ETag did not match). The NuGet packages do not
/// ship these scripts. Versioned (MolaSchema) and idempotent: applying it twice changes nothing.
/// </summary>
public static class SqliteGrainStateSchema
{
    public const int Version = 1;

    // One row per grain; the key columns themselves are the primary key (the hashes are not needed for lookups here).
    private const string Tables = """
        CREATE TABLE IF NOT EXISTS MolaSchema (Component TEXT PRIMARY KEY, Version INTEGER NOT NULL, AppliedUtc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS OrleansQuery (QueryKey TEXT PRIMARY KEY, QueryText TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS MolaGrainState (
            ServiceId TEXT NOT NULL,
            GrainType TEXT NOT NULL,
            IdN0 INTEGER NOT NULL,
            IdN1 INTEGER NOT NULL,
            IdExtension TEXT NOT NULL,
            Payload BLOB NULL,
            Version INTEGER NOT NULL,
            UpdatedUtc TEXT NOT NULL,
            PRIMARY KEY (ServiceId, GrainType, IdN0, IdN1, IdExtension));
        """;

    private const string Key = """
        ServiceId = @ServiceId AND GrainType = @GrainTypeString AND IdN0 = @GrainIdN0 AND IdN1 = @GrainIdN1
        AND IdExtension = coalesce(@GrainIdExtensionString, '')
        """;

    // Insert when there is no row and no ETag; otherwise update only the version the caller read. RETURNING yields the
    // new version, or nothing when the ETag was stale (the provider then raises InconsistentStateException).
    private const string Write = $"""
        INSERT INTO MolaGrainState (ServiceId, GrainType, IdN0, IdN1, IdExtension, Payload, Version, UpdatedUtc)
        SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, coalesce(@GrainIdExtensionString, ''), @PayloadBinary, 1,
               strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
        WHERE @GrainStateVersion IS NULL OR EXISTS (SELECT 1 FROM MolaGrainState WHERE {Key})
        ON CONFLICT (ServiceId, GrainType, IdN0, IdN1, IdExtension) DO UPDATE
            SET Payload = excluded.Payload, Version = MolaGrainState.Version + 1, UpdatedUtc = excluded.UpdatedUtc
            WHERE MolaGrainState.Version = @GrainStateVersion
        RETURNING Version AS NewGrainStateVersion;
        """;

    private const string Read = $"SELECT Payload AS PayloadBinary, Version FROM MolaGrainState WHERE {Key};";

    private const string Clear = $"""
        UPDATE MolaGrainState SET Payload = NULL, Version = Version + 1, UpdatedUtc = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
        WHERE {Key} AND Version = @GrainStateVersion
        RETURNING Version AS NewGrainStateVersion;
        """;

    public static string ConnectionString(string databaseFile) =>
        new SqliteConnectionStringBuilder { DataSource = databaseFile, Pooling = false }.ToString();

    /// <summary>Creates or upgrades the database; returns the schema version it found before (0 = new).</summary>
    public static int Apply(string databaseFile)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databaseFile))!);
        using var connection = new SqliteConnection(ConnectionString(databaseFile));
        connection.Open();
        Execute(connection, null, "PRAGMA journal_mode = WAL;");
        using var tx = connection.BeginTransaction();
        Execute(connection, tx, Tables);
        int found;
        using (var read = connection.CreateCommand())
        {
            read.Transaction = tx;
            read.CommandText = "SELECT Version FROM MolaSchema WHERE Component = 'grain-state';";
            found = read.ExecuteScalar() is long v ? (int)v : 0;
        }
        if (found > Version)
            throw new InvalidOperationException($"{databaseFile}: grain-state schema version {found} is newer than this build's {Version}; upgrade mola");
        foreach (var (key, text) in new[] { ("WriteToStorageKey", Write), ("ReadFromStorageKey", Read), ("ClearStorageKey", Clear) })
        {
            using var upsert = connection.CreateCommand();
            upsert.Transaction = tx;
            upsert.CommandText = "INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ($k, $t) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;";
            upsert.Parameters.AddWithValue("$k", key);
            upsert.Parameters.AddWithValue("$t", text);
            upsert.ExecuteNonQuery();
        }
        using (var mark = connection.CreateCommand())
        {
            mark.Transaction = tx;
            mark.CommandText = "INSERT INTO MolaSchema (Component, Version, AppliedUtc) VALUES ('grain-state', $v, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) ON CONFLICT (Component) DO UPDATE SET Version = excluded.Version;";
            mark.Parameters.AddWithValue("$v", Version);
            mark.ExecuteNonQuery();
        }
        tx.Commit();
        return found;
    }

    private static void Execute(SqliteConnection c, SqliteTransaction? tx, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
