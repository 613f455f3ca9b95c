using System.Diagnostics;
using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Torch.NN;
using MoLA.Torch.Optim;

namespace MoLA.Training.Pretraining;

/// <summary>What one pre-training step did; <see cref="Step"/> counts completed steps (1 after the first).</summary>
public sealed record PretrainStepReport(int Step, double Loss, double LearningRate, double GradNorm, long Tokens, double Seconds)
{
    /// <summary>Window tokens processed per second of this step.</summary>
    public double TokensPerSecond => Seconds > 0 ? Tokens / Seconds : 0;
}

/// <summary>
/// Full-parameter causal-LM training of a freshly initialised <see cref="LlamaModel"/> on a
/// <see cref="PackedCorpus"/>. A step takes the next <see cref="PretrainOptions.BatchSize"/> windows of the
/// corpus' seeded order, computes the mean next-token cross-entropy (logits[:, :-1] against ids[:, 1:]),
/// clips the global gradient norm, sets the learning rate (linear warm-up, cosine decay to
/// <see cref="PretrainOptions.FinalLearningRateFraction"/> of the peak) and steps AdamW: weight decay on the
/// matrices only, none on the RMSNorm weights. The initial weights come from torch.manual_seed(Seed), so a
/// run is reproducible on the same machine and thread count.
/// </summary>
public sealed class Pretrainer : IDisposable
{
    private readonly PackedCorpus _corpus;
    private readonly CosineWarmupDecay _schedule;
    private readonly AdamW _decayed;
    private readonly AdamW _undecayed;
    private readonly List<Tensor> _parameters;

    public Pretrainer(LlamaConfig config, PackedCorpus corpus, PretrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (corpus.SequenceLength != options.SeqLen)
            throw new PretrainOptionsException("seq-len", $"is {options.SeqLen} but the corpus was packed into windows of {corpus.SequenceLength}");
        if (options.SeqLen > config.MaxPositionEmbeddings)
            throw new PretrainOptionsException("seq-len", $"{options.SeqLen} exceeds the model's max_position_embeddings ({config.MaxPositionEmbeddings})");
        if (config.VocabSize < 259)
            throw new ArgumentException($"the model's vocab_size {config.VocabSize} is smaller than the byte-level tokenizer's 259", nameof(config));
        Options = options;
        _corpus = corpus;
        torch.manual_seed(options.Seed);
        Model = new LlamaModel(config);
        Model.InitializeWeights();
        var named = Model.BaseParameters().ToList();
        _parameters = named.Select(p => p.Tensor).ToList();
        _decayed = new AdamW(named.Where(p => p.Tensor.Dim >= 2).Select(p => p.Tensor), options.LearningRate, beta2: 0.95, weightDecay: options.WeightDecay);
        _undecayed = new AdamW(named.Where(p => p.Tensor.Dim < 2).Select(p => p.Tensor), options.LearningRate, beta2: 0.95, weightDecay: 0);
        _schedule = new CosineWarmupDecay(options.LearningRate, options.EffectiveWarmupSteps, options.Steps,
            options.LearningRate * options.FinalLearningRateFraction);
    }

    public PretrainOptions Options { get; }
    /// <summary>The model being trained (owned by the trainer; disposed with it).</summary>
    public LlamaModel Model { get; }
    /// <summary>Completed steps.</summary>
    public int Step { get; private set; }
    /// <summary>Receives a report after every step.</summary>
    public IProgress<PretrainStepReport>? Progress { get; set; }

    /// <summary>Runs the remaining steps; stops early (between steps) when <paramref name="cancel"/> fires.</summary>
    public IReadOnlyList<PretrainStepReport> Train(CancellationToken cancel = default)
    {
        var reports = new List<PretrainStepReport>();
        while (Step < Options.Steps && !cancel.IsCancellationRequested) reports.Add(TrainStep());
        return reports;
    }

    public PretrainStepReport TrainStep()
    {
        if (Step >= Options.Steps) throw new InvalidOperationException($"the run is complete ({Options.Steps} steps)");
        var watch = Stopwatch.StartNew();
        int b = Options.BatchSize, s = Options.SeqLen;
        var lr = _schedule.At(Step);
        double loss, gradNorm;
        Model.train();
        using (var scope = torch.NewDisposeScope())
        {
            var ids = torch.tensor(_corpus.Batch((long)Step * b, b), b, s).to(Model.Device);
            var ce = NextTokenLoss(Model, ids);
            ce.backward();
            loss = ce.item();
            gradNorm = GradClip.clip_grad_norm_(_parameters, Options.MaxGradNorm);
            if (!double.IsFinite(loss) || !double.IsFinite(gradNorm))
                throw new InvalidOperationException($"pretrain step {Step + 1}: loss {loss}, gradient norm {gradNorm}; lower --lr");
            _decayed.LearningRate = _undecayed.LearningRate = lr;
            _decayed.step();
            _undecayed.step();
            _decayed.zero_grad();
            _undecayed.zero_grad();
        }
        Step++;
        var report = new PretrainStepReport(Step, loss, lr, gradNorm, (long)b * s, watch.Elapsed.TotalSeconds);
        Progress?.Report(report);
        return report;
    }

    /// <summary>Mean cross-entropy of predicting ids[:, 1:] from ids[:, :-1] (graph kept for backward).</summary>
    public static Tensor NextTokenLoss(LlamaModel model, Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(ids);
        long s = ids.size(1);
        var logits = model.forward(ids);
        var vocab = logits.size(2);
        var predicted = logits.narrow(1, 0, s - 1).reshape(-1, vocab);
        var targets = ids.narrow(1, 1, s - 1).reshape(-1);
        return F.cross_entropy(predicted.to(DType.Float32), targets);
    }

    /// <summary>
    /// Mean next-token cross-entropy (nats per token) of <paramref name="model"/> over the first
    /// <paramref name="maxWindows"/> windows of <paramref name="corpus"/> in stream order, without gradients.
    /// </summary>
    public static double Evaluate(LlamaModel model, PackedCorpus corpus, int maxWindows = 64, int batchSize = 16)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWindows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var windows = Math.Min(maxWindows, corpus.Windows);
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = torch.no_grad();
            double total = 0;
            for (var start = 0; start < windows; start += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                var n = Math.Min(batchSize, windows - start);
                var ids = new long[(long)n * corpus.SequenceLength];
                for (var r = 0; r < n; r++)
                {
                    var w = corpus.Window(start + r);
                    for (var c = 0; c < w.Length; c++) ids[r * corpus.SequenceLength + c] = w[c];
                }
                total += NextTokenLoss(model, torch.tensor(ids, n, corpus.SequenceLength).to(model.Device)).item() * n;
            }
            return total / windows;
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    public void Dispose()
    {
        _decayed.Dispose();
        _undecayed.Dispose();
        Model.Dispose();
    }
}
