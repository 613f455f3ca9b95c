using MoLA.Reporting.Statistics;
using MoLA.Reporting.Sweeps;
using MoLA.Training.Runs;

namespace MoLA.Reporting.Tests;

/// <summary>SweepAnalysis on real trial run directories (SweepFixtures), against hand-computed values.</summary>
public sealed class SweepAnalysisTests
{
    private const double T975Df1 = 12.706204736, T975Df2 = 4.302652730; // Student t 0.975 quantiles (tables)

    private static ConfigurationResult Config(SweepResults r, string name) => Assert.Single(r.Configurations, c => c.Name == name);
    private static BaselineComparison Versus(SweepResults r, string name) => Assert.Single(r.Comparisons, c => c.Configuration == name);

    [Fact]
    public void LeaderboardHasMeansWithTIntervalsOverSeedsAndWilsonForOneSeed()
    {
        using var tmp = new TempDir();
        var r = SweepAnalysis.Analyze(SweepFixtures.Write(tmp));

        Assert.Equal(["mola-2468", "uniform-5555", "lora", "mola-8642"], r.Configurations.Select(c => c.Name));
        Assert.Equal([1, 2, 3, 4], r.Configurations.Select(c => c.Rank ?? 0));

        // mola-2468: 0.80, 0.80, 0.70 -> mean 0.7667, sd 0.05774, se 0.03333, t(2) half-width 0.14342.
        var m = Config(r, "mola-2468");
        Assert.Equal("t", m.Score!.Interval);
        Assert.Equal(23 / 30.0, m.Score.Mean, 9);
        Assert.Equal(23 / 30.0 - T975Df2 * 0.1 / 3, m.Score.Low, 6);
        Assert.Equal(23 / 30.0 + T975Df2 * 0.1 / 3, m.Score.High, 6);
        Assert.Equal((3, 60), (m.Score.Seeds, m.Score.Items));
        Assert.Equal(SweepFixtures.M2468, m.ExpertsPerLayer);
        Assert.Equal(41_984, m.TrainableParameters);
        Assert.Equal([1, 2, 3], m.Seeds);

        // uniform-5555: one seed, 13 of 20: the Wilson interval over items [0.4329, 0.8188].
        var u = Config(r, "uniform-5555");
        Assert.Equal(("wilson", 0.65), (u.Score!.Interval, u.Score.Mean));
        Assert.Equal(0.43286, u.Score.Low, 4);
        Assert.Equal(0.81882, u.Score.High, 4);

        // lora per task: arith 10/10 and 10/10 -> 1 (zero-width interval); logic 0/10 and 1/10 -> 0.05 +- t(1) * 0.05.
        var lora = Config(r, "lora");
        var arith = Assert.Single(lora.Accuracy, a => a.Task == "arith");
        Assert.Equal((1.0, 1.0, 1.0, "t"), (arith.Mean, arith.Low, arith.High, arith.Interval));
        var logic = Assert.Single(lora.Accuracy, a => a.Task == "logic");
        Assert.Equal(0.05, logic.Mean, 9);
        Assert.Equal(0.05 + T975Df1 * 0.05, logic.High, 5);
        Assert.Equal(0.525, lora.Score!.Mean, 9);
        Assert.Equal(0.525 - T975Df1 * 0.025, lora.Score.Low, 5);

        // Throughput from metrics.jsonl (2500.5 tokens/s every step); wall time from the sweep, else the steps (40 x 0.4 s).
        Assert.Equal(2500.5, lora.TokensPerSecond!.Value, 6);
        Assert.Equal(70, lora.WallSeconds!.Value, 6);
        Assert.Equal(16, m.WallSeconds!.Value, 6);
    }

