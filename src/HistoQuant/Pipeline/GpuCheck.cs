using System.Diagnostics;
using System.IO.Compression;
using HistoQuant.Kernels;
using HistoQuant.Slides;
using HistoQuant.Slides.Tiff;
using HistoQuant.Stains;

namespace HistoQuant.Pipeline;

/// <summary>What `histoquant gpu-check` found (printed as one JSON object).</summary>
public sealed record GpuCheckReport(string Engine, string? NoGpuReason, bool Ok,
    int ParityTiles, long ParityMismatches, double MaxRelativeSumError,
    double KernelGpxPerSecond, double KernelSeconds,
    string Slide, double SlideMegapixels, bool SlideParity, double SlideSecondsGpu, double SlideSecondsCpu, double EndToEndMpxPerSecond,
    IReadOnlyList<string> Problems);

/// <summary>
/// The GPU engine against the CPU engine, in one run that needs neither OpenCV nor TurboJPEG (it can run from a
/// runtime carried to a GPU machine): generated IHC-like tiles must give identical counts and histograms and sums
/// within 1e-6 relative; kernel throughput in Gpx/s; and a generated Deflate-tiled slide measured end to end by
/// both engines with identical totals. Without a GPU it runs on ILGPU's CPU accelerator, smaller, and says so.
/// </summary>
public static class GpuCheck
{
    public const double SumTolerance = 1e-6;

    public static GpuCheckReport Run(string workFolder, int? slideSide = null)
    {
        var gpu = IlgpuPixelEngine.TryCreateGpu(out string? why);
        bool real = gpu is not null;
        using var engine = gpu ?? IlgpuPixelEngine.CreateCpuEmulator(batchSize: 4);
        var cpu = new CpuPixelEngine();
        var problems = new List<string>();
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6) { Histogram = true };

        // Tile parity.
        var tiles = Benchmark.GenerateTiles(real ? 64 : 6, real ? 512 : 96);
        var results = new PixelSums[tiles.Count];
        engine.Measure(tiles, model, results);
        long mismatches = 0;
        double maxRel = 0;
        for (int t = 0; t < tiles.Count; t++)
        {
            var want = cpu.Measure(tiles[t].View, tiles[t].Tissue, model);
            var got = results[t];
            if ((want.Tissue, want.AtLeastWeak, want.AtLeastModerate, want.AtLeastStrong) != (got.Tissue, got.AtLeastWeak, got.AtLeastModerate, got.AtLeastStrong)
                || !want.Histogram.ToArray().SequenceEqual(got.Histogram.ToArray()))
                mismatches++;
            maxRel = Math.Max(maxRel, Math.Abs(want.ChromogenSum - got.ChromogenSum) / Math.Max(1e-12, Math.Abs(want.ChromogenSum)));
        }
        if (mismatches > 0)
            problems.Add($"{mismatches} of {tiles.Count} tiles differ in counts or histogram from the CPU engine");
        if (maxRel > SumTolerance)
            problems.Add($"chromogen sums differ by up to {maxRel:0.###e+0} relative (tolerance {SumTolerance:0e+0})");

        var kernel = Benchmark.MeasureEngine(engine, tiles, model, 1, minSeconds: real ? 3 : 0.2);

        // A whole slide, end to end, through the batched pipeline.
        int side = slideSide ?? (real ? 16384 : 768);
        Directory.CreateDirectory(workFolder);
        string slidePath = Path.Combine(workFolder, $"gpu-check-{side}.tif");
        if (!File.Exists(slidePath))
            WriteDeflateSlide(slidePath, side);
        using var slide = SlideOpener.Open(slidePath);
        var all = TissueMask.All(slide.Levels[0]);
        var clock = Stopwatch.StartNew();
        var onGpu = SlideAnalyzer.Run(slide, all, model, engine);
        double gpuSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var onCpu = SlideAnalyzer.Run(slide, all, model, cpu);
        double cpuSeconds = clock.Elapsed.TotalSeconds;
        var (g, c) = (onGpu.Sums, onCpu.Sums);
        bool slideParity = (g.Tissue, g.AtLeastWeak, g.AtLeastModerate, g.AtLeastStrong) == (c.Tissue, c.AtLeastWeak, c.AtLeastModerate, c.AtLeastStrong)
            && g.Histogram.ToArray().SequenceEqual(c.Histogram.ToArray())
            && Math.Abs(g.ChromogenSum - c.ChromogenSum) <= SumTolerance * Math.Abs(c.ChromogenSum);
        if (!slideParity)
            problems.Add("the whole slide's totals differ between the engines");
        double megapixels = Math.Round((double)side * side / 1e6, 3);
        return new GpuCheckReport(engine.Name, real ? null : $"{why}; checked on ILGPU's CPU accelerator instead", problems.Count == 0,
            tiles.Count, mismatches, maxRel, kernel.MpxPerSecond / 1000, kernel.Seconds,
            slidePath, megapixels, slideParity, gpuSeconds, cpuSeconds, (double)side * side / 1e6 / gpuSeconds, problems);
    }

    /// <summary>IHC-like generated tiles in a Deflate-compressed tiled TIFF: readable with no native codec.</summary>
    private static void WriteDeflateSlide(string path, int side)
    {
        const int tile = 512;
        var pattern = Benchmark.GenerateTiles(8, tile, seed: 23);
        string part = path + ".part";
        using (var writer = new TiledTiffWriter(part, bigTiff: (long)side * side * 3 > 3_000_000_000) { Deflate = true })
        {
            int level = writer.AddLevel(side, side, tile);
            int across = (side + tile - 1) / tile;
            for (int row = 0; row < across; row++)
                for (int col = 0; col < across; col++)
                {
                    var source = pattern[(row * 7 + col * 3) % pattern.Count];
                    using var packed = new MemoryStream();
                    using (var z = new ZLibStream(packed, CompressionLevel.Fastest, leaveOpen: true))
                        z.Write(source.Rgb, 0, tile * tile * 3);
                    writer.WriteTile(level, col, row, packed.ToArray());
                }
            writer.Finish("HistoQuant gpu-check slide", 0.5);
        }
        File.Move(part, path, overwrite: true);
    }
}
