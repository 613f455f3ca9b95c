using System.Globalization;
using System.Text.Json;
using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Torch.IO;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Pretraining;

/// <summary>How a pre-training run went, recorded in pretrain.json next to the weights.</summary>
/// <param name="Steps">Completed optimizer steps.</param>
/// <param name="FinalLoss">Mean training loss of the last 10% of steps (nats per token).</param>
/// <param name="Seconds">Wall-clock seconds of the training steps.</param>
/// <param name="Tokens">Window tokens processed.</param>
/// <param name="CorpusDocuments">Documents in the packed corpus.</param>
/// <param name="CorpusTokens">Tokens in the packed corpus.</param>
/// <param name="Threads">libtorch intra-op threads of the run.</param>
/// <param name="Command">The command line that regenerates the directory.</param>
public sealed record PretrainSummary(
    int Steps, double FinalLoss, double Seconds, long Tokens, int CorpusDocuments, long CorpusTokens, int Threads, string Command);

/// <summary>
/// Writes a pre-trained model as a Hugging Face directory, atomically: everything goes to a temporary sibling
/// directory first, which is then renamed into place (an existing checkpoint there is replaced only after the
/// new one is complete). Layout:
/// <list type="bullet">
/// <item>config.json: LlamaForCausalLM config (torch_dtype = the stored dtype)</item>
/// <item>model.safetensors: the weights under Hugging Face names</item>
/// <item>tokenizer_config.json: marks the byte-level tokenizer (<see cref="ByteLevelTokenizerConfig"/>)</item>
/// <item>pretrain.json: options and outcome of the run (<see cref="PretrainSummary"/>)</item>
/// </list>
/// </summary>
public static class PretrainedCheckpoint
{
    public const string SummaryFileName = "pretrain.json";

    public static void Save(LlamaModel model, string directory, PretrainOptions options, PretrainSummary summary, DType storedDType = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var target = Path.GetFullPath(directory);
        RequireReplaceable(target);
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var name = Path.GetFileName(target);
        var temp = Path.Combine(parent, $".{name}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(temp);
            LlamaCheckpoint.Save(model, temp, new LlamaSaveOptions { DType = storedDType });
            ByteLevelTokenizerConfig.Write(temp);
            AtomicFile.WriteAllText(Path.Combine(temp, SummaryFileName), SummaryJson(options, summary));
            AtomicDirectory.Replace(temp, target);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>
    /// Refuses to replace a directory that is neither empty nor a checkpoint (a config.json in it), so a typo
    /// in --out cannot delete unrelated files.
    /// </summary>
    public static void RequireReplaceable(string directory)
    {
        if (File.Exists(directory))
            throw new IOException($"{directory}: is a file; the output must be a directory");
        if (!Directory.Exists(directory)) return;
        if (Directory.EnumerateFileSystemEntries(directory).Any() && !File.Exists(Path.Combine(directory, LlamaCheckpoint.ConfigFileName)))
            throw new IOException($"{directory}: exists, is not empty and holds no {LlamaCheckpoint.ConfigFileName}; refusing to replace it");
    }

    private static string SummaryJson(PretrainOptions o, PretrainSummary s)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("command", s.Command);
            w.WriteString("tokenizer", "byte-level");
            w.WriteStartObject("options");
            w.WriteNumber("steps", o.Steps);
            w.WriteNumber("batch_size", o.BatchSize);
            w.WriteNumber("seq_len", o.SeqLen);
            w.WriteNumber("lr", o.LearningRate);
            w.WriteNumber("final_lr_fraction", o.FinalLearningRateFraction);
            w.WriteNumber("warmup_steps", o.EffectiveWarmupSteps);
            w.WriteNumber("weight_decay", o.WeightDecay);
            w.WriteNumber("max_grad_norm", o.MaxGradNorm);
            w.WriteString("seed", o.Seed.ToString(CultureInfo.InvariantCulture));
            w.WriteNumber("documents", o.Documents);
            w.WriteNumber("worked_examples", o.WorkedExamples);
            w.WriteEndObject();
            w.WriteStartObject("held_out_benchmark");
            w.WriteNumber("seed", TinyBaseModel.BenchmarkSeed);
            w.WriteNumber("train_per_task", TinyBaseModel.BenchmarkTrainPerTask);
            w.WriteNumber("test_per_task", TinyBaseModel.BenchmarkTestPerTask);
            w.WriteEndObject();
            w.WriteStartObject("result");
            w.WriteNumber("steps", s.Steps);
            w.WriteNumber("final_loss", Math.Round(s.FinalLoss, 4));
            w.WriteNumber("seconds", Math.Round(s.Seconds, 1));
            w.WriteNumber("tokens", s.Tokens);
            w.WriteNumber("tokens_per_second", s.Seconds > 0 ? Math.Round(s.Tokens / s.Seconds) : 0);
            w.WriteNumber("corpus_documents", s.CorpusDocuments);
            w.WriteNumber("corpus_tokens", s.CorpusTokens);
            w.WriteNumber("threads", s.Threads);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