    [Fact]
    public void EveryConfigurationIsComparedWithTheBaselineItemByItemOverSharedSeeds()
    {
        using var tmp = new TempDir();
        var r = SweepAnalysis.Analyze(SweepFixtures.Write(tmp));
        Assert.Equal(["mola-2468", "uniform-5555", "mola-8642"], r.Comparisons.Select(c => c.Configuration));
        Assert.All(r.Comparisons, c => Assert.Equal("lora", c.Baseline));

        // mola-2468 vs lora on seeds 1, 2 (seed 3 has no baseline): 40 pairs, 6 + 5 only mola right, none only lora.
        var m = Versus(r, "mola-2468");
        Assert.Equal([1, 2], m.Seeds);
        var c = m.Comparison!;
        Assert.Equal((40, 11, 0), (c.Items, c.OnlyA, c.OnlyB));
        Assert.Equal(11 / 40.0, c.Difference, 9);
        Assert.Equal(2 * Math.Pow(0.5, 11), c.PValue, 12); // McNemar exact: all 11 discordant pairs one way
        Assert.True(c.Low > 0, $"interval [{c.Low}, {c.High}] should exclude 0");
        Assert.Equal(Paired.Verdict("mola-2468", "lora", c), m.Verdict);
        Assert.StartsWith("mola-2468 is better than lora by 27.5 points", m.Verdict);

        // uniform-5555 vs lora on seed 1 only: 4 only uniform, 1 only lora -> +15 points, p = 2 * 6/32.
        var u = Versus(r, "uniform-5555");
        Assert.Equal([1], u.Seeds);
        Assert.Equal((20, 4, 1), (u.Comparison!.Items, u.Comparison.OnlyA, u.Comparison.OnlyB));
        Assert.Equal(0.15, u.Comparison.Difference, 9);
        Assert.Equal(0.375, u.Comparison.PValue, 12);
        Assert.StartsWith("no detectable difference between uniform-5555 and lora", u.Verdict);

        // mola-8642 vs lora: seed 1 identical, seed 2: item 12 only 8642, items 9 and 10 only lora -> -2.5 points, p = 1.
        var e = Versus(r, "mola-8642");
        Assert.Equal((40, 1, 2), (e.Comparison!.Items, e.Comparison.OnlyA, e.Comparison.OnlyB));
        Assert.Equal(-1 / 40.0, e.Comparison.Difference, 9);
        Assert.Equal(1.0, e.Comparison.PValue, 12);
        Assert.StartsWith("no detectable difference between mola-8642 and lora", e.Verdict);
    }

    [Fact]
    public void FailedAndStoppedTrialsAreListedWithTheirReasonsAndLeftOut()
    {
        using var tmp = new TempDir();
        var r = SweepAnalysis.Analyze(SweepFixtures.Write(tmp)); // the failed trial's run.json is broken: it was never read

        Assert.Equal(["failed", "stopped"], r.ExcludedTrials.Select(t => t.State));
        Assert.Contains("out of memory", r.ExcludedTrials[0].Reason);
        Assert.StartsWith("asha: rung 40", r.ExcludedTrials[1].Reason);
        Assert.Equal("2 of 10 trials did not succeed (1 failed, 1 stopped) and are left out of every statistic; they are listed with their reasons.", r.Exclusion);
        var e = Config(r, "mola-8642");
        Assert.Equal([1, 2], e.Seeds);
        Assert.Equal((1, 1), (e.SeedsFailed, e.SeedsStopped));
        Assert.Equal((2, 40), (e.Score!.Seeds, e.Score.Items));
        Assert.Equal(0.5, e.Score.Mean, 9);
    }

    [Fact]
    public void TrialsThatAnsweredDifferentItemsAreRefusedNamingBothRunDirectories()
    {
        using var tmp = new TempDir();
        var input = SweepFixtures.Write(tmp);
        // Seed 2 of uniform-5555 was evaluated on a test set whose item 3 has another gold answer.
        var odd = SweepFixtures.Trial(tmp, "uniform-5555", 2, SweepFixtures.U5555, SweepFixtures.Range(0, 5), 40_960,
            gold: i => i == 3 ? "A" : SweepFixtures.Gold(i));
        input = input with { Trials = [.. input.Trials, odd] };
        var lora2 = input.Trials.Single(t => t.Configuration == "lora" && t.Seed == 2).RunDirectory!;

        var error = Assert.Throws<RunDirectoryException>(() => SweepAnalysis.Analyze(input));
        Assert.Contains(Path.GetFullPath(odd.RunDirectory!), error.Message);
        Assert.Contains(Path.GetFullPath(lora2), error.Message);
        Assert.Contains("item 3 has gold 'A' vs 'D'", error.Message);
    }

