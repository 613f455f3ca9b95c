using System.Globalization;
using MoLA.Model.Llama;
using MoLA.Torch;

namespace MoLA.Model.Tests.Llama;

/// <summary>Loading must not hold the weights twice (all tensors read, then copied into the model).</summary>
public sealed class LlamaLoadMemoryTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"mola-llama-memory-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public void Peak_memory_while_loading_stays_near_one_copy_of_the_weights()
    {
        // ~40 MB of float32 in 10 layers, written as 4 shards of at most 12 MB.
        var config = new LlamaConfig(hiddenSize: 256, intermediateSize: 1024, numHiddenLayers: 10, numAttentionHeads: 4,
            vocabSize: 256, numKeyValueHeads: 2);
        LlamaFixture.WriteRandomCheckpoint(_dir, config, seed: 11, new LlamaSaveOptions { MaxShardBytes = 12 << 20 });
        long fileBytes = Directory.GetFiles(_dir, "*.safetensors", SearchOption.TopDirectoryOnly).Sum(f => new FileInfo(f).Length);
        Assert.InRange(fileBytes, 35L << 20, 45L << 20);

        // Warm up: JIT-compile the load path and map the libraries it uses before measuring.
        var warmup = Path.Combine(_dir, "warmup");
        LlamaFixture.WriteRandomCheckpoint(warmup, new LlamaConfig(16, 24, 1, 2, 32), seed: 12);
        LlamaCheckpoint.Load(warmup).Dispose();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var peak = new PeakRss();

        using var model = LlamaCheckpoint.Load(_dir);

        long grown = peak.Stop();
        // One copy of the weights (the model) + one shard mapped at a time + transients. Reading every
        // tensor before copying would need two copies (2x) and a single mapped file 2x as well.
        long limit = (long)(fileBytes * 1.6);
        Assert.True(grown < limit,
            $"peak RSS grew by {grown >> 20} MiB while loading {fileBytes >> 20} MiB of weights (limit {limit >> 20} MiB; measured by {peak.Method})");
        Assert.Equal(config.ToString(), model.Config.ToString());
    }

    /// <summary>
    /// Peak resident set size growth from now on: the kernel's high-water mark (VmHWM) after
    /// resetting it through /proc/self/clear_refs, else a 1 ms sampler of VmRSS as a fallback.
    /// </summary>
    private sealed class PeakRss : IDisposable
    {
        private readonly long _baseline;
        private readonly bool _kernelPeak;
        private readonly Thread? _sampler;
        private volatile bool _stop;
        private long _sampledPeak;

        public PeakRss()
        {
            try
            {
                File.WriteAllText("/proc/self/clear_refs", "5");
                _kernelPeak = true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _kernelPeak = false;
            }
            _baseline = Read("VmRSS");
            _sampledPeak = _baseline;
            if (!_kernelPeak)
            {
                _sampler = new Thread(() =>
                {
                    while (!_stop)
                    {
                        var now = Read("VmRSS");
                        if (now > _sampledPeak) _sampledPeak = now;
                        Thread.Sleep(1);
                    }
                }) { IsBackground = true };
                _sampler.Start();
            }
        }

        public string Method => _kernelPeak ? "VmHWM after clear_refs" : "sampling VmRSS";

        /// <summary>Bytes the peak exceeded the starting RSS by.</summary>
        public long Stop()
        {
            _stop = true;
            _sampler?.Join();
            var peak = _kernelPeak ? Read("VmHWM") : Math.Max(_sampledPeak, Read("VmRSS"));
            return peak - _baseline;
        }

        public void Dispose() => Stop();

        private static long Read(string field)
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                    return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            throw new InvalidOperationException($"/proc/self/status has no {field}");
        }
    }
}
