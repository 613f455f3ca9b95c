namespace MoLA.Grains.Tests;

/// <summary>Nodes with unique names per test (the cluster is shared by the collection) and polling helpers.</summary>
internal static class GrainTestKit
{
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    public static JobSpec Spec(string device, int dp = 1, int ep = 1, int priority = 0, int maxRestarts = 3) => new()
    {
        MaxRestarts = maxRestarts,
        Name = "test",
        Settings = new() { ["steps"] = "3" },
        DataParallel = dp,
        ExpertParallel = ep,
        Priority = priority,
        RunDirectory = "/tmp/none",
        Device = device,
    };

    /// <summary>A device kind of its own per test: the cluster (and its scheduler) is shared, slots of other kinds are never used.</summary>
    public static string Kind() => Unique("kind");

    /// <summary>Registers a node of <paramref name="slots"/> CPU slots, beats once and adds it to the scheduler.</summary>
    public static async Task<INodeGrain> Node(IGrainFactory grains, string name, int slots, string kind, int portStart = 40000)
    {
        var node = grains.GetGrain<INodeGrain>(name);
        await node.Register(new NodeRegistration
        {
            Name = name,
            Address = "127.0.0.1",
            Devices = Enumerable.Range(0, slots).Select(i => new DeviceSlot(i, kind)).ToList(),
            RendezvousPortStart = portStart,
            RendezvousPortCount = 10,
        });
        await node.Heartbeat(new NodeHeartbeat([]));
        await grains.GetGrain<ISchedulerGrain>(0).AddNode(name);
        return node;
    }

    public static async Task<JobStatus> WaitFor(ITrainingJobGrain job, Func<JobStatus, bool> done, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            var s = await job.GetStatus() ?? throw new InvalidOperationException("job vanished");
            if (done(s)) return s;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"job {s.JobId} stuck in {s.State}: {s.Reason}");
            await Task.Delay(50);
        }
    }
}
