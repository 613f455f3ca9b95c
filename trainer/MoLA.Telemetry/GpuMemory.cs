using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace MoLA.Telemetry;

/// <summary>
/// GPU memory used and total of the device a CUDA rank trains on, read from NVML (the driver's management library,
/// present wherever CUDA is) at each scrape: mola_gpu_memory_used_bytes and mola_gpu_memory_total_bytes, label gpu.
/// The shim has no allocator statistics, so this is the device's memory (every process on it), not this rank's share.
/// </summary>
public static partial class GpuMemory
{
    private const string Nvml = "libnvidia-ml.so.1";

    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryInfo
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    [LibraryImport(Nvml, EntryPoint = "nvmlInit_v2")]
    private static partial int Init();

    [LibraryImport(Nvml, EntryPoint = "nvmlDeviceGetHandleByIndex_v2")]
    private static partial int HandleByIndex(uint index, out nint device);

    [LibraryImport(Nvml, EntryPoint = "nvmlDeviceGetHandleByUUID", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int HandleByUuid(string uuid, out nint device);

    [LibraryImport(Nvml, EntryPoint = "nvmlDeviceGetMemoryInfo")]
    private static partial int GetMemoryInfo(nint device, out MemoryInfo memory);

    /// <summary>
    /// Adds the two gauges to <paramref name="meter"/> for CUDA device 0 of this process (the first entry of
    /// CUDA_VISIBLE_DEVICES: an index or a GPU-UUID). Returns false, adding nothing, where NVML or the device is missing.
    /// </summary>
    public static bool TryObserve(Meter meter, IEnumerable<KeyValuePair<string, object?>> labels)
    {
        ArgumentNullException.ThrowIfNull(meter);
        nint device;
        string id;
        try
        {
            if (Init() != 0) return false;
            var visible = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES")?.Split(',')[0].Trim();
            // An index is taken as NVML's (PCI bus order): exact with CUDA_DEVICE_ORDER=PCI_BUS_ID, a UUID always is.
            if (string.IsNullOrEmpty(visible)) visible = "0";
            var ok = uint.TryParse(visible, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                ? HandleByIndex(index, out device) : HandleByUuid(visible, out device);
            if (ok != 0) return false;
            id = visible;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        var tags = labels.Append(new("gpu", id)).ToArray();
        meter.CreateObservableGauge("mola_gpu_memory_used_bytes",
            () => Read(device, m => m.Used, tags), "By", "GPU memory in use on the rank's device (all processes).");
        meter.CreateObservableGauge("mola_gpu_memory_total_bytes",
            () => Read(device, m => m.Total, tags), "By", "GPU memory of the rank's device.");
        return true;
    }

    private static IEnumerable<Measurement<long>> Read(nint device, Func<MemoryInfo, ulong> field, KeyValuePair<string, object?>[] tags) =>
        GetMemoryInfo(device, out var memory) == 0 ? [new Measurement<long>((long)field(memory), tags)] : [];
}
