using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MoLA.Cli.Configuration;

/// <summary>Reads a YAML file for the settings loaders; a syntax error names the file and line.</summary>
internal static class YamlFile
{
    public static YamlStream Load(string path)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            throw new SettingException($"{path}:{e.Start.Line}: not valid YAML ({e.Message})");
        }
        return stream;
    }
}
