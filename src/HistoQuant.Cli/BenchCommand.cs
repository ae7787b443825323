using System.CommandLine;
using System.Text.Json;
using HistoQuant.Kernels;
using HistoQuant.Models;
using HistoQuant.Pipeline;
using HistoQuant.Slides;
using HistoQuant.Stains;

namespace HistoQuant.Cli;

/// <summary>
/// `histoquant bench [SLIDE]`: with a slide, decode-only, analysis-only and end-to-end throughput and peak
/// memory; without one, kernel throughput of every available engine on generated tiles (needs no OpenCV).
/// Prints JSON on stdout.
/// </summary>
public static class BenchCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create()
    {
        var slideArg = new Argument<string?>("slide") { Description = "Slide to benchmark; omit for generated tiles.", Arity = ArgumentArity.ZeroOrOne };
        var device = new Option<string>("--device") { Description = "auto, cpu or gpu (with a slide); generated tiles try every engine.", DefaultValueFactory = _ => "auto" };
        device.AcceptOnlyFromAmong(EngineFactory.Choices);
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var tiles = new Option<int>("--tiles") { Description = "Generated tiles.", DefaultValueFactory = _ => 64 };
        var tileSize = new Option<int>("--tile-size") { Description = "Generated tile side in px.", DefaultValueFactory = _ => 512 };
        var emulator = new Option<bool>("--emulator") { Description = "Also run ILGPU's CPU emulator (slow) on a few generated tiles." };
        var mpp = new Option<double?>("--mpp") { Description = "Pixel size for slides that lack one." };
        var tissue = new Option<string>("--tissue") { Description = "auto or all.", DefaultValueFactory = _ => "auto" };
        tissue.AcceptOnlyFromAmong("auto", "all");
        var command = new Command("bench", "Measure throughput (Mpx/s) and peak memory.") { slideArg, device, threads, tiles, tileSize, emulator, mpp, tissue };
        command.SetAction(parse =>
        {
            int n = parse.GetValue(threads) is > 0 and var t ? t : Environment.ProcessorCount;
            string? slide = parse.GetValue(slideArg);
            if (slide is null)
            {
                int count = parse.GetValue(tiles), size = parse.GetValue(tileSize);
                if (count < 1 || size < 8 || size > 8192)
                    throw new UsageException("--tiles must be ≥ 1 and --tile-size between 8 and 8192");
                Console.WriteLine(JsonSerializer.Serialize(Generated(count, size, n, parse.GetValue(emulator)), Json));
                return Cli.Ok;
            }
            var options = new QuantifyOptions
            {
                Marker = MarkerCatalog.Resolve(MarkerCatalog.DefaultId),
                Mpp = parse.GetValue(mpp),
                Tissue = parse.GetValue(tissue) == "all" ? TissueMode.All : TissueMode.Auto,
                Threads = n,
            };
            IPixelEngine engine;
            try
            {
                engine = EngineFactory.Create(parse.GetValue(device)!, Console.Error);
            }
            catch (NotSupportedException e)
            {
                throw new UsageException(e.Message);
            }
            using (engine)
            {
                try
                {
                    var report = Benchmark.MeasureSlide(slide, new Quantifier(options, engine), engine, options, n);
                    Console.WriteLine(JsonSerializer.Serialize(report, Json));
                    return Cli.Ok;
                }
                catch (SlideException e)
                {
                    Console.Error.WriteLine($"histoquant: {e.Message}");
                    return Cli.SomeFailed;
                }
            }
        });
        return command;
    }

    private static object Generated(int count, int size, int threads, bool emulator)
    {
        var jobs = Benchmark.GenerateTiles(count, size);
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        var results = new List<EngineBench>
        {
            Benchmark.MeasureEngine(new CpuPixelEngine(), jobs, model, 1),
            Benchmark.MeasureEngine(new CpuPixelEngine(), jobs, model, threads),
            Benchmark.MeasureEngine(new CpuPixelEngine(allowVector: false), jobs, model, threads),
        };
        using (var gpu = IlgpuPixelEngine.TryCreateGpu(batchSize: Math.Clamp(count / 2, 1, 32)))
        {
            if (gpu is not null)
                results.Add(Benchmark.MeasureEngine(gpu, jobs, model, 1, minSeconds: 2));
        }
        if (emulator)
        {
            using var cpuEmulator = IlgpuPixelEngine.CreateCpuEmulator();
            results.Add(Benchmark.MeasureEngine(cpuEmulator, Benchmark.GenerateTiles(2, 64), model, 1, minSeconds: 0.5));
        }
        return new { tiles = count, tile_size = size, engines = results, peak_rss_mb = Math.Round(Benchmark.PeakRssMegabytes(), 1) };
    }
}
