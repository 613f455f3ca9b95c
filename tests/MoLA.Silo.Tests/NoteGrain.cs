namespace MoLA.Silo.Tests;

/// <summary>A tiny grain with persistent state (provider "pg") and a reminder, for the PostgreSQL provider tests.</summary>
public interface INoteGrain : IGrainWithStringKey
{
    Task Write(string text);
    Task<string> Read();
    Task Remind(string name);
    Task<string> Silo();
}

[GenerateSerializer]
public sealed class NoteState
{
    [Id(0)] public string Text { get; set; } = "";
}

public sealed class NoteGrain([PersistentState("note", NoteGrain.Storage)] IPersistentState<NoteState> state) : Grain, INoteGrain, IRemindable
{
    public const string Storage = "pg";

    public async Task Write(string text)
    {
        state.State.Text = text;
        await state.WriteStateAsync();
    }

    public Task<string> Read() => Task.FromResult(state.State.Text);

    // Orleans refuses periods under a minute by default; the test only checks the row and never waits for a tick.
    public Task Remind(string name) => this.RegisterOrUpdateReminder(name, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5));

    public Task<string> Silo() => Task.FromResult(RuntimeIdentity);

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;
}
