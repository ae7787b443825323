using System.Diagnostics;
using HistoQuant.Kernels;
using HistoQuant.Slides;
using HistoQuant.Stains;

namespace HistoQuant.Pipeline;

/// <summary>Throughput of one engine on tiles already in memory (no decoding).</summary>
public sealed record EngineBench(string Engine, int Threads, double Megapixels, double Seconds, double MpxPerSecond,
    double? PackSeconds = null, double? UploadSeconds = null, double? KernelSeconds = null, double? DownloadSeconds = null);

/// <summary>What `histoquant bench SLIDE` reports (names fixed: other tools read them).</summary>
public sealed record SlideBench(string Slide, string Device, int Threads, long TissueTiles, double TissueMegapixels,
    double DecodeMpxS, double AnalysisMpxS, double EndToEndMpxS, double EndToEndOverDecode, double PeakRssMb);

/// <summary>
/// Measurements for `histoquant bench`. Throughput is reported in megapixels of level-0 tissue tiles per
/// second. Generated tiles need no image library, so the kernel benchmark runs on a GPU machine without OpenCV.
/// </summary>
public static class Benchmark
{
    /// <summary>IHC-like random tiles: mostly pale tissue with brown and blue blobs (a fixed seed).</summary>
    public static List<TileJob> GenerateTiles(int count, int size, int seed = 11)
    {
        var rng = new Random(seed);
        var hdab = StainPresets.HDab;
        var tiles = new List<TileJob>(count);
        for (int t = 0; t < count; t++)
        {
            var rgb = new byte[size * size * 3 + 64];
            for (int i = 0; i < size * size; i++)
            {
                double h = rng.NextDouble() * 0.4, dab = rng.NextDouble() < 0.2 ? rng.NextDouble() * 1.2 : rng.NextDouble() * 0.1;
                rgb[i * 3] = Render(h * hdab.Stain1.R + dab * hdab.Stain2.R, rng);
                rgb[i * 3 + 1] = Render(h * hdab.Stain1.G + dab * hdab.Stain2.G, rng);
                rgb[i * 3 + 2] = Render(h * hdab.Stain1.B + dab * hdab.Stain2.B, rng);
            }
            tiles.Add(new TileJob(rgb, size * 3, size, size, TissueSpans.Full(size, size)));
        }
        return tiles;
    }

    private static byte Render(double od, Random rng) =>
        (byte)Math.Clamp((int)Math.Round(OpticalDensity.Intensity(od, 255) + rng.NextDouble() * 4 - 2), 0, 255);

    /// <summary>Runs the engine over the tiles again and again for at least <paramref name="minSeconds"/>.</summary>
    public static EngineBench MeasureEngine(IPixelEngine engine, IReadOnlyList<TileJob> tiles, PixelModel model, int threads, double minSeconds = 1.0)
    {
        double mpxPerPass = tiles.Sum(t => t.Tissue.PixelCount) / 1e6;
        Pass(engine, tiles, model, threads); // warm-up: JIT and kernel compilation
        var before = (engine as IlgpuPixelEngine)?.Seconds;
        var clock = Stopwatch.StartNew();
        int passes = 0;
        do
        {
            Pass(engine, tiles, model, threads);
            passes++;
        }
        while (clock.Elapsed.TotalSeconds < minSeconds);
        double seconds = clock.Elapsed.TotalSeconds;
        var bench = new EngineBench(engine.Name, threads, mpxPerPass * passes, seconds, mpxPerPass * passes / seconds);
        if (engine is IlgpuPixelEngine gpu && before is { } b)
        {
            var a = gpu.Seconds;
            bench = bench with { PackSeconds = a.Pack - b.Pack, UploadSeconds = a.Upload - b.Upload, KernelSeconds = a.Kernel - b.Kernel, DownloadSeconds = a.Download - b.Download };
        }
        return bench;
    }

