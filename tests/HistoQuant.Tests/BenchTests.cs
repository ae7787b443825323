using HistoQuant.Kernels;
using HistoQuant.Models;
using HistoQuant.Pipeline;
using HistoQuant.Stains;

namespace HistoQuant.Tests;

/// <summary>The benchmark reports what it claims (no speed is asserted: timings belong in notes, not tests).</summary>
public class BenchTests
{
    [Fact]
    public void GeneratedTilesLookLikeIhcAndCountAllPixels()
    {
        var tiles = Benchmark.GenerateTiles(2, 64);
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        var sums = new CpuPixelEngine().Measure(tiles[0].View, tiles[0].Tissue, model);
        Assert.Equal(64 * 64, sums.Tissue);
        double positive = (double)sums.AtLeastWeak / sums.Tissue;
        Assert.InRange(positive, 0.05, 0.35); // about a fifth of pixels carry DAB by construction
    }

    [Fact]
    public void EngineBenchCountsMegapixelsOfEveryPass()
    {
        var tiles = Benchmark.GenerateTiles(3, 32);
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        var r = Benchmark.MeasureEngine(new CpuPixelEngine(), tiles, model, threads: 1, minSeconds: 0.05);
        double perPass = 3 * 32 * 32 / 1e6;
        Assert.True(r.Megapixels >= perPass);
        Assert.Equal(0, Math.IEEERemainder(r.Megapixels / perPass, 1), 6); // whole passes only
        Assert.Equal(r.Megapixels / r.Seconds, r.MpxPerSecond, 6);
    }

    [Fact]
    public void SlideBenchReportsDecodeAnalysisEndToEndAndMemory()
    {
        var options = new QuantifyOptions { Marker = MarkerCatalog.Resolve("dab-generic") };
        using var engine = new CpuPixelEngine();
        var r = Benchmark.MeasureSlide(TestData.Wsi("OS-2-ndpi.ome.tif"), new Quantifier(options, engine), engine, options, 2);
        Assert.Equal(25, r.TissueTiles); // 5x5 tiles of 512 px, tissue everywhere
        Assert.Equal(2202 * 2202 / 1e6, r.TissueMegapixels, 3);
        Assert.True(r.DecodeMpxS > 0 && r.AnalysisMpxS > 0 && r.EndToEndMpxS > 0);
        Assert.True(r.PeakRssMb > 10);
    }
}
