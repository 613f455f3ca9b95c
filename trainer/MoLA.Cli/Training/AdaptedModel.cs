using MoLA.Cli.Configuration;
using MoLA.Model.Adapters;
using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Training.Runs;
using MoLA.Training.Tokenizers;

namespace MoLA.Cli.Training;

/// <summary>A base model with an optional adapter loaded onto it, for `mola eval` and `mola score`.</summary>
public sealed class AdaptedModel : IDisposable
{
    private AdaptedModel(LlamaModel model, ITokenizer tokenizer, string baseDir, string? adapterDir)
    {
        Model = model;
        Tokenizer = tokenizer;
        BaseDir = baseDir;
        AdapterDir = adapterDir;
    }

    public LlamaModel Model { get; }
    public ITokenizer Tokenizer { get; }
    public string BaseDir { get; }
    public string? AdapterDir { get; }

    /// <param name="baseModel">A checkpoint directory or "embedded".</param>
    /// <param name="adapter">An adapter directory, or null / "none" for the base model alone.</param>
    public static AdaptedModel Load(string baseModel, string? adapter)
    {
        var baseDir = ModelResolver.ResolveBaseModel(baseModel);
        var tokenizer = ModelResolver.LoadTokenizer(baseDir);
        string? adapterDir = adapter is null or "none" ? null : adapter;
        if (adapterDir is not null && !File.Exists(Path.Combine(adapterDir, MoeLoraAdapter.ConfigFileName)))
            throw new SettingException($"adapter: {adapterDir} has no {MoeLoraAdapter.ConfigFileName}");
        var model = LlamaCheckpoint.Load(baseDir, new LlamaLoadOptions { FreezeBaseWeights = true });
        try
        {
            if (adapterDir is not null) MoeLoraAdapter.Load(model, adapterDir);
            return new AdaptedModel(model, tokenizer, baseDir, adapterDir);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The run's manifest, or a setting error naming --run when the directory is not a run.</summary>
    public static RunManifest ReadRun(string runDir)
    {
        var run = new RunDirectory(runDir);
        if (!run.IsRun) throw new SettingException($"run: {run.Path} is not a run directory (no {RunFiles.Manifest})");
        return run.ReadManifest();
    }

    public void Dispose() => Model.Dispose();
}
