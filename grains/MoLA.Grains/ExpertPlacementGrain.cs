namespace MoLA.Grains;

[GenerateSerializer]
public sealed class ExpertPlacementRecord
{
    [Id(0)] public ExpertPlacementTable? Current { get; set; }
}

/// <summary>Which EP rank holds which experts of each layer of one job, per generation (persisted).</summary>
public sealed class ExpertPlacementGrain(
    [PersistentState("placement", StorageNames.Grains)] IPersistentState<ExpertPlacementRecord> state) : Grain, IExpertPlacementGrain
{
    public async Task<ExpertPlacementTable> Contiguous(int generation, List<int> expertsPerLayer, int expertParallel)
    {
        var table = ExpertBalancer.Contiguous(generation, expertsPerLayer, expertParallel);
        state.State.Current = table;
        await state.WriteOrReload(this);
        return table;
    }

    public async Task<ExpertPlacementTable> Balance(int generation, List<List<long>> tokensPerExpert, int expertParallel)
    {
        var table = ExpertBalancer.LongestProcessingTimeFirst(generation, tokensPerExpert, expertParallel);
        state.State.Current = table;
        await state.WriteOrReload(this);
        return table;
    }

    public Task<ExpertPlacementTable?> Current() => Task.FromResult(state.State.Current);
}