    private static void Pass(IPixelEngine engine, IReadOnlyList<TileJob> tiles, PixelModel model, int threads)
    {
        var results = new PixelSums[tiles.Count];
        if (engine.BatchSize <= 1)
        {
            Parallel.For(0, tiles.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
            {
                var one = new PixelSums[1];
                engine.Measure([tiles[i]], model, one);
                results[i] = one[0];
            });
            return;
        }
        // As the pipeline does: as many batches at once as the engine has streams.
        int batches = (tiles.Count + engine.BatchSize - 1) / engine.BatchSize;
        Parallel.For(0, batches, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, engine.BatchesInFlight) }, b =>
        {
            int start = b * engine.BatchSize;
            var batch = tiles.Skip(start).Take(engine.BatchSize).ToList();
            engine.Measure(batch, model, results.AsSpan(start, batch.Count));
        });
    }

    private static double BestOfTwo(Action run)
    {
        double best = double.MaxValue;
        for (int pass = 0; pass < 2; pass++)
        {
            var clock = Stopwatch.StartNew();
            run();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>Decode-only, analysis-only and end-to-end throughput on one slide's tissue tiles.</summary>
    public static SlideBench MeasureSlide(string path, Quantifier quantifier, IPixelEngine engine, QuantifyOptions options, int threads)
    {
        using var slide = SlideOpener.Open(path);
        var level = slide.Levels[0];
        double? mpp = options.Mpp ?? slide.MppX;
        var mask = options.Tissue == TissueMode.All ? TissueMask.All(level) : TissueDetector.Detect(slide, mpp, options.TissueSettings, threads);
        var tiles = mask.TissueTiles(level);
        double mpx = tiles.Sum(t => (double)t.Width * t.Height) / 1e6;

        // Decode only: every tissue tile, all workers, buffers reused. The first pass only warms up (file in the
        // page cache, JIT, codec start-up), and each timing is the better of two passes, as for end to end below,
        // so the ratio compares like with like.
        void DecodeAll() => TileWorkers.For(tiles.Count, threads, level.TileBufferBytes() + 64, (i, buffer) => slide.ReadTile(0, tiles[i].Col, tiles[i].Row, buffer));
        DecodeAll();
        double decodeSeconds = BestOfTwo(DecodeAll);

        // Analysis only: a sample of decoded tiles (at most ~200 MB) measured repeatedly.
        int sample = (int)Math.Min(tiles.Count, Math.Max(1, 200L * 1024 * 1024 / (level.TileBufferBytes() + 64)));
        var jobs = new List<TileJob>(sample);
        for (int i = 0; i < sample; i++)
        {
            var t = tiles[(int)((long)i * tiles.Count / sample)];
            var buffer = new byte[level.TileBufferBytes() + 64];
            slide.ReadTile(0, t.Col, t.Row, buffer);
            jobs.Add(new TileJob(buffer, level.TileWidth * 3, t.Width, t.Height, mask.SpansFor(t)));
        }
        var model = quantifier.PixelModelFor(slide, mask, path);
        var analysis = MeasureEngine(engine, jobs, model, threads);
        jobs.Clear();

        // End to end: the real quantify of this slide, tissue detection included.
        double e2eSeconds = BestOfTwo(() =>
        {
            var result = quantifier.Run(path);
            if (result.Status != SlideResult.Ok)
                throw new SlideException(path, result.Error);
        });

        double decode = mpx / decodeSeconds, e2e = mpx / e2eSeconds;
        return new SlideBench(path, engine.Name, threads, tiles.Count, Math.Round(mpx, 3), Math.Round(decode, 1),
            Math.Round(analysis.MpxPerSecond, 1), Math.Round(e2e, 1), Math.Round(e2e / decode, 3), Math.Round(PeakRssMegabytes(), 1));
    }

    /// <summary>Peak resident set size of this process (Linux VmHWM); 0 where /proc is not available.</summary>
    public static double PeakRssMegabytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return double.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException)
        {
        }
        return 0;
    }
}
