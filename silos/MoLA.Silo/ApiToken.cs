using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace MoLA.Silo;

/// <summary>
/// The API's bearer token: 32 random bytes (hex) in a file only its owner can read, created on first start and reused
/// after. Every /api request must carry "Authorization: Bearer &lt;token&gt;"; others get 401 and change nothing.
/// </summary>
public static class ApiToken
{
    public static string LoadOrCreate(string file)
    {
        if (File.Exists(file))
        {
            var existing = File.ReadAllText(file).Trim();
            if (existing.Length < 32) throw new InvalidOperationException($"token-file: {file} holds no usable token (fewer than 32 characters); delete it to create a new one");
            return existing;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        var temp = file + ".tmp";
        var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, create))
        {
            stream.Write(Encoding.ASCII.GetBytes(token + "\n"));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, file, overwrite: true);
        return token;
    }

    /// <summary>Constant-time comparison of the request's bearer token.</summary>
    public static bool Authorized(HttpRequest request, string token)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var given = Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(token));
    }
}
