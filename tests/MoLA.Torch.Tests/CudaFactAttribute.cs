namespace MoLA.Torch.Tests;

/// <summary>A fact that needs a CUDA GPU; elsewhere it is reported as skipped with the reason, never passed vacuously.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!torch.cuda.is_available())
            Skip = torch.cuda.is_built ? "no CUDA GPU visible to this CUDA build" : "no CUDA GPU: libmola_torch is a CPU build";
    }
}
