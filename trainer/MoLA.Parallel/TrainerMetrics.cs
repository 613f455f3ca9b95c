using MoLA.Telemetry;
using MoLA.Training.Trainer;

namespace MoLA.Parallel;

/// <summary>The one place a step's routing counts become mola_expert_tokens_total (single process, DP and EP alike).</summary>
public static class TrainerMetrics
{
    /// <summary>
    /// Adds a step's per-expert counts (<see cref="TrainerStepReport.ExpertTokens"/>: this rank's tokens, every expert,
    /// modules in <see cref="SftTrainer.Modules"/> order). Each rank reports its own tokens, so the sum over ranks
    /// counts every routed token once.
    /// </summary>
    public static void RecordExpertTokens(this TrainingMetrics metrics, SftTrainer trainer, TrainerStepReport report)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(trainer);
        if (report.ExpertTokens is not { } counts) return;
        for (var m = 0; m < counts.Length; m++)
            metrics.RecordExpertTokens(trainer.Modules[m].Layer, trainer.Modules[m].Module, counts[m]);
    }
}
