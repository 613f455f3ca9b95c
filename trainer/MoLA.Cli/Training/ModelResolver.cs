using System.Text.Json;
using MoLA.Cli.Configuration;
using MoLA.Model.Llama;
using MoLA.Training.Tokenizers;

namespace MoLA.Cli.Training;

/// <summary>Finds the base checkpoint a setting names and the tokenizer that goes with it.</summary>
public static class ModelResolver
{
    /// <summary>Where the shipped tiny base lives, relative to the repository (or to a published mola.dll).</summary>
    public const string TinyBaseRelative = "models/tiny-base";

    /// <summary>
    /// The checkpoint directory for a base-model setting: a directory with config.json, or "embedded" for the shipped
    /// tiny base ($MOLA_TINY_BASE, then models/tiny-base next to mola.dll or in any parent directory of it).
    /// </summary>
    public static string ResolveBaseModel(string setting, string settingName = "base-model")
    {
        if (setting != TrainSettings.Embedded)
        {
            if (!Directory.Exists(setting)) throw new SettingException($"{settingName}: directory not found: {setting}");
            if (!File.Exists(Path.Combine(setting, "config.json")))
                throw new SettingException($"{settingName}: {setting} has no config.json (expected a Hugging Face checkpoint directory)");
            return Path.GetFullPath(setting);
        }
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("MOLA_TINY_BASE") is { Length: > 0 } env) candidates.Add(env);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            candidates.Add(Path.Combine(dir.FullName, TinyBaseRelative));
        foreach (var c in candidates)
            if (File.Exists(Path.Combine(c, "config.json"))) return Path.GetFullPath(c);
        throw new SettingException($"{settingName}: the embedded tiny base was not found (looked for {TinyBaseRelative}/config.json above " +
            $"{AppContext.BaseDirectory} and in $MOLA_TINY_BASE); build one with `mola pretrain --out DIR` and pass --{settingName} DIR");
    }

    /// <summary>
    /// tokenizer.json when the checkpoint has one; otherwise the byte-level tokenizer when the checkpoint declares it
    /// (tokenizer_config.json "tokenizer_class": "ByteLevel...") or has its 259-token vocabulary.
    /// </summary>
    public static ITokenizer LoadTokenizer(string modelDir)
    {
        var hf = Path.Combine(modelDir, "tokenizer.json");
        if (File.Exists(hf)) return HfTokenizer.Load(hf);
        var tc = Path.Combine(modelDir, "tokenizer_config.json");
        if (File.Exists(tc))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(tc));
            if (doc.RootElement.TryGetProperty("tokenizer_class", out var cls) && cls.GetString() is { } name
                && name.Contains("ByteLevel", StringComparison.OrdinalIgnoreCase))
                return new ByteLevelTokenizer();
        }
        var config = LlamaConfig.Load(modelDir);
        if (config.VocabSize == ByteLevelTokenizer.Size) return new ByteLevelTokenizer();
        throw new SettingException($"{modelDir}: no tokenizer.json (and the vocabulary of {config.VocabSize} is not the byte-level one); " +
            "copy the model's tokenizer.json into the directory");
    }
}
