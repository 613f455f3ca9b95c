using MoLA.Model.Llama;
using MoLA.Torch;

namespace MoLA.Model.Tests.Llama;

/// <summary>Our logits and RoPE frequencies against the independent python3-torch reference.</summary>
[Collection(LlamaCollection.Name)]
public sealed class LlamaReferenceTests(LlamaFixture fixture)
{
    [Theory]
    [MemberData(nameof(LlamaFixture.CaseNames), MemberType = typeof(LlamaFixture))]
    public void Logits_match_the_python_reference(string name)
    {
        var c = fixture.Case(name);
        using var model = LlamaCheckpoint.Load(c.Directory);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();

        var logits = model.forward(LlamaFixture.IdsTensor(c.Ids));

        Assert.Equal([c.Ids.GetLength(0), c.Ids.GetLength(1), c.Config.VocabSize], logits.Shape);
        Assert.Equal(DType.Float32, logits.DType);
        var ours = logits.ToArray<float>();
        var reference = fixture.ReferenceLogits(name);
        AssertClose(reference, ours, 1e-4, name);
        // The random weights make logits spread out, so the comparison is not vacuous.
        Assert.True(reference.Max() - reference.Min() > 1.0, $"{name}: reference logits span only {reference.Max() - reference.Min()}");
    }

    [Fact]
    public void Bfloat16_compute_stays_close_to_the_reference()
    {
        var c = fixture.Case("bf16");
        using var model = LlamaCheckpoint.Load(c.Directory, new LlamaLoadOptions { DType = DType.BFloat16 });
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();

        var logits = model.forward(LlamaFixture.IdsTensor(c.Ids));

        Assert.Equal(DType.BFloat16, logits.DType);
        Assert.All(model.parameters(), p => Assert.Equal(DType.BFloat16, p.DType));
        var ours = logits.to(DType.Float32).ToArray<float>();
        var reference = fixture.ReferenceLogits("bf16");
        var span = reference.Max() - reference.Min();
        // bf16 keeps 8 significant bits: about 1% of the logit range here; allow 3%.
        AssertClose(reference, ours, 0.03 * span, "bf16 compute");
    }

    [Fact]
    public void Rope_inverse_frequencies_match_hugging_face_formula()
    {
        for (var i = 0; i < LlamaFixture.RopeConfigs.Length; i++)
        {
            var config = LlamaConfig.FromJson(LlamaFixture.RopeConfigs[i], $"rope config {i}");
            var ours = LlamaRotaryEmbedding.ComputeInverseFrequencies(config);
            var reference = fixture.ReferenceInvFreq[i];
            Assert.Equal(reference.Length, ours.Length);
            for (var j = 0; j < ours.Length; j++)
                Assert.True(Math.Abs(ours[j] - reference[j]) <= 1e-12 * Math.Abs(reference[j]) + 1e-300,
                    $"config {i}, inv_freq[{j}]: ours {ours[j]:R}, reference {reference[j]:R}");
        }
    }

    [Fact]
    public void Llama3_scaling_changes_low_frequencies_only()
    {
        var plain = LlamaConfig.FromJson(LlamaFixture.RopeConfigs[3], "plain");
        var scaled = LlamaConfig.FromJson(LlamaFixture.RopeConfigs[0], "llama3");
        var unscaled = new LlamaConfig(4096, 14336, 1, 32, 8, numKeyValueHeads: 8, ropeTheta: 500000);
        var a = LlamaRotaryEmbedding.ComputeInverseFrequencies(unscaled);
        var b = LlamaRotaryEmbedding.ComputeInverseFrequencies(scaled);
        Assert.Equal(a[0], b[0]);                      // highest frequency kept
        Assert.Equal(a[^1] / 8, b[^1], 15);            // lowest divided by factor
        Assert.Equal(1.0, LlamaRotaryEmbedding.ComputeInverseFrequencies(plain)[0]);
    }

    internal static void AssertClose(float[] expected, float[] actual, double tolerance, string what) =>
        AssertClose(Array.ConvertAll(expected, v => (double)v), Array.ConvertAll(actual, v => (double)v), tolerance, what);

    internal static void AssertClose(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        var at = -1;
        for (var i = 0; i < expected.Length; i++)
        {
            var d = Math.Abs(expected[i] - actual[i]);
            if (!(d <= worst)) { worst = d; at = i; }
        }
        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} at element {at} (expected {expected[Math.Max(at, 0)]}, got {actual[Math.Max(at, 0)]}), tolerance {tolerance:G4}");
    }
}
