using MoLA.Grains.Sweeps;

namespace MoLA.Grains.Tests;

/// <summary>The ASHA rule on synthetic metric streams, against decisions computed by hand in the tables below.</summary>
public sealed class AshaRuleTests
{
    private static readonly AshaSettings Settings = new(FirstRung: 10, Eta: 3, MinSeeds: 2, MaxSteps: 100);

    private static RungResult R(string configuration, int seed, long step, double metric) => new(configuration, seed, step, metric);

    [Fact]
    public void Rungs_are_first_rung_times_powers_of_eta_below_max_steps()
    {
        Assert.Equal([10L, 30, 90], AshaRule.Rungs(Settings));
        Assert.Equal([10L, 30], AshaRule.Rungs(Settings with { MaxSteps = 90 })); // 90 is the end of training, not a rung
        Assert.Equal([1L, 2, 4, 8], AshaRule.Rungs(new AshaSettings(1, 2, 1, 9)));
        // 2^0 .. 2^62: the next power would overflow a long, and no rung is lost or repeated on the way.
        var huge = AshaRule.Rungs(new AshaSettings(1, 2, 1, long.MaxValue));
        Assert.Equal(63, huge.Count);
        Assert.Equal(1L << 62, huge[^1]);
    }

    // The stream: FirstRung 10, Eta 3, MinSeeds 2, MaxSteps 100 (rungs 10, 30, 90). Each row is reported in turn and
    // Decide runs after it with everything reported so far and the configurations stopped so far; the last column is
    // what it must return, worked out by hand. The cutoff over m judged scores (ascending s0..s_{m-1}) sits at
    // position (m-1)·2/3: m = 3 -> s1 + (s2-s1)/3, m = 4 -> s2, m = 5 -> s2 + 2(s3-s2)/3, m = 6 -> s3 + (s4-s3)/3.
    // E's second seed failed: with one seed it is never judged (MinSeeds 2), whatever it scores.
    private static readonly (RungResult[] Reported, string[] Stopped)[] Stream =
    [
        ([R("A", 1, 10, 0.40)], []),
        ([R("A", 2, 10, 0.44)], []),                                 // A 0.42: one configuration judged at 10
        ([R("C", 1, 10, 0.50), R("C", 2, 10, 0.54)], []),            // C 0.52: two judged, fewer than Eta
        ([R("B", 1, 10, 0.30)], []),                                 // B has one seed: not judged
        ([R("E", 1, 10, 0.05)], []),                                 // E has one seed: not judged
        ([R("B", 2, 10, 0.32)], ["A@10", "B@10"]),                   // 0.31, 0.42, 0.52: cutoff 0.42 + 0.10/3 = 0.4533
        ([R("D", 1, 10, 0.60)], []),                                 // D has one (good) seed: not judged
        ([R("D", 2, 10, 0.20)], ["D@10"]),                           // 0.31, 0.40, 0.42, 0.52: cutoff 0.42; A (= cutoff) is stopped already
        ([R("C", 1, 30, 0.61), R("C", 2, 30, 0.63)], []),            // C 0.62 now answers at rung 30, alone there
        ([R("F", 1, 10, 0.58), R("F", 2, 10, 0.56)], []),            // F 0.57; 5 judged at 10: cutoff 0.42 + 2(0.10)/3 = 0.4867
        ([R("G", 1, 10, 0.55), R("G", 2, 10, 0.57)], []),            // G 0.56; 6 judged: cutoff 0.52 + 0.04/3 = 0.5333 > C's 0.52,
                                                                     // but C answers at 30, where it got to: not reopened at 10
        ([R("F", 1, 30, 0.66), R("F", 2, 30, 0.70)], []),            // F 0.68: two judged at 30
        ([R("G", 1, 30, 0.50), R("G", 2, 30, 0.52)], ["C@30", "G@30"]), // 0.51, 0.62, 0.68: cutoff 0.62 + 0.06/3 = 0.64
        ([R("E", 1, 30, 0.99)], []),                                 // still one seed
        ([R("F", 1, 90, 0.75)], []),                                 // one seed at 90
        ([R("F", 1, 100, 0.10), R("F", 2, 100, 0.12)], []),          // the final evaluation (step 100) is no rung
    ];

