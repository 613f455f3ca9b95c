using MoLA.Safetensors;
using MoLA.Torch.IO;
using MoLA.Torch.NN;

namespace MoLA.Torch.Tests;

public sealed class SafetensorsIOTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mola-st-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void EveryDTypeRoundTripsThroughTensors()
    {
        using var scope = torch.NewDisposeScope();
        var source = new Dictionary<string, Tensor>
        {
            ["f32"] = torch.randn([3, 4]),
            ["f64"] = torch.randn([2], DType.Float64),
            ["f16"] = torch.randn([5]).to(DType.Float16),
            ["bf16"] = torch.randn([2, 2]).to(DType.BFloat16),
            ["i64"] = torch.arange(0, 6).view(2, 3),
            ["i32"] = torch.arange(0, 4, 1, DType.Int32),
            ["u8"] = torch.arange(0, 4, 1, DType.UInt8),
            ["bool"] = torch.tensor(new[] { true, false }),
            ["scalar"] = torch.scalar_tensor(3.5),
            ["empty"] = torch.zeros([0, 3]),
            ["strided"] = torch.randn([4, 3]).t(),
        };
        var path = Path.Combine(_dir, "all.safetensors");
        SafetensorsIO.Save(path, source, new Dictionary<string, string> { ["format"] = "pt" });
        var loaded = SafetensorsIO.Load(path);
        try
        {
            Assert.Equal(source.Keys.Order(), loaded.Keys.Order());
            foreach (var (name, t) in source)
            {
                Assert.Equal(t.DType, loaded[name].DType);
                Assert.Equal(t.Shape, loaded[name].Shape);
                Assert.Equal(t.ToBytes(), loaded[name].ToBytes());
            }
            using var f = SafetensorsFile.Open(path);
            Assert.Equal("pt", f.Metadata["format"]);
        }
        finally { foreach (var t in loaded.Values) t.Dispose(); }
    }

    [Fact]
    public void ModuleSaveLoadAndMismatchNamesTheTensor()
    {
        using var a = new Linear(4, 3);
        using var b = new Linear(4, 3);
        var path = Path.Combine(_dir, "linear.safetensors");
        a.save_safetensors(path);
        b.load_safetensors(path);
        Assert.Equal(a.weight.ToArray<float>(), b.weight.ToArray<float>());
        using var c = new Linear(5, 3);
        var ex = Assert.Throws<ArgumentException>(() => c.load_safetensors(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("tensor 'weight' has shape [3, 4], the module expects [3, 5]", ex.Message);
    }

    [Fact]
    public void LoadConvertsDTypeOnRequest()
    {
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(_dir, "bf16.safetensors");
        SafetensorsIO.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.tensor(new float[] { 1.5f, 2f }).to(DType.BFloat16) });
        var loaded = SafetensorsIO.Load(path, DType.Float32);
        using var w = loaded["w"];
        Assert.Equal(new float[] { 1.5f, 2f }, w.ToArray<float>());
    }
}
