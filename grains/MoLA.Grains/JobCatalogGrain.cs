namespace MoLA.Grains;

[GenerateSerializer]
public sealed class JobCatalogRecord
{
    [Id(0)] public List<string> JobIds { get; set; } = [];
}

/// <summary>Every id the cluster has seen of one kind (jobs, sweeps), in submission order (what `GET /api/jobs` lists).</summary>
public sealed class JobCatalogGrain([PersistentState("catalog", StorageNames.Grains)] IPersistentState<JobCatalogRecord> state) : Grain, IJobCatalogGrain
{
    public async Task Add(string jobId)
    {
        if (state.State.JobIds.Contains(jobId)) return;
        state.State.JobIds.Add(jobId);
        await state.WriteOrReload(this);
    }

    public Task<List<string>> List() => Task.FromResult(state.State.JobIds.ToList());
}