    [Fact]
    public void Metric_stream_gives_the_hand_computed_decisions()
    {
        var reported = new List<RungResult>();
        var stopped = new HashSet<string>();
        for (var row = 0; row < Stream.Length; row++)
        {
            reported.AddRange(Stream[row].Reported);
            var decisions = AshaRule.Decide(Settings, reported, stopped);
            Assert.True(Stream[row].Stopped.SequenceEqual(decisions.Select(d => $"{d.Configuration}@{d.Rung}")),
                $"row {row}: expected [{string.Join(", ", Stream[row].Stopped)}], got [{string.Join(", ", decisions.Select(d => $"{d.Configuration}@{d.Rung}: {d.Reason}"))}]");
            foreach (var d in decisions) stopped.Add(d.Configuration);
        }
        Assert.Equal(["A", "B", "C", "D", "G"], stopped.Order());

        // Stateless: everything at once, with nothing stopped yet, gives the same configurations at the same rungs.
        var atOnce = AshaRule.Decide(Settings, reported, new HashSet<string>());
        Assert.Equal(["A@10", "B@10", "D@10", "C@30", "G@30"], atOnce.Select(d => $"{d.Configuration}@{d.Rung}"));
        // And nobody again once they are all stopped.
        Assert.Empty(AshaRule.Decide(Settings, reported, stopped));
    }

    [Fact]
    public void Reasons_state_rung_score_seeds_cutoff_and_population()
    {
        var reported = Stream.Take(6).SelectMany(r => r.Reported).ToList();
        var decisions = AshaRule.Decide(Settings, reported, new HashSet<string>());
        Assert.Equal(
        [
            "asha: rung 10: mean 0.42 over 2 seeds below the top 1/3 cutoff 0.4533 (3 configurations)",
            "asha: rung 10: mean 0.31 over 2 seeds below the top 1/3 cutoff 0.4533 (3 configurations)",
        ], decisions.Select(d => d.Reason));
    }

    [Fact]
    public void A_configuration_with_fewer_than_min_seeds_is_never_stopped_at_that_rung()
    {
        var s = new AshaSettings(10, 2, MinSeeds: 3, MaxSteps: 50);
        List<RungResult> reported =
        [
            R("good", 1, 10, 0.9), R("good", 2, 10, 0.9), R("good", 3, 10, 0.9),
            R("fine", 1, 10, 0.8), R("fine", 2, 10, 0.8), R("fine", 3, 10, 0.8),
            R("poor", 1, 10, 0.0), R("poor", 2, 10, 0.0),   // far below, but only 2 of the 3 seeds needed
        ];
        // 0.8, 0.9 judged (Eta 2): cutoff at position 1/2 = 0.85, so "fine" goes; "poor" is not judged.
        Assert.Equal(["fine"], AshaRule.Decide(s, reported, new HashSet<string>()).Select(d => d.Configuration));
        reported.Add(R("poor", 3, 10, 0.1));
        // 0.0333, 0.8, 0.9: cutoff at position 1 = 0.8; "poor" now has 3 seeds (mean 0.1/3), "fine" is stopped already.
        var d = Assert.Single(AshaRule.Decide(s, reported, new HashSet<string> { "fine" }));
        Assert.Equal(("poor", 10L), (d.Configuration, d.Rung));
        Assert.Equal("asha: rung 10: mean 0.03333 over 3 seeds below the top 1/2 cutoff 0.8 (3 configurations)", d.Reason);
    }

    [Fact]
    public void Fewer_than_eta_judged_configurations_stop_nobody()
    {
        List<RungResult> reported =
        [
            R("a", 1, 10, 0.9), R("a", 2, 10, 0.9),
            R("b", 1, 10, 0.0), R("b", 2, 10, 0.0),           // judged, and far below a, but only 2 judged < Eta 3
            R("c", 1, 10, 0.5),                               // one seed: not judged, does not count
        ];
        Assert.Empty(AshaRule.Decide(Settings, reported, new HashSet<string>()));
        reported.Add(R("c", 2, 10, 0.5));                     // the third judged configuration: now b (and c) fall
        Assert.Equal(["b", "c"], AshaRule.Decide(Settings, reported, new HashSet<string>()).Select(d => d.Configuration));
    }