    [Fact]
    public void MirrorStatementIsSupportedWhenTheHigherLayerShapeWinsAndContradictedWhenItLoses()
    {
        using var tmp = new TempDir();
        var supported = Assert.Single(SweepAnalysis.Analyze(SweepFixtures.Write(tmp)).Mirrors);
        // mola-2468 holds its experts higher; on seeds 1, 2 it is right on 6 + 6 items 8642 misses, never the reverse.
        Assert.Equal(("mola-2468", "mola-8642", "supported"), (supported.HigherLayers, supported.LowerLayers, supported.Outcome));
        Assert.Equal((40, 12, 0), (supported.Comparison!.Items, supported.Comparison.OnlyA, supported.Comparison.OnlyB));
        Assert.Equal(0.3, supported.Comparison.Difference, 9);
        Assert.StartsWith("Higher layers need more experts: supported on this model: mola-2468 (more experts in higher layers) is better than mola-8642 by 30.0 points (difference 30.0 points [",
            supported.Statement);

        using var tmp2 = new TempDir();
        var input = SweepFixtures.Write(tmp2, swapMirror: true);
        input = input with { MirrorPairs = [("mola-8642", "mola-2468")] }; // the pair's order does not matter
        var contradicted = Assert.Single(SweepAnalysis.Analyze(input).Mirrors);
        Assert.Equal(("mola-2468", "contradicted"), (contradicted.HigherLayers, contradicted.Outcome));
        Assert.Equal(-0.3, contradicted.Comparison!.Difference, 9);
        Assert.True(contradicted.Comparison.High < 0);
        Assert.Contains("is worse than mola-8642 by 30.0 points (difference -30.0 points [", contradicted.Statement);
    }

    [Fact]
    public void ResultFilesHoldEverythingAndTheLeaderboardHasOneRowPerConfiguration()
    {
        using var tmp = new TempDir();
        var names = new[] { "lora", "mola \"2468\", big", "mola-8642", "uniform-5555" };
        var input = SweepFixtures.Write(tmp, names: names);
        var results = SweepAnalysis.Analyze(input);
        var (json, csv) = SweepResultFiles.Write(input, results);

        Assert.Equal([SweepResultFiles.Leaderboard, SweepResultFiles.Results], Directory.GetFiles(input.Directory).Select(Path.GetFileName).Order());
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        var first = doc.RootElement.GetProperty("configurations")[0];
        Assert.Equal(names[1], first.GetProperty("name").GetString());
        Assert.Equal("t", first.GetProperty("score").GetProperty("interval").GetString());
        Assert.Equal(11, doc.RootElement.GetProperty("comparisons")[0].GetProperty("comparison").GetProperty("only_a").GetInt32());
        Assert.Equal("supported", doc.RootElement.GetProperty("mirrors")[0].GetProperty("outcome").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("excluded_trials").GetArrayLength());

        var lines = File.ReadAllLines(csv);
        Assert.Equal(string.Join(',', SweepResultFiles.LeaderboardColumns), lines[0]);
        Assert.Equal(5, lines.Length);
        // RFC 4180: the name with a comma and quotes is quoted, its quotes doubled.
        Assert.StartsWith("1,\"mola \"\"2468\"\", big\",mola 2468,2 2 4 4 6 6 8 8,41984,3,0.76666666666666", lines[1]);
        Assert.Contains(",t,0.27", lines[1]);
        Assert.Contains(",baseline,", lines[3]);
    }

    [Fact]
    public void BadInputIsRefusedNamingTheFieldOrFile()
    {
        using var tmp = new TempDir();
        var input = SweepFixtures.Write(tmp);
        var unknown = input with { Trials = [.. input.Trials, new SweepTrialInput("x", "nope", 1, "succeeded", tmp.Path, null, null)] };
        Assert.Contains("trials[10].configuration 'nope' is not one of the configurations", Assert.Throws<ArgumentException>(() => SweepAnalysis.Analyze(unknown)).Message);
        Assert.Contains("metric is 'accuracy'", Assert.Throws<ArgumentException>(() => SweepAnalysis.Analyze(input with { Metric = "accuracy" })).Message);

        // A cut line in a baseline trial's predictions.jsonl: the error names the file and line.
        var predictions = Path.Combine(input.Trials[0].RunDirectory!, RunFiles.Predictions);
        File.AppendAllText(predictions, "{\"mode\": \"generation\", \"predic\n");
        var error = Assert.Throws<RunDirectoryException>(() => SweepAnalysis.Analyze(input));
        Assert.StartsWith($"{predictions}:{SweepFixtures.Items + 1}:", error.Message);
    }
}
