namespace NcclSharp;

/// <summary>
/// A <c>ncclGroupStart</c> ... <c>ncclGroupEnd</c> scope:
/// <c>using (NcclGroup.Begin()) { comm.Send(...); comm.Recv(...); }</c>.
/// </summary>
/// <remarks>
/// Grouping is required for point-to-point exchanges (a send and a receive that must progress
/// together would otherwise deadlock) and lets NCCL fuse several collectives into one launch.
/// Operations inside the scope are only queued; errors they hit are reported by ncclGroupEnd,
/// which is why <see cref="Dispose"/> throws. NCCL keeps the group depth per thread, so the scope
/// must start and end on the same thread: never <c>await</c> inside it.
/// </remarks>
public sealed class NcclGroup : IDisposable
{
    private bool _ended;

    private NcclGroup()
    {
    }

    /// <summary>Calls ncclGroupStart.</summary>
    /// <exception cref="NcclException">libnccl.so.2 is missing or the call failed.</exception>
    public static NcclGroup Begin()
    {
        Nccl.EnsureAvailable();
        NcclNative.Check(NcclNative.GroupStart(), "ncclGroupStart");
        return new NcclGroup();
    }

    /// <summary>Calls ncclGroupEnd once, launching the queued operations.</summary>
    /// <exception cref="NcclException">ncclGroupEnd reported an error of a grouped operation.</exception>
    public void Dispose()
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        NcclNative.Check(NcclNative.GroupEnd(), "ncclGroupEnd");
    }
}
