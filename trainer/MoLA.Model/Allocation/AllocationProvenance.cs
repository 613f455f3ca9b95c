namespace MoLA.Model.Allocation;

/// <summary>
/// How an allocation was produced. Stored in adapter_config.json next to the counts so a
/// saved adapter can be reloaded (and the choice reproduced) without the user repeating the
/// flags; MoLA's reference did not store any of this.
/// </summary>
/// <param name="Strategy">One of <see cref="AllocationStrategies"/>.</param>
/// <param name="Shape">The shape string the user gave (MoLA blocks or comma list), if any.</param>
/// <param name="Alphas">AlphaLoRA only: per-layer quality q_l (mean PL_Alpha_Hill of the layer's matrices).</param>
/// <param name="Beta">AlphaLoRA only: the exponent in v_l = q_l^beta.</param>
/// <param name="Budget">AlphaLoRA only: the total expert budget T.</param>
/// <param name="Rounding">AlphaLoRA only: <c>reference</c> or <c>largest-remainder</c>.</param>
/// <param name="MinPerLayer">AlphaLoRA only: the minimum experts per layer that was enforced, if any.</param>
public sealed record AllocationProvenance(
    string Strategy,
    string? Shape = null,
    IReadOnlyList<double>? Alphas = null,
    double? Beta = null,
    int? Budget = null,
    string? Rounding = null,
    int? MinPerLayer = null);

/// <summary>Strategy names written to <see cref="AllocationProvenance.Strategy"/>.</summary>
public static class AllocationStrategies
{
    /// <summary>Same expert count in every layer.</summary>
    public const string Uniform = "uniform";

    /// <summary>MoLA block string or comma list (e.g. <c>2468</c>, <c>8228</c>, <c>2,3,5,6</c>).</summary>
    public const string Shape = "shape";

    /// <summary>An explicit per-layer list given programmatically.</summary>
    public const string Explicit = "explicit";

    /// <summary>Training-free allocation from layer quality (AlphaLoRA, HT-SR).</summary>
    public const string AlphaLoRA = "alphalora";
}
