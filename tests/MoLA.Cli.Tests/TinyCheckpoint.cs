using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Training.Tokenizers;

namespace MoLA.Cli.Tests;

/// <summary>A random byte-level LLaMA checkpoint (4 layers, d = 32) written once per test run, for CLI runs that train.</summary>
internal static class TinyCheckpoint
{
    private static readonly Lazy<string> Dir = new(Write);

    public static string Path => Dir.Value;

    private static string Write()
    {
        var dir = Directory.CreateTempSubdirectory("mola-cli-tiny-base-").FullName;
        // Shared by every test of the run: removed when the test process exits (its child processes are gone by then).
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        };
        var config = new LlamaConfig(hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 4, numAttentionHeads: 4,
            vocabSize: ByteLevelTokenizer.Size, numKeyValueHeads: 2);
        torch.manual_seed(11);
        using var model = new LlamaModel(config);
        model.InitializeWeights();
        LlamaCheckpoint.Save(model, dir);
        return dir;
    }
}
