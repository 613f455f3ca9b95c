using MoLA.Torch.IO;

namespace MoLA.Torch.Tests;

/// <summary>Directory replacement for adapters and checkpoints: the target is always the old or the complete new directory.</summary>
public sealed class AtomicDirectoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-atomic-dir-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private string Make(string name, string file, string text)
    {
        var dir = Path.Combine(_root, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, file), text);
        return dir;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReplacesTheContentsAndLeavesNothingBehind(bool exchange)
    {
        var target = Make("adapter", "old.txt", "old");
        var staged = Make(".adapter.tmp", "new.txt", "new");
        AtomicDirectory.Replace(staged, target, exchange);
        Assert.Equal(["new.txt"], Directory.GetFiles(target).Select(Path.GetFileName));
        Assert.Equal(["adapter"], Directory.GetFileSystemEntries(_root).Select(Path.GetFileName));
    }

    [Fact]
    public void MovesIntoPlaceWhenThereIsNoTarget()
    {
        var staged = Make(".ckpt.tmp", "a", "1");
        var target = Path.Combine(_root, "checkpoint-3");
        AtomicDirectory.Replace(staged, target);
        Assert.True(File.Exists(Path.Combine(target, "a")));
        Assert.False(Directory.Exists(staged));
    }

    [Fact]
    public void AMissingStagedDirectoryLeavesTheTargetAlone()
    {
        var target = Make("adapter", "old.txt", "old");
        Assert.Throws<DirectoryNotFoundException>(() => AtomicDirectory.Replace(Path.Combine(_root, "nothing"), target));
        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "old.txt")));
    }

    /// <summary>
    /// A reader polling the target while it is replaced 30 times must find it every time. Delete-then-move leaves a
    /// gap while the old tree is deleted (100 files here), which the reader sees within a few rounds.
    /// </summary>
    [Fact]
    public async Task AReaderNeverFindsTheTargetMissing()
    {
        var target = Make("adapter", "f0", "x");
        var missing = 0;
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
                if (!Directory.Exists(target)) Interlocked.Increment(ref missing);
        });
        for (var round = 0; round < 30; round++)
        {
            var staged = Path.Combine(_root, $".adapter.tmp-{round}");
            Directory.CreateDirectory(staged);
            for (var i = 0; i < 100; i++) File.WriteAllText(Path.Combine(staged, $"f{i}"), "x");
            AtomicDirectory.Replace(staged, target);
        }
        stop.Cancel();
        await reader;
        Assert.Equal(0, missing);
    }
}
