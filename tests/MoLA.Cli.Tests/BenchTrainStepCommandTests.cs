using System.Text.Json;
using MoLA.Cli.Benchmarks;

namespace MoLA.Cli.Tests;

public sealed class BenchTrainStepCommandTests
{
    /// <summary>
    /// The whole command with the Python side (tiny model on a 2 x 32 batch, 1 warm-up and 1 timed step
    /// per side: about 4 s on 2 cores, most of it python3 importing torch).
    /// </summary>
    [Fact]
    public void Quick_json_run_reports_both_sides_tokens_per_second_ratio_and_mfu()
    {
        var run = Cli.InProcess("bench", "train-step", "--quick", "--json", "--threads", "2", "--steps", "1");
        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());

        using var doc = JsonDocument.Parse(run.Stdout);
        var root = doc.RootElement;
        Assert.Equal(2, root.GetProperty("threads").GetInt32());
        Assert.Equal(1, root.GetProperty("steps").GetInt32());
        Assert.Equal(1, root.GetProperty("warmup").GetInt32());
        var peak = root.GetProperty("gemm_peak_gflops").GetDouble();
        Assert.True(peak > 0);
        Assert.Equal(512, root.GetProperty("gemm_peak_n").GetInt32());
        Assert.Equal(2, root.GetProperty("python_info").GetProperty("threads").GetInt32());
        Assert.Contains("4 T in out", root.GetProperty("flop_count").GetString());

        var model = Assert.Single(root.GetProperty("models").EnumerateArray());
        Assert.Equal("tiny-quick", model.GetProperty("shape").GetProperty("name").GetString());
        Assert.Equal(64, model.GetProperty("tokens_per_step").GetInt64());
        Assert.Equal(Enumerable.Repeat("DenseGated", 8), model.GetProperty("execution_per_layer").EnumerateArray().Select(e => e.GetString()));
        var gflops = model.GetProperty("model_gflops_per_step").GetDouble();
        Assert.Equal(TrainStepFlops.Of(TrainStepShape.Quick).Model / 1e9, gflops, 0.001);
        Assert.True(model.GetProperty("executed_gflops_per_step").GetDouble() > gflops); // dense-gated runs N experts per token

        var cs = model.GetProperty("csharp");
        var py = model.GetProperty("python");
        foreach (var side in new[] { cs, py })
        {
            var seconds = side.GetProperty("median_seconds").GetDouble();
            Assert.True(seconds > 0);
            Assert.Equal(1, side.GetProperty("samples_seconds").GetArrayLength());
            Assert.Equal(1, side.GetProperty("samples_cpu_seconds").GetArrayLength());
            Assert.True(side.GetProperty("median_cpu_seconds").GetDouble() > 0);
            Assert.Equal(64 / seconds, side.GetProperty("tokens_per_second").GetDouble(), 64 / seconds * 0.01);
            Assert.Equal(gflops / seconds / peak, side.GetProperty("mfu").GetDouble(), 0.0002 + gflops / seconds / peak * 0.01);
            // Untrained LLaMA with N(0, 0.02) weights on random tokens: the loss is about ln(vocab).
            Assert.Equal(Math.Log(259), side.GetProperty("first_loss").GetDouble(), 0.05);
        }
        // The same model on both sides: router, A and B of 8 layers x 7 projections, experts 2,2,4,4,6,6,8,8.
        Assert.Equal(cs.GetProperty("trainable_parameters").GetInt64(), py.GetProperty("trainable_parameters").GetInt64());
        var ratio = model.GetProperty("tokens_per_second_ratio").GetDouble();
        Assert.Equal(cs.GetProperty("tokens_per_second").GetDouble() / py.GetProperty("tokens_per_second").GetDouble(), ratio, 0.01);
        Assert.Equal(py.GetProperty("median_cpu_seconds").GetDouble() / cs.GetProperty("median_cpu_seconds").GetDouble(),
            model.GetProperty("cpu_ratio").GetDouble(), 0.01);
        Assert.NotEqual(JsonValueKind.Null, root.GetProperty("targets").GetProperty("met").ValueKind);
    }

    [Fact]
    public void Flop_count_of_a_small_shape_matches_the_hand_count()
    {
        // T = 4 tokens, D 8, 2 heads of 4 (1 KV head), FFN 16, V 10, layers with 2 and 4 experts, r 2, k 2.
        // Per projection: base 2T in out (x2 but in layer 0 q/k/v), router 2T in N x3 (x2 there),
        // experts 2T k r (in x3 (x2 there) + out x3); attention 12 B H S^2 hd = 1536 per layer; head 4 T D V = 1280.
        var shape = new TrainStepShape("hand", 8, 2, 2, 1, 16, 10, "2,4", 2, 2, 1, 4);
        var flops = TrainStepFlops.Of(shape);
        Assert.Equal(54_400, flops.Model);
        Assert.Equal(66_688, flops.Executed); // layer 1 is dense-gated: 4 experts per token, not 2
    }

    [Theory]
    [InlineData("--steps", "0", "--steps")]
    [InlineData("--warmup", "-1", "--warmup")]
    [InlineData("--model", "tiny", "--model")]
    public void Bad_counts_are_usage_errors_naming_the_flag(string flag, string value, string named)
    {
        var run = Cli.InProcess("bench", "train-step", "--quick", "--no-python", flag, value);
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains(named, run.Stderr);
    }
}
