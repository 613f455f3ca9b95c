using MoLA.Torch;
using MoLA.Torch.NN;

namespace MoLA.Model.MoeLora;

/// <summary>
/// Plain LoRA over a frozen linear: h = W0 x + (alpha / r) B A dropout(x). This is
/// <see cref="MoeLoraLinear"/> with N = 1 and the router skipped (with N = 1 the renormalised gate is
/// exactly 1, so only the router's parameters and its small GEMM differ). Used as the plain-LoRA
/// baseline of the demo and the benchmark. Parameters use PEFT's names <c>lora_A</c> [r, in] and
/// <c>lora_B</c> [out, r]; A is Kaiming-uniform (a = sqrt 5), B = 0. The base module is frozen and
/// registered as <c>base_layer</c>.
/// </summary>
public sealed class PlainLoraLinear : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> _base;

    public PlainLoraLinear(Module<Tensor, Tensor> baseLayer, int rank = 8, double alpha = 16, double dropout = 0.05, string name = "",
        long? inFeatures = null, long? outFeatures = null)
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        Name = name;
        // Same checks and messages as the MoE layer (one expert).
        new MoeLoraOptions { NumExperts = 1, TopK = 1, Rank = rank, Alpha = alpha, Dropout = dropout }.Validate(name);
        var weight = baseLayer.named_parameters(recurse: false).Where(p => p.Name == "weight" && p.Parameter.Dim == 2).Select(p => p.Parameter).FirstOrDefault();
        var reference = weight ?? baseLayer.parameters().FirstOrDefault();
        InFeatures = inFeatures ?? weight?.size(1)
            ?? throw new ArgumentException($"LoRA module '{name}': the base module {baseLayer.GetType().Name} has no [out, in] 'weight'; pass inFeatures and outFeatures", nameof(inFeatures));
        OutFeatures = outFeatures ?? weight?.size(0)
            ?? throw new ArgumentException($"LoRA module '{name}': the base module {baseLayer.GetType().Name} has no [out, in] 'weight'; pass inFeatures and outFeatures", nameof(outFeatures));
        Rank = rank;
        Scaling = alpha / rank;
        DropoutP = dropout;
        foreach (var p in baseLayer.parameters()) if (p.RequiresGrad) p.RequiresGrad = false;
        _base = RegisterModule("base_layer", baseLayer);
        var dtype = reference?.DType ?? DType.Float32;
        var device = reference?.Device ?? Device.CPU;
        using var _ = torch.no_grad();
        LoraA = RegisterParameter("lora_A", init.kaiming_uniform_(torch.empty([rank, InFeatures], dtype, device), Math.Sqrt(5)));
        LoraB = RegisterParameter("lora_B", torch.zeros([OutFeatures, rank], dtype, device));
    }

    public string Name { get; }
    public long InFeatures { get; }
    public long OutFeatures { get; }
    public int Rank { get; }
    public double Scaling { get; }
    public double DropoutP { get; }
    public Tensor LoraA { get; }
    public Tensor LoraB { get; }
    public Module<Tensor, Tensor> BaseLayer => _base;

    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var shape = input.Shape;
        if (shape.Length == 0 || shape[^1] != InFeatures)
            throw new ArgumentException(
                $"LoRA module '{Name}': input of shape [{string.Join(", ", shape)}] has last dimension {(shape.Length == 0 ? "(none)" : shape[^1].ToString())}, expected in_features {InFeatures}",
                nameof(input));
        using var scope = torch.NewDisposeScope();
        var baseOut = _base.forward(input);
        var x = shape.Length == 2 ? input : input.reshape(-1, InFeatures);
        var acc = baseOut.Dim == 2 ? baseOut : baseOut.reshape(-1, OutFeatures);
        var xd = training && DropoutP > 0 ? F.dropout(x, DropoutP, true) : x;
        // The scaling goes on the r-wide intermediate; the B product and the base sum are one addmm.
        var y = F.linear(F.linear(xd, LoraA).mul(Scaling), LoraB, acc);
        var result = shape.Length == 2 ? y : y.view(baseOut.Shape);
        return result.MoveToOuterScope();
    }
}
