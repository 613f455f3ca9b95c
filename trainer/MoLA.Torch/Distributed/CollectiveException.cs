namespace MoLA.Torch.Distributed;

/// <summary>
/// A collective (or the group's rendezvous) failed. The message names the operation, this
/// rank, the group size and the native error; a timeout says "timed out" and the timeout.
/// After a failed collective the group is unusable (peers are out of step): dispose it.
/// </summary>
public sealed class CollectiveException : Exception
{
    public CollectiveException(string op, int rank, int size, string group, TimeSpan timeout, string nativeMessage)
        : base(Format(op, rank, size, group, timeout, nativeMessage))
    {
        Op = op;
        Rank = rank;
        Size = size;
        Group = group;
        Timeout = timeout;
        NativeMessage = nativeMessage;
        IsTimeout = GlooNative.IsTimeoutText(nativeMessage);
    }

    /// <summary>The operation, e.g. "AllReduce".</summary>
    public string Op { get; }

    public int Rank { get; }
    public int Size { get; }
    public string Group { get; }

    /// <summary>The group's timeout for every collective.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The native (c10d / Gloo) error text.</summary>
    public string NativeMessage { get; }

    /// <summary>True when the operation gave up waiting for a peer (as opposed to e.g. a peer closing its connection).</summary>
    public bool IsTimeout { get; }

    private static string Format(string op, int rank, int size, string group, TimeSpan timeout, string native)
    {
        var ms = (long)timeout.TotalMilliseconds;
        var detail = Detail(native);
        return GlooNative.IsTimeoutText(native)
            ? $"{op} timed out on rank {rank} of {size} (group '{group}', timeout {ms} ms): {detail}"
            : $"{op} failed on rank {rank} of {size} (group '{group}', timeout {ms} ms): {detail}";
    }

    /// <summary>
    /// The native text without what the message already says: c10d.cpp prefixes
    /// "[group 'g' rank r/n] op: " and, for timeouts, "timed out (timeout N ms): ".
    /// </summary>
    private static string Detail(string native)
    {
        var d = native;
        if (d.StartsWith("[group ", StringComparison.Ordinal))
        {
            var close = d.IndexOf("] ", StringComparison.Ordinal);
            if (close > 0) d = d[(close + 2)..];
            var colon = d.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0 && d[..colon].All(char.IsAsciiLetterLower)) d = d[(colon + 2)..];
        }
        const string timedOut = "timed out (timeout ";
        if (d.StartsWith(timedOut, StringComparison.Ordinal))
        {
            var end = d.IndexOf("): ", StringComparison.Ordinal);
            if (end > 0) d = d[(end + 3)..];
        }
        return d.Length > 0 ? d : native;
    }
}

/// <summary>
/// A TCPStore operation failed: creating a server (e.g. the port is in use), connecting to
/// one (nothing listens there within the timeout), or a get/wait that timed out.
/// </summary>
public sealed class StoreException : Exception
{
    public StoreException(string op, string host, int port, string nativeMessage)
        : base($"TCPStore {op} ({host}:{port}) failed: {nativeMessage}")
    {
        Op = op;
        Host = host;
        Port = port;
        NativeMessage = nativeMessage;
        IsTimeout = GlooNative.IsTimeoutText(nativeMessage);
    }

    public string Op { get; }
    public string Host { get; }
    public int Port { get; }
    public string NativeMessage { get; }
    public bool IsTimeout { get; }
}
