using System.Text.RegularExpressions;
using MoLA.Cli.Configuration;
using MoLA.Cli.Training;
using MoLA.Model.Llama;
using MoLA.Silo;

namespace MoLA.Cli.Cluster;

/// <summary>
/// The silo's job validator: a job's settings go through `mola train`'s own checks (TrainSettings, the base model, the
/// allocation, the data file, the batch split over ranks), so a job is refused at submit with the error `mola train`
/// would print, and nothing is scheduled.
/// </summary>
internal sealed partial class TrainJobValidator : IJobSpecValidator
{
    public string Validate(IReadOnlyDictionary<string, string> settings, int dataParallel, int expertParallel)
    {
        try
        {
            var pairs = settings.Append(new("out", "/cluster-chooses-the-run-directory"));
            var s = TrainSettings.From(Settings.FromPairs(TrainSettings.Specs, pairs));
            var world = dataParallel * expertParallel;
            if (s.MicroBatchSize % world != 0)
                throw new SettingException($"micro-batch-size: {s.MicroBatchSize} must be divisible by the {world} ranks (dp {dataParallel} x ep {expertParallel})");
            var baseDir = ModelResolver.ResolveBaseModel(s.BaseModel);
            var layers = LlamaConfig.Load(baseDir).NumHiddenLayers;
            var allocation = TrainRun.BuildAllocation(s, layers);
            if (expertParallel > 1 && allocation.Experts.Min() < expertParallel)
                throw new SettingException($"ep: {expertParallel} expert-parallel ranks, but a layer has only {allocation.Experts.Min()} experts");
            foreach (var key in new[] { "data", "eval-data" })
                if (settings.TryGetValue(key, out var file) && file is not TrainSettings.Embedded and not "none" && !File.Exists(file))
                    throw new SettingException($"{key}: file not found: {file} (cluster jobs need a path every node sees)");
            return s.Device;
        }
        catch (SettingException e)
        {
            var m = FieldPrefix().Match(e.Message);
            throw m.Success ? new JobSpecException(m.Groups[1].Value, e.Message[(m.Length)..]) : new JobSpecException("settings", e.Message);
        }
    }

    [GeneratedRegex("^([a-z0-9-]+): ")]
    private static partial Regex FieldPrefix();
}
