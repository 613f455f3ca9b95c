using MoLA.Cli.Configuration;
using MoLA.Model.Llama;
using MoLA.Training.Pretraining;
using MoLA.Training.Tokenizers;

namespace MoLA.Cli.Training;

/// <summary>Finds the base checkpoint a setting names and the tokenizer that goes with it.</summary>
public static class ModelResolver
{
    /// <summary>
    /// The checkpoint directory for a base-model setting: a directory with config.json, or "embedded" for the shipped
    /// tiny base (found by <see cref="TinyBaseModel.Find"/>: $MOLA_TINY_BASE, else models/tiny-base above mola.dll or
    /// the current directory).
    /// </summary>
    public static string ResolveBaseModel(string setting, string settingName = "base-model")
    {
        if (setting == TrainSettings.Embedded)
        {
            var found = TinyBaseModel.Find() ?? throw new SettingException(
                $"{settingName}: the embedded tiny base was not found ({TinyBaseModel.RelativeDirectory}/config.json above {AppContext.BaseDirectory} " +
                $"or the current directory, or ${TinyBaseModel.DirectoryVariable}); build one with `mola pretrain --out DIR` and pass --{settingName} DIR");
            setting = found;
        }
        if (!Directory.Exists(setting)) throw new SettingException($"{settingName}: directory not found: {setting}");
        if (!File.Exists(Path.Combine(setting, "config.json")))
            throw new SettingException($"{settingName}: {setting} has no config.json (expected a Hugging Face checkpoint directory)");
        return Path.GetFullPath(setting);
    }

    /// <summary>
    /// tokenizer.json when the checkpoint has one; otherwise the byte-level tokenizer when the checkpoint declares it
    /// (<see cref="ByteLevelTokenizerConfig"/>) or has its 259-token vocabulary.
    /// </summary>
    public static ITokenizer LoadTokenizer(string modelDir)
    {
        var hf = Path.Combine(modelDir, "tokenizer.json");
        if (File.Exists(hf)) return HfTokenizer.Load(hf);
        if (ByteLevelTokenizerConfig.IsByteLevel(modelDir)) return new ByteLevelTokenizer();
        var config = LlamaConfig.Load(modelDir);
        if (config.VocabSize == ByteLevelTokenizer.Size) return new ByteLevelTokenizer();
        throw new SettingException($"{modelDir}: no tokenizer.json (and the vocabulary of {config.VocabSize} is not the byte-level one); " +
            "copy the model's tokenizer.json into the directory");
    }
}
