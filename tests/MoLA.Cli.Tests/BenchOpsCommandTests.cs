using System.Text.Json;
using MoLA.Cli.Benchmarks;

namespace MoLA.Cli.Tests;

public sealed class BenchOpsCommandTests
{
    [Fact]
    public void Quick_json_run_gives_a_ratio_for_every_op_and_gemm_size()
    {
        var run = Cli.InProcess("bench", "ops", "--quick", "--json", "--threads", "2");
        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());

        using var doc = JsonDocument.Parse(run.Stdout);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("quick").GetBoolean());
        Assert.Equal(2, root.GetProperty("threads").GetInt32());
        Assert.StartsWith("1.13", root.GetProperty("python").GetProperty("torch_version").GetString());
        Assert.Equal(2, root.GetProperty("python").GetProperty("threads").GetInt32());

        var ops = root.GetProperty("ops").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
        Assert.Equal(SmallOps.All.Select(o => o.Name).Order(), ops.Keys.Order());
        foreach (var (name, op) in ops)
        {
            Assert.True(op.GetProperty("csharp_ns_per_call").GetDouble() > 0, name);
            Assert.True(op.GetProperty("python_ns_per_call").GetDouble() > 0, name);
            var ratio = op.GetProperty("ratio").GetDouble();
            Assert.True(ratio > 0, name);
            Assert.Equal(op.GetProperty("csharp_ns_per_call").GetDouble() / op.GetProperty("python_ns_per_call").GetDouble(), ratio, 0.01);
            Assert.Equal(3, op.GetProperty("csharp_samples_ns").GetArrayLength());
        }
        Assert.True(root.GetProperty("median_small_op_ratio").GetDouble() > 0);

        var gemm = root.GetProperty("gemm").EnumerateArray().ToList();
        Assert.Equal([1024, 2048], gemm.Select(g => g.GetProperty("n").GetInt32()));
        foreach (var g in gemm)
        {
            Assert.True(g.GetProperty("csharp_best_gflops").GetDouble() > 0);
            Assert.True(g.GetProperty("python_best_gflops").GetDouble() > 0);
            Assert.True(g.GetProperty("gflops_ratio").GetDouble() > 0);
        }
        Assert.NotEqual(JsonValueKind.Null, root.GetProperty("targets").GetProperty("met").ValueKind);
        // ops_bench.py mirrors SmallOps.cs (names and iteration counts) and runs the requested threads.
        Assert.DoesNotContain("differ", root.GetProperty("warning").GetString() ?? "");
        Assert.DoesNotContain("Python runs", root.GetProperty("warning").GetString() ?? "");
    }

    [Fact]
    public void Without_python_torch_the_csharp_side_is_still_reported_exit_0_with_a_warning()
    {
        var run = Cli.InProcess("bench", "ops", "--quick", "--json", "--threads", "1", "--python", "/nonexistent/python3");
        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());

        using var doc = JsonDocument.Parse(run.Stdout);
        var root = doc.RootElement;
        var warning = root.GetProperty("warning").GetString();
        Assert.Contains("/nonexistent/python3", warning);
        Assert.Contains("python3-torch", warning);
        Assert.Contains("python3-torch", run.Stderr); // also told on stderr, stdout stays pure JSON
        Assert.Equal(JsonValueKind.Null, root.GetProperty("python").ValueKind);
        foreach (var op in root.GetProperty("ops").EnumerateArray())
        {
            Assert.True(op.GetProperty("csharp_ns_per_call").GetDouble() > 0);
            Assert.Equal(JsonValueKind.Null, op.GetProperty("python_ns_per_call").ValueKind);
            Assert.Equal(JsonValueKind.Null, op.GetProperty("ratio").ValueKind);
        }
        Assert.Equal(JsonValueKind.Null, root.GetProperty("median_small_op_ratio").ValueKind);
        foreach (var g in root.GetProperty("gemm").EnumerateArray())
        {
            Assert.True(g.GetProperty("csharp_best_gflops").GetDouble() > 0);
            Assert.Equal(JsonValueKind.Null, g.GetProperty("gflops_ratio").ValueKind);
        }
        Assert.Equal(JsonValueKind.Null, root.GetProperty("targets").GetProperty("met").ValueKind);
    }

    [Fact]
    public void The_embedded_python_script_defines_every_csharp_op()
    {
        var script = PythonTorch.ScriptText();
        foreach (var op in SmallOps.All)
            Assert.Contains($"\"{op.Name}\": (", script);
    }
}
