namespace MoLA.Torch.NN;

/// <summary>y = x W^T + b, W [out, in]; PyTorch's default init (Kaiming-uniform, a = sqrt 5).</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    public Tensor weight { get; }
    public Tensor? bias { get; }

    /// <remarks>Inside <see cref="init.skip_init"/> the weights are left uninitialised (a loader overwrites them next).</remarks>
    public Linear(long inFeatures, long outFeatures, bool hasBias = true, DType dtype = DType.Float32, Device? device = null)
    {
        var initialize = !init.skipping;
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"Linear: in_features ({inFeatures}) and out_features ({outFeatures}) must be positive");
        using var _ = torch.no_grad();
        var w = torch.empty([outFeatures, inFeatures], dtype, device);
        weight = RegisterParameter(nameof(weight), initialize ? init.kaiming_uniform_(w, Math.Sqrt(5)) : w);
        if (hasBias)
        {
            var bound = 1.0 / Math.Sqrt(inFeatures);
            var b = torch.empty([outFeatures], dtype, device);
            bias = RegisterParameter(nameof(bias), initialize ? b.uniform_(-bound, bound) : b);
        }
    }

    public override Tensor forward(Tensor input) => F.linear(input, weight, bias);
}

/// <summary>Lookup table [num, dim], initialised N(0, 1) as PyTorch.</summary>
public sealed class Embedding : Module<Tensor, Tensor>
{
    public Tensor weight { get; }

    public Embedding(long numEmbeddings, long embeddingDim, DType dtype = DType.Float32, Device? device = null)
    {
        if (numEmbeddings <= 0 || embeddingDim <= 0)
            throw new ArgumentException($"Embedding: num_embeddings ({numEmbeddings}) and embedding_dim ({embeddingDim}) must be positive");
        using var _ = torch.no_grad();
        weight = RegisterParameter(nameof(weight), init.skipping
            ? torch.empty([numEmbeddings, embeddingDim], dtype, device)
            : torch.randn([numEmbeddings, embeddingDim], dtype, device));
    }

    public override Tensor forward(Tensor indices) => F.embedding(weight, indices);
}

/// <summary>LLaMA's RMSNorm, computed in float32: w * x * rsqrt(mean(x^2) + eps).</summary>
public sealed class RMSNorm : Module<Tensor, Tensor>
{
    public Tensor weight { get; }
    public double eps { get; }

    public RMSNorm(long dim, double eps = 1e-6, DType dtype = DType.Float32, Device? device = null)
    {
        if (dim <= 0) throw new ArgumentException($"RMSNorm: dim ({dim}) must be positive");
        if (!(eps > 0)) throw new ArgumentException($"RMSNorm: eps ({eps}) must be positive");
        this.eps = eps;
        weight = RegisterParameter(nameof(weight), torch.ones([dim], dtype, device));
    }

    public override Tensor forward(Tensor input) => F.rms_norm(input, weight, eps);
}

/// <summary>Zeroes elements with probability p in training mode and rescales by 1/(1-p).</summary>
public sealed class Dropout : Module<Tensor, Tensor>
{
    public double p { get; }

    public Dropout(double p = 0.5)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentException($"Dropout: p ({p}) must be in [0, 1)");
        this.p = p;
    }

    public override Tensor forward(Tensor input) => F.dropout(input, p, training);
}
