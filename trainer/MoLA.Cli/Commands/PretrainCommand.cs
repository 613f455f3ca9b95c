using MoLA.Training;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MoLA.Cli.Output;
using MoLA.Torch;
using MoLA.Training.Pretraining;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola pretrain --out DIR</c>: pre-trains the tiny base model (<see cref="TinyBaseModel.Config"/>) from scratch
/// on the embedded corpus and worked examples, and writes a Hugging Face directory atomically. Progress lines go
/// to stdout (to stderr with --json, so stdout holds only the JSON summary).
/// </summary>
internal static class PretrainCommand
{
    public static Command Create()
    {
        var defaults = new PretrainOptions();
        var output = new Option<string>("--out") { Description = "checkpoint directory to write (replaced atomically if it holds a checkpoint)", HelpName = "DIR", Required = true };
        var steps = new Option<int>("--steps") { Description = "optimizer steps", HelpName = "N", DefaultValueFactory = _ => defaults.Steps };
        var seed = new Option<ulong>("--seed") { Description = "seed of the weights, the corpus and the data order", HelpName = "S", DefaultValueFactory = _ => defaults.Seed };
        var batch = new Option<int>("--batch-size") { Description = "packed windows per step", HelpName = "B", DefaultValueFactory = _ => defaults.BatchSize };
        var seqLen = new Option<int>("--seq-len") { Description = "tokens per packed window", HelpName = "L", DefaultValueFactory = _ => defaults.SeqLen };
        var lr = new Option<double>("--lr") { Description = "peak learning rate (linear warm-up, cosine decay to 10%)", HelpName = "LR", DefaultValueFactory = _ => defaults.LearningRate };
        var documents = new Option<int>("--documents") { Description = "embedded-corpus documents in the training text", HelpName = "N", DefaultValueFactory = _ => defaults.Documents };
        var worked = new Option<int>("--worked-examples") { Description = "worked benchmark-style examples mixed in (never the demo's test items)", HelpName = "N", DefaultValueFactory = _ => defaults.WorkedExamples };
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var command = new Command("pretrain", "Pre-train the tiny byte-level LLaMA base model the offline demo fine-tunes")
        {
            output, steps, seed, batch, seqLen, lr, documents, worked, threads, json,
        };
        command.SetAction(parse =>
        {
            var options = new PretrainOptions
            {
                Steps = parse.GetValue(steps),
                Seed = parse.GetValue(seed),
                BatchSize = parse.GetValue(batch),
                SeqLen = parse.GetValue(seqLen),
                LearningRate = parse.GetValue(lr),
                Documents = parse.GetValue(documents),
                WorkedExamples = parse.GetValue(worked),
            };
            try { options.Validate(); }
            catch (PretrainOptionsException e) { throw new UsageException($"--{e.Field}: {e.Detail}"); }
            if (options.SeqLen > TinyBaseModel.Config.MaxPositionEmbeddings)
                throw new UsageException($"--seq-len: {options.SeqLen} exceeds the model's {TinyBaseModel.Config.MaxPositionEmbeddings} positions");
            var dir = parse.GetValue(output)!;
            try { PretrainedCheckpoint.RequireReplaceable(Path.GetFullPath(dir)); }
            catch (IOException e) { throw new UsageException($"--out: {e.Message}"); }
            var asJson = parse.GetValue(json);
            var stdout = parse.InvocationConfiguration.Output!;
            var progressOut = asJson ? parse.InvocationConfiguration.Error! : stdout;
            torch.set_num_threads(parse.GetValue(threads));
            return Run(dir, options, CommandLine(dir, options), asJson, stdout, progressOut);
        });
        return command;
    }

    private static int Run(string dir, PretrainOptions options, string commandLine, bool asJson, TextWriter stdout, TextWriter progressOut)
    {
        var corpusWatch = Stopwatch.StartNew();
        var documents = PretrainCorpus.Build(options.Seed, options.Documents, options.WorkedExamples);
        var corpus = PackedCorpus.Pack(documents, options.SeqLen, options.Seed);
        progressOut.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"corpus: {corpus.Documents} documents, {corpus.Tokens} tokens, {corpus.Windows} windows of {corpus.SequenceLength} ({corpusWatch.Elapsed.TotalSeconds:F1} s)"));

        using var trainer = new Pretrainer(TinyBaseModel.Config, corpus, options);
        var parameters = trainer.Model.BaseParameters().Sum(p => p.Tensor.NumEl);
        progressOut.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"model: {parameters} parameters, {options.Steps} steps of {options.BatchSize} x {options.SeqLen} tokens, {torch.get_num_threads()} thread(s)"));
        var every = Math.Max(1, options.Steps / 25);
        var watch = Stopwatch.StartNew();
        double windowLoss = 0;
        int windowSteps = 0;
        trainer.Progress = new InlineProgress<PretrainStepReport>(r =>
        {
            windowLoss += r.Loss;
            windowSteps++;
            if (r.Step % every != 0 && r.Step != options.Steps && r.Step != 1) return;
            progressOut.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {r.Step,5}/{options.Steps}  loss {windowLoss / windowSteps:F4}  lr {r.LearningRate:E2}  grad {r.GradNorm:F2}  {r.TokensPerSecond:F0} tok/s  {watch.Elapsed.TotalSeconds:F0} s"));
            windowLoss = 0;
            windowSteps = 0;
        });
        var reports = trainer.Train();
        var seconds = watch.Elapsed.TotalSeconds;
        var tail = reports.Skip(reports.Count - Math.Max(1, reports.Count / 10)).ToList();
        var summary = new PretrainSummary(trainer.Step, tail.Average(r => r.Loss), seconds, reports.Sum(r => r.Tokens),
            corpus.Documents, corpus.Tokens, torch.get_num_threads(), commandLine);
        PretrainedCheckpoint.Save(trainer.Model, dir, options, summary);

        if (asJson)
            Json.Write(stdout, new
            {
                output = dir,
                steps = summary.Steps,
                final_loss = summary.FinalLoss,
                seconds = summary.Seconds,
                tokens = summary.Tokens,
                tokens_per_second = summary.Seconds > 0 ? summary.Tokens / summary.Seconds : 0,
                parameters,
                threads = summary.Threads,
            });
        else
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {dir}: final loss {summary.FinalLoss:F4} (mean of the last {tail.Count} steps), {seconds:F0} s, {summary.Tokens} tokens"));
        return ExitCodes.Ok;
    }

    /// <summary>The command that regenerates the run (every option spelled out).</summary>
    private static string CommandLine(string dir, PretrainOptions o) => string.Create(CultureInfo.InvariantCulture,
        $"mola pretrain --out {dir} --steps {o.Steps} --seed {o.Seed} --batch-size {o.BatchSize} --seq-len {o.SeqLen} --lr {o.LearningRate:R} --documents {o.Documents} --worked-examples {o.WorkedExamples}");

    /// <summary>IProgress that calls back on the reporting thread (Progress&lt;T&gt; would post to the thread pool).</summary>
}
