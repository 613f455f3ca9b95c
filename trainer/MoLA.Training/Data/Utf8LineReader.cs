using System.Text;

namespace MoLA.Training.Data;

/// <summary>
/// Reads a file line by line as UTF-8, decoding each line on its own so invalid bytes are attributed to the right
/// line. Lines end at '\n' (a preceding '\r' is removed); a leading UTF-8 BOM is skipped.
/// </summary>
internal static class Utf8LineReader
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>(1-based line number, text or null when the line is not valid UTF-8).</summary>
    public static IEnumerable<(int Line, string? Text)> ReadLines(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var buffer = new byte[1 << 16];
        var line = new MemoryStream();
        var lineNo = 0;
        var first = true;
        int n;
        while ((n = fs.Read(buffer, 0, buffer.Length)) > 0)
        {
            var start = 0;
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                line.Write(buffer, start, i - start);
                start = i + 1;
                yield return (++lineNo, Decode(line, ref first));
                line.SetLength(0);
            }
            line.Write(buffer, start, n - start);
        }
        if (line.Length > 0) yield return (++lineNo, Decode(line, ref first));
    }

    private static string? Decode(MemoryStream line, ref bool first)
    {
        var bytes = line.GetBuffer().AsSpan(0, (int)line.Length);
        if (first)
        {
            first = false;
            if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) bytes = bytes[3..];
        }
        if (bytes.Length > 0 && bytes[^1] == (byte)'\r') bytes = bytes[..^1];
        try { return Strict.GetString(bytes); }
        catch (DecoderFallbackException) { return null; }
    }
}
