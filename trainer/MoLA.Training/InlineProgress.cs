namespace MoLA.Training;

/// <summary>
/// IProgress that reports on the calling thread, in order (System.Progress&lt;T&gt; posts to the thread pool, so a
/// trainer's step reports could arrive late or out of order).
/// </summary>
public sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
