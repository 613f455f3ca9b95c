using MoLA.Model.Llama;
using MoLA.Training.Data;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Pretraining;

/// <summary>
/// The tiny LLaMA-architecture base model the offline demo fine-tunes: its canonical config, the benchmark
/// whose test split its pre-training corpus leaves out, and where the shipped checkpoint lives
/// (models/tiny-base/ of the repository: config.json, model.safetensors, tokenizer_config.json, pretrain.json).
/// </summary>
public static class TinyBaseModel
{
    /// <summary>The shipped checkpoint's path relative to the repository root.</summary>
    public const string RelativeDirectory = "models/tiny-base";

    /// <summary>Environment variable that overrides where the shipped checkpoint is looked for.</summary>
    public const string DirectoryVariable = "MOLA_TINY_BASE";

    /// <summary>Seed and sizes of the demo benchmark (<see cref="DemoBenchmark"/>); its test split is held out of pre-training.</summary>
    public const ulong BenchmarkSeed = 42;
    public const int BenchmarkTrainPerTask = 200;
    public const int BenchmarkTestPerTask = 50;

    /// <summary>
    /// Hidden 64, 8 layers (so MoLA's 4-block shapes such as "2468" give 2 layers per block), 4 query heads of
    /// 16 dimensions sharing 2 KV heads (GQA), SwiGLU width 176, byte-level vocabulary of 259, untied head,
    /// 512 positions, RoPE theta 10000. About 0.43 M parameters: small enough that a fine-tune step with
    /// adapters (16 x 128 tokens) stays well under half a second on two cores.
    /// </summary>
    public static LlamaConfig Config { get; } = new(
        hiddenSize: 64,
        intermediateSize: 176,
        numHiddenLayers: 8,
        numAttentionHeads: 4,
        vocabSize: ByteLevelTokenizer.Size,
        numKeyValueHeads: 2,
        rmsNormEps: 1e-5,
        ropeTheta: 10000,
        tieWordEmbeddings: false,
        maxPositionEmbeddings: 512,
        initializerRange: 0.02);

    /// <summary>The demo's benchmark: <see cref="EmbeddedBenchmark.Generate"/> with the constants above.</summary>
    public static EmbeddedBenchmark DemoBenchmark() => EmbeddedBenchmark.Generate(BenchmarkSeed, BenchmarkTrainPerTask, BenchmarkTestPerTask);

    /// <summary>
    /// The shipped checkpoint directory: $MOLA_TINY_BASE if set, else models/tiny-base under the first of the
    /// application directory, the current directory and their parents that has one; null when none is found.
    /// </summary>
    public static string? Find()
    {
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } fromEnv) return fromEnv;
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, RelativeDirectory);
                if (File.Exists(Path.Combine(candidate, LlamaCheckpoint.ConfigFileName))) return candidate;
            }
        return null;
    }

    /// <summary>Loads the shipped checkpoint (see <see cref="Find"/>); the error says how to regenerate it when missing.</summary>
    public static LlamaModel Load(LlamaLoadOptions? options = null)
    {
        var dir = Find() ?? throw new DirectoryNotFoundException(
            $"the tiny base model ({RelativeDirectory}/) was not found from {AppContext.BaseDirectory} or {Directory.GetCurrentDirectory()}; "
            + $"set {DirectoryVariable} or regenerate it with: mola pretrain --out {RelativeDirectory}");
        if (!ByteLevelTokenizerConfig.IsByteLevel(dir))
            throw new InvalidDataException($"{Path.Combine(dir, ByteLevelTokenizerConfig.FileName)}: missing or not the byte-level tokenizer; {dir} is not a tiny base checkpoint");
        return LlamaCheckpoint.Load(dir, options);
    }
}
