using MoLA.Torch;
using NcclSharp;

namespace MoLA.Parallel;

/// <summary>Which library runs a job's collectives.</summary>
public enum CollectiveBackend
{
    /// <summary>c10d's ProcessGroupGloo over TCP (<see cref="MoLA.Torch.Distributed.GlooProcessGroup"/>): CPU tensors.</summary>
    Gloo,

    /// <summary>NCCL (<see cref="NcclProcessGroup"/>): CUDA tensors, one GPU per rank.</summary>
    Nccl,
}

/// <summary>
/// Parsing, the default choice and the up-front checks of <see cref="CollectiveBackend"/>. The checks run
/// before any store or group is created, so a job that cannot use NCCL fails at once with what is missing
/// and the variable to set, rather than inside the first collective.
/// </summary>
public static class CollectiveBackends
{
    /// <summary>Environment variable that picks the backend of a launched rank: gloo or nccl.</summary>
    public const string EnvironmentVariable = "MOLA_BACKEND";

    /// <summary>"gloo" or "nccl" (case-insensitive); anything else is an error naming <paramref name="field"/>.</summary>
    public static CollectiveBackend Parse(string? text, string field = "backend")
    {
        var t = text?.Trim().ToLowerInvariant();
        return t switch
        {
            "gloo" => CollectiveBackend.Gloo,
            "nccl" => CollectiveBackend.Nccl,
            _ => throw new ParallelConfigException(field, $"must be gloo or nccl, got '{text}'"),
        };
    }

    public static string Name(this CollectiveBackend backend) => backend switch
    {
        CollectiveBackend.Gloo => "gloo",
        CollectiveBackend.Nccl => "nccl",
        _ => throw new ArgumentOutOfRangeException(nameof(backend), backend, "unknown collective backend"),
    };

    /// <summary>NCCL when the model is on a CUDA device, Gloo otherwise.</summary>
    public static CollectiveBackend Default(Device modelDevice) => modelDevice.IsCuda ? CollectiveBackend.Nccl : CollectiveBackend.Gloo;

    /// <summary><paramref name="requested"/> (or the default for <paramref name="modelDevice"/>), checked against this machine.</summary>
    public static CollectiveBackend Resolve(CollectiveBackend? requested, Device modelDevice)
    {
        var backend = requested ?? Default(modelDevice);
        if (backend == CollectiveBackend.Nccl) EnsureNcclUsable(modelDevice);
        return backend;
    }

    /// <summary>Throws a <see cref="ParallelConfigException"/> (field "backend") naming what NCCL lacks here.</summary>
    public static void EnsureNcclUsable(Device modelDevice)
    {
        string? cudart = null;
        if (modelDevice.IsCuda && !CudaRuntime.TryGetDeviceCount(out _, out var failure)) cudart = failure;
        var problem = NcclProblem(modelDevice, CudaProblem(), cudart, Nccl.UnavailableReason);
        if (problem is not null) throw new ParallelConfigException("backend", problem);
    }

    /// <summary>Why libtorch cannot run CUDA here, or null.</summary>
    private static string? CudaProblem() =>
        !torch.cuda.is_built ? "libmola_torch was built against a CPU-only libtorch"
        : !torch.cuda.is_available() ? "libtorch sees no CUDA device (cuda device count 0)"
        : null;

    /// <summary>
    /// The first thing NCCL lacks, from the facts (each null when fine): the model's device, libtorch's CUDA,
    /// libcudart (NcclSharp's stream queries and device selection) and libnccl.so.2. Pure, for tests.
    /// </summary>
    internal static string? NcclProblem(Device modelDevice, string? cudaProblem, string? cudartProblem, string? ncclProblem)
    {
        const string fallback = $"use the gloo backend ({EnvironmentVariable}=gloo) to train on CPU";
        if (!modelDevice.IsCuda)
            return $"nccl needs the model on a CUDA device, but it is on {modelDevice}; put it on cuda or {fallback}";
        if (cudaProblem is not null)
            return $"nccl needs a CUDA GPU: no CUDA GPU is usable here ({cudaProblem}); {fallback}";
        if (cudartProblem is not null)
            return $"nccl needs the CUDA runtime library: {cudartProblem}. Set CUDART_LIBRARY to the full path of libcudart.so.12/.13 " +
                   "(pip nvidia-cuda-runtime ships it) or put its directory on LD_LIBRARY_PATH";
        if (ncclProblem is not null)
            return $"nccl needs libnccl.so.2, which could not be loaded; set NCCL_LIBRARY to its full path (pip nvidia-nccl-cu12/-cu13 " +
                   $"ships nvidia/nccl/lib/libnccl.so.2). Details: {ncclProblem}";
        return null;
    }
}