    [Theory]
    // Scores (one seed each, MinSeeds 1, Eta 3) -> the configurations stopped. Equal to the cutoff survives.
    [InlineData(new[] { 0.5, 0.5, 0.5 }, new string[0])]            // all tied: cutoff 0.5, nobody below
    [InlineData(new[] { 0.4, 0.5, 0.5 }, new[] { "c0" })]           // cutoff between the tied 0.5s is 0.5
    [InlineData(new[] { 0.1, 0.7, 0.7, 0.9 }, new[] { "c0" })]      // position 3·2/3 = 2 exactly: cutoff 0.7, both 0.7s survive
    [InlineData(new[] { 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.2 }, new[] { "c6" })]
    [InlineData(new[] { 0.9, 0.9, 0.9, 0.1, 0.1, 0.1 }, new[] { "c3", "c4", "c5" })]
    public void Ties_at_the_cutoff_survive(double[] scores, string[] expected)
    {
        var s = new AshaSettings(10, 3, 1, 100);
        var reported = scores.Select((m, i) => R($"c{i}", 1, 10, m)).ToList();
        Assert.Equal(expected, AshaRule.Decide(s, reported, new HashSet<string>()).Select(d => d.Configuration));
    }

    [Fact]
    public void Already_stopped_configurations_are_not_returned_again()
    {
        List<RungResult> reported = [R("a", 1, 10, 0.1), R("b", 1, 10, 0.2), R("c", 1, 10, 0.9), R("d", 1, 10, 0.8)];
        var s = new AshaSettings(10, 3, 1, 100);
        Assert.Equal(["a", "b"], AshaRule.Decide(s, reported, new HashSet<string>()).Select(d => d.Configuration)); // cutoff 0.8
        Assert.Equal(["b"], AshaRule.Decide(s, reported, new HashSet<string> { "a" }).Select(d => d.Configuration));
        Assert.Empty(AshaRule.Decide(s, reported, new HashSet<string> { "a", "b" }));
    }

    [Fact]
    public void A_retried_seeds_last_report_counts_and_a_diverged_seed_stops_its_configuration()
    {
        var s = new AshaSettings(10, 3, 1, 100);
        List<RungResult> reported = [R("a", 1, 10, 0.5), R("b", 1, 10, 0.6), R("c", 1, 10, 0.7), R("a", 1, 10, 0.9)];
        // a's retry reported 0.9 after 0.5: scores 0.6, 0.7, 0.9, cutoff 0.7 + 0.2/3 = 0.7667: b and c go, a stays
        // (with its first report, 0.5, a would have gone).
        Assert.Equal(["b", "c"], AshaRule.Decide(s, reported, new HashSet<string>()).Select(d => d.Configuration));
        reported.Add(R("d", 1, 10, double.NaN));
        // -inf, 0.6, 0.7, 0.9: cutoff 0.7; only d is new.
        var decisions = AshaRule.Decide(s, reported, new HashSet<string> { "b", "c" });
        var diverged = Assert.Single(decisions, d => d.Configuration == "d");
        Assert.Contains("diverged", diverged.Reason);
    }

    [Fact]
    public void Invalid_settings_are_rejected_naming_the_field()
    {
        foreach (var (settings, field) in new[]
                 {
                     (Settings with { FirstRung = 0 }, "asha.first-rung"),
                     (Settings with { Eta = 1 }, "asha.eta"),
                     (Settings with { MinSeeds = 0 }, "asha.min-seeds"),
                     (Settings with { MaxSteps = 10 }, "steps"),
                 })
        {
            Assert.Equal(field, Assert.Throws<ArgumentException>(() => AshaRule.Rungs(settings)).ParamName);
            Assert.Equal(field, Assert.Throws<ArgumentException>(() => AshaRule.Decide(settings, [], new HashSet<string>())).ParamName);
            Assert.Equal(field, Assert.Throws<ArgumentException>(settings.Validate).ParamName);
        }
        Assert.Equal("results", Assert.Throws<ArgumentException>(() => AshaRule.Decide(Settings, [R("", 1, 10, 0.5)], new HashSet<string>())).ParamName);
        Assert.Throws<ArgumentNullException>(() => AshaRule.Decide(Settings, null!, new HashSet<string>()));
    }
}
