using System.Runtime.InteropServices;

namespace MoLA.Torch.IO;

/// <summary>
/// Puts a fully written directory in the place of another, so that a reader, or a crash at any instant, finds either
/// the old directory or the complete new one, never none. On Linux the two names are swapped in one
/// renameat2(RENAME_EXCHANGE) call; elsewhere (or on a file system without it) the old directory is renamed aside,
/// the new one renamed in, and the old one put back if that fails. The old directory is deleted last.
/// </summary>
public static partial class AtomicDirectory
{
    /// <summary>Moves <paramref name="staged"/> (a sibling on the same file system) to <paramref name="target"/>, replacing it.</summary>
    public static void Replace(string staged, string target) => Replace(staged, target, allowExchange: true);

    internal static void Replace(string staged, string target, bool allowExchange)
    {
        var from = Path.GetFullPath(staged);
        var to = Path.GetFullPath(target);
        if (!Directory.Exists(from)) throw new DirectoryNotFoundException($"{from}: the directory to move into place does not exist");
        if (!Directory.Exists(to))
        {
            Directory.Move(from, to);
            return;
        }
        if (allowExchange && OperatingSystem.IsLinux() && Exchange(from, to))
        {
            Directory.Delete(from, recursive: true); // now the old directory
            return;
        }
        var old = Path.Combine(Path.GetDirectoryName(to)!, $".{Path.GetFileName(to)}.old-{Guid.NewGuid():N}");
        Directory.Move(to, old);
        try
        {
            Directory.Move(from, to);
        }
        catch
        {
            Directory.Move(old, to);
            throw;
        }
        Directory.Delete(old, recursive: true);
    }

    private const int AtFdCwd = -100;
    private const uint RenameExchange = 2;

    /// <summary>True when the kernel swapped the two paths; false when the exchange is not supported here.</summary>
    private static bool Exchange(string a, string b)
    {
        int result;
        try
        {
            result = RenameAt2(AtFdCwd, a, AtFdCwd, b, RenameExchange);
        }
        catch (EntryPointNotFoundException)
        {
            return false; // a libc older than glibc 2.28
        }
        if (result == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        const int ENOSYS = 38, EINVAL = 22, EOPNOTSUPP = 95;
        if (errno is ENOSYS or EINVAL or EOPNOTSUPP) return false;
        throw new IOException($"cannot swap {a} and {b}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);
}
