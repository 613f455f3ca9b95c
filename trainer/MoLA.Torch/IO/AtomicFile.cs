using System.Text;

namespace MoLA.Torch.IO;

/// <summary>
/// Whole-file text writes that never leave a half-written file: the text goes to a temp file in the
/// same folder, is flushed to disk, then renamed over the target; on any failure the temp file is
/// removed and an existing target is left as it was. UTF-8 without BOM.
/// </summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, w => w.Write(text));

    /// <summary>Writes each line followed by '\n'.</summary>
    public static void WriteLines(string path, IEnumerable<string> lines) => Write(path, w =>
    {
        foreach (var line in lines)
        {
            w.Write(line);
            w.Write('\n');
        }
    });

    private static void Write(string path, Action<StreamWriter> write)
    {
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            using (var w = new StreamWriter(fs, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
            {
                write(w);
                w.Flush();
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
