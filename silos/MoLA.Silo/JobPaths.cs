namespace MoLA.Silo;

/// <summary>A job's files under the shared run root: RUN_ROOT/JOB/run (what rank 0 writes) and RUN_ROOT/JOB/logs.</summary>
public static class JobPaths
{
    /// <summary>The `mola train --out` directory of a job whose directory is <paramref name="jobDirectory"/>.</summary>
    public static string Run(string jobDirectory) => Path.Combine(jobDirectory, "run");

    public static string RankLog(string jobDirectory, int rank) => Path.Combine(jobDirectory, "logs", $"rank-{rank}.log");
}
