namespace MoLA.Grains;

public static class StateWrites
{
    /// <summary>
    /// Writes the grain's state; when the write fails (the database is down, or the connection was cut), the activation
    /// is dropped as soon as the current call ends. Its memory is ahead of storage then (and its ETag may be stale if
    /// the write landed but the answer was lost), so the next call must start from what storage holds: the caller's
    /// retry (an agent's report, a timer's next tick, a reminder) replays the change instead of finding it done in
    /// memory only and skipping the write for good.
    /// </summary>
    public static async Task WriteOrReload<T>(this IPersistentState<T> state, IGrainBase grain)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            grain.DeactivateOnIdle();
            throw;
        }
    }
}
