using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using HistoQuant.Kernels;
using HistoQuant.Pipeline;
using HistoQuant.Stains;

namespace HistoQuant.Bench;

/// <summary>
/// The hot kernels of the CPU engine on generated IHC-like tiles (no image library involved):
/// deconvolution + three thresholds + sum per tile, vectorised and scalar, and the plane deconvolution
/// cell detection uses. Run: dotnet run -c Release --project bench/HistoQuant.Bench
/// Throughput in Mpx/s = 16 tiles × 512² px / mean time.
/// </summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private List<TileJob> _tiles = null!;
    private PixelModel _model = null!;
    private readonly CpuPixelEngine _vector = new();
    private readonly CpuPixelEngine _scalar = new(allowVector: false);
    private readonly float[] _h = new float[512 * 512], _d = new float[512 * 512];
    private readonly PixelSums[] _results = new PixelSums[16];

    [GlobalSetup]
    public void Setup()
    {
        _tiles = Benchmark.GenerateTiles(16, 512);
        _model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
    }

    [Benchmark(Baseline = true, Description = "measure, AVX2, 1 thread")]
    public void MeasureVector() => _vector.Measure(_tiles, _model, _results);

    [Benchmark(Description = "measure, scalar, 1 thread")]
    public void MeasureScalar() => _scalar.Measure(_tiles, _model, _results);

    [Benchmark(Description = "measure, AVX2, all cores")]
    public void MeasureParallel() => Parallel.For(0, _tiles.Count, i => _results[i] = _vector.Measure(_tiles[i].View, _tiles[i].Tissue, _model));

    [Benchmark(Description = "deconvolve planes, 1 thread")]
    public void Planes()
    {
        foreach (var t in _tiles)
            _vector.Deconvolve(t, _model, _h, _d);
    }
}

public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
