namespace MoLA.Parallel;

/// <summary>
/// World = DP x EP ranks. Rank r sits in expert-parallel group r / EP (its EP ranks are consecutive, so
/// all-to-all traffic stays between neighbours) at EP position r % EP; the expert-data-parallel group of
/// EP position e is every rank with that position (the replicas of the same experts).
/// </summary>
public sealed record ParallelTopology
{
    public ParallelTopology(int worldSize, int dataParallel, int expertParallel)
    {
        if (worldSize < 1) throw new ParallelConfigException("world size", $"must be at least 1, got {worldSize}");
        if (dataParallel < 1) throw new ParallelConfigException("dp", $"must be at least 1, got {dataParallel}");
        if (expertParallel < 1) throw new ParallelConfigException("ep", $"must be at least 1, got {expertParallel}");
        if ((long)dataParallel * expertParallel != worldSize)
            throw new ParallelConfigException("nproc",
                $"the world size {worldSize} must equal dp x ep = {dataParallel} x {expertParallel} = {(long)dataParallel * expertParallel}");
        WorldSize = worldSize;
        DataParallel = dataParallel;
        ExpertParallel = expertParallel;
    }

    /// <summary>DP = world / EP when only EP is given (DP fills the world), both default 1 x world.</summary>
    public static ParallelTopology Infer(int worldSize, int? dataParallel, int? expertParallel)
    {
        var ep = expertParallel ?? (dataParallel is { } d && d > 0 && worldSize % d == 0 ? worldSize / d : 1);
        var dp = dataParallel ?? (ep > 0 && worldSize % ep == 0 ? worldSize / ep : 0);
        if (dp == 0)
            throw new ParallelConfigException("ep", $"the world size {worldSize} is not a multiple of ep = {ep}");
        return new ParallelTopology(worldSize, dp, ep);
    }

    public int WorldSize { get; }
    public int DataParallel { get; }
    public int ExpertParallel { get; }

    public int EpGroupOf(int rank) => Check(rank) / ExpertParallel;
    public int EpRankOf(int rank) => Check(rank) % ExpertParallel;

    /// <summary>World ranks of the EP group holding <paramref name="rank"/>, in EP-rank order.</summary>
    public int[] EpGroupRanks(int rank)
    {
        var g = EpGroupOf(rank);
        return Enumerable.Range(g * ExpertParallel, ExpertParallel).ToArray();
    }

    /// <summary>World ranks holding the same experts as <paramref name="rank"/> (its expert-data-parallel group).</summary>
    public int[] ExpertDataParallelRanks(int rank)
    {
        var e = EpRankOf(rank);
        return Enumerable.Range(0, DataParallel).Select(d => d * ExpertParallel + e).ToArray();
    }

    private int Check(int rank) =>
        rank >= 0 && rank < WorldSize ? rank : throw new ParallelConfigException("rank", $"must be in [0, {WorldSize}), got {rank}");

    public override string ToString() => $"world {WorldSize} = dp {DataParallel} x ep {ExpertParallel}";
}
