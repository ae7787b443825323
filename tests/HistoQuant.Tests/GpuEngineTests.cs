using ILGPU.Runtime.CPU;
using HistoQuant.Kernels;
using HistoQuant.Pipeline;
using HistoQuant.Slides;
using HistoQuant.Stains;

namespace HistoQuant.Tests;

/// <summary>
/// The ILGPU kernel, run on ILGPU's CPU accelerator (an emulator, so tiles are small), must agree with the
/// CPU engine: identical counts, and sums within float rounding (stated tolerance: 1e-4 OD on the mean).
/// </summary>
public class GpuEngineTests
{
    private static TileJob RandomJob(int width, int height, int stride, int seed, TissueSpans? spans = null)
    {
        var rgb = new byte[height * stride + 64];
        new Random(seed).NextBytes(rgb);
        return new TileJob(rgb, stride, width, height, spans ?? TissueSpans.Full(width, height));
    }

    private static PixelSums Cpu(TileJob job, PixelModel model) => new CpuPixelEngine().Measure(job.View, job.Tissue, model);

    [Fact]
    public void KernelMatchesCpuEngineOnABatch()
    {
        var model = new PixelModel(StainPresets.HDab.WithBackground(new Background(250, 248, 252)), 1, 0.2, 0.4, 0.6) { Histogram = true };
        var ragged = new TissueSpans(4, [0, 2, 2, 3, 4], [0, 20, 5, 0], [10, 30, 40, 17]);
        TileJob[] jobs =
        [
            RandomJob(64, 48, 64 * 3, 1),
            RandomJob(40, 4, 64 * 3, 2, ragged),     // edge tile: narrower than its stride, with tissue runs
            RandomJob(33, 17, 33 * 3, 3),
        ];
        using var gpu = IlgpuPixelEngine.CreateCpuEmulator();
        var results = new PixelSums[jobs.Length];
        gpu.Measure(jobs, model, results);
        for (int t = 0; t < jobs.Length; t++)
        {
            var want = Cpu(jobs[t], model);
            Assert.Equal((want.Tissue, want.AtLeastWeak, want.AtLeastModerate, want.AtLeastStrong),
                (results[t].Tissue, results[t].AtLeastWeak, results[t].AtLeastModerate, results[t].AtLeastStrong));
            Assert.Equal(want.ChromogenSum / want.Tissue, results[t].ChromogenSum / results[t].Tissue, 4);
            Assert.Equal(want.Histogram.ToArray(), results[t].Histogram.ToArray());
        }
        Assert.Equal(10 + 10 + 35 + 17, results[1].Tissue);
    }

    [Fact]
    public void SeveralGroupsShareATileSoThePerGroupReductionIsExercised()
    {
        // The batch test above only proves the shared-memory reduction when more than one group adds to a tile.
        using var gpu = IlgpuPixelEngine.CreateCpuEmulator();
        Assert.True(gpu.GroupsPerTile > 1, $"{gpu.GroupsPerTile} group per tile");
        Assert.Equal(256, IlgpuPixelEngine.GroupSizeFor(1024));
        Assert.Equal(256, IlgpuPixelEngine.GroupSizeFor(256));
        Assert.Equal(64, IlgpuPixelEngine.GroupSizeFor(100));
        Assert.Equal(0, IlgpuPixelEngine.ThreadsPerTile % IlgpuPixelEngine.GroupSizeFor(48));
    }

    [Fact]
    public void BatchesTooLargeForThirtyTwoBitOffsetsAreMeasuredInPartsWithTheSameNumbers()
    {
        // 32 tiles of 16 Mpx (the largest piece a TIFF tile may be) would be 1.6 GB: over the 1 GiB batch limit.
        Assert.True(IlgpuPixelEngine.BatchBytes(Enumerable.Range(0, 32).Select(_ => new TileJob([], 4096 * 3, 4096, 4096, TissueSpans.Full(0, 0))).ToList()) > 1L << 30);
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6) { Histogram = true };
        var jobs = Enumerable.Range(0, 7).Select(i => RandomJob(32 + i, 24, (32 + i) * 3, 40 + i)).ToArray();
        using var whole = IlgpuPixelEngine.CreateCpuEmulator(batchSize: 8);
        var once = new PixelSums[jobs.Length];
        whole.Measure(jobs, model, once);
        // The same batch with a limit of about two tiles: split three times over, identical results.
        var split = IlgpuPixelEngine.CreateCpuEmulator(batchSize: 8);
        using (split)
        {
            var parts = new PixelSums[jobs.Length];
            split.MaxBatchBytes = 2L * 36 * 24 * 3;
            split.Measure(jobs, model, parts);
            for (int t = 0; t < jobs.Length; t++)
            {
                Assert.Equal(once[t].Tissue, parts[t].Tissue);
                Assert.Equal(once[t].AtLeastWeak, parts[t].AtLeastWeak);
                Assert.Equal(once[t].ChromogenSum, parts[t].ChromogenSum);
                Assert.Equal(once[t].Histogram.ToArray(), parts[t].Histogram.ToArray());
                Assert.Equal(Cpu(jobs[t], model).AtLeastStrong, parts[t].AtLeastStrong);
            }
        }
    }

    [Fact]
    public void AnEngineWhoseDeviceIsAlreadyGoneDisposesWithoutThrowing()
    {
        // After a sticky CUDA error every driver call fails; here the accelerator is released under the engine.
        var engine = IlgpuPixelEngine.CreateCpuEmulator();
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        engine.Measure([RandomJob(16, 16, 48, 9)], model, new PixelSums[1]);
        var accelerator = (ILGPU.Runtime.Accelerator)typeof(IlgpuPixelEngine).GetField("_accelerator", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(engine)!;
        accelerator.Dispose();
        var e = Record.Exception(engine.Dispose);
        Assert.Null(e);
    }

    [Fact]
    public void DeviceBuffersAreReusedAcrossBatchesOfDifferentSizes()
    {
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        using var gpu = IlgpuPixelEngine.CreateCpuEmulator();
        foreach (var (w, h, seed) in new[] { (16, 16, 5), (48, 30, 6), (8, 8, 7) })
        {
            var job = RandomJob(w, h, w * 3, seed);
            var result = new PixelSums[1];
            gpu.Measure([job], model, result);
            var want = Cpu(job, model);
            Assert.Equal((want.Tissue, want.AtLeastWeak, want.AtLeastStrong), (result[0].Tissue, result[0].AtLeastWeak, result[0].AtLeastStrong));
        }
    }

    [Fact]
    public void WholeSlideThroughTheBatchedPipelineMatchesTheCpuEngine()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("boxes.tiff")); // 300x250, 20 tiles: small enough for the emulator
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        var all = TissueMask.All(slide.Levels[0]);
        var cpu = SlideAnalyzer.Run(slide, all, model, new CpuPixelEngine());
        using var gpu = IlgpuPixelEngine.CreateCpuEmulator(batchSize: 3);
        var emulated = SlideAnalyzer.Run(slide, all, model, gpu);
        Assert.Equal(cpu.TilesRead, emulated.TilesRead);
        Assert.Equal((cpu.Sums.Tissue, cpu.Sums.AtLeastWeak, cpu.Sums.AtLeastModerate, cpu.Sums.AtLeastStrong),
            (emulated.Sums.Tissue, emulated.Sums.AtLeastWeak, emulated.Sums.AtLeastModerate, emulated.Sums.AtLeastStrong));
        Assert.Equal(cpu.Sums.ChromogenSum / cpu.Sums.Tissue, emulated.Sums.ChromogenSum / emulated.Sums.Tissue, 4);
    }

    /// <summary>A batching wrapper around the CPU engine: exercises the queue-and-batch pipeline at full speed.</summary>
    private sealed class BatchingCpu(int batch, int failAfterBatches = int.MaxValue, int inFlight = 1) : IPixelEngine
    {
        private readonly CpuPixelEngine _cpu = new();
        private readonly Barrier _firstBatches = new(inFlight);
        private int _batches;
        public string Name => "batching-cpu";
        public int BatchSize => batch;
        public int BatchesInFlight => inFlight;
        public int LargestBatch { get; private set; }
        public bool Overlapped { get; private set; }

        public void Measure(IReadOnlyList<TileJob> tiles, PixelModel model, Span<PixelSums> results)
        {
            int n = Interlocked.Increment(ref _batches);
            if (n > failAfterBatches)
                throw new InvalidOperationException("simulated device loss");
            // The first batches wait for each other: they meet only if the pipeline really runs them at once.
            if (inFlight > 1 && n <= inFlight && _firstBatches.SignalAndWait(TimeSpan.FromSeconds(20)))
                Overlapped = true;
            lock (this)
                LargestBatch = Math.Max(LargestBatch, tiles.Count);
            _cpu.Measure(tiles, model, results);
        }

        public void Deconvolve(TileJob tile, PixelModel model, Span<float> counterstain, Span<float> chromogen) =>
            _cpu.Deconvolve(tile, model, counterstain, chromogen);

        public void Dispose() { }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public void BatchedPipelineGivesTheSameTotalsAsInlineMeasurement(int batch)
    {
        using var slide = SlideOpener.Open(TestData.Wsi("cmu-1-small-region.svs"));
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        var mask = TissueDetector.Detect(slide, slide.MppX, new TissueSettings());
        var inline = SlideAnalyzer.Run(slide, mask, model, new CpuPixelEngine());
        var engine = new BatchingCpu(batch);
        var batched = SlideAnalyzer.Run(slide, mask, model, engine, maxThreads: 2);
        Assert.Equal(inline.Sums, batched.Sums); // same per-tile sums added in the same order: bit-identical
        Assert.True(engine.LargestBatch <= batch);
    }

    [Fact]
    public void PipelineKeepsAsManyBatchesInFlightAsTheEngineHasStreams()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("cmu-1-small-region.svs"));
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        var all = TissueMask.All(slide.Levels[0]);
        var inline = SlideAnalyzer.Run(slide, all, model, new CpuPixelEngine());
        var engine = new BatchingCpu(4, inFlight: 2);
        var overlapped = SlideAnalyzer.Run(slide, all, model, engine, maxThreads: 2);
        Assert.True(engine.Overlapped, "two batches were never measured at the same time");
        Assert.Equal(inline.Sums, overlapped.Sums);
    }

    [Fact]
    public void ConcurrentBatchesOnTheEmulatorUseSeparateStreamsAndBuffers()
    {
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        using var gpu = IlgpuPixelEngine.CreateCpuEmulator(batchSize: 2, lanes: 2);
        Assert.Equal(2, gpu.BatchesInFlight);
        var batches = Enumerable.Range(0, 6).Select(b => new[] { RandomJob(24 + b, 20, (24 + b) * 3, 100 + b), RandomJob(16, 12 + b, 48, 200 + b) }).ToArray();
        var got = new PixelSums[batches.Length][];
        Parallel.For(0, batches.Length, new ParallelOptions { MaxDegreeOfParallelism = 3 }, b =>
        {
            got[b] = new PixelSums[2];
            gpu.Measure(batches[b], model, got[b]);
        });
        for (int b = 0; b < batches.Length; b++)
        {
            for (int t = 0; t < 2; t++)
            {
                var want = Cpu(batches[b][t], model);
                Assert.Equal((want.Tissue, want.AtLeastWeak, want.AtLeastModerate, want.AtLeastStrong),
                    (got[b][t].Tissue, got[b][t].AtLeastWeak, got[b][t].AtLeastModerate, got[b][t].AtLeastStrong));
            }
        }
        var seconds = gpu.Seconds;
        Assert.True(seconds.Kernel > 0 && seconds.Upload >= 0 && seconds.Download >= 0, $"profiling markers gave {seconds}");
    }

    [Fact]
    public void FailingGpuFallsBackToCpuForTheRemainingTiles()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("cmu-1-small-region.svs"));
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        var all = TissueMask.All(slide.Levels[0]);
        var want = SlideAnalyzer.Run(slide, all, model, new CpuPixelEngine());
        using var engine = new FallbackPixelEngine(new BatchingCpu(8, failAfterBatches: 3), new CpuPixelEngine());
        var got = SlideAnalyzer.Run(slide, all, model, engine);
        Assert.Equal(want.Sums.Tissue, got.Sums.Tissue);
        Assert.Equal(want.Sums.AtLeastWeak, got.Sums.AtLeastWeak);
        Assert.Equal("batching-cpu->cpu-avx2".Replace("cpu-avx2", new CpuPixelEngine().Name), engine.Name);
        Assert.Equal("simulated device loss", engine.FailureReason);
    }

    [Fact]
    public void CorruptTileInTheBatchedPipelineSurfacesAsTheSlideError()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("unreadable.svs"));
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        var e = Assert.Throws<SlideException>(() => SlideAnalyzer.Run(slide, TissueMask.All(slide.Levels[0]), model, new BatchingCpu(4)));
        Assert.Contains("corrupt JPEG", e.Message);
    }

    [Fact]
    public void AutoDeviceWorksWithoutAGpu()
    {
        using var engine = EngineFactory.Create("auto");
        Assert.False(string.IsNullOrEmpty(engine.Name));
        if (IlgpuPixelEngine.TryCreateGpu() is { } gpu)
            gpu.Dispose(); // a GPU machine: nothing more to check here
        else
            Assert.StartsWith("cpu", engine.Name);
    }
}

/// <summary>A GPU that is there but fails is said so, and what was made before the failure is released.</summary>
public class GpuFailureTests
{
    [Fact]
    public void AFailureAfterTheAcceleratorExistsIsReportedAndTheAcceleratorReleased()
    {
        ILGPU.Runtime.Accelerator? made = null;
        var engine = IlgpuPixelEngine.TryCreate(
            () => ILGPU.Context.Create(b => b.CPU()),
            c => (c.Devices[0], "cuda:Simulated H100"),
            out string? why, batchSize: 2, lanes: 1,
            afterAccelerator: a =>
            {
                made = a;
                throw new InvalidOperationException("the kernel did not compile for sm_90");
            });
        Assert.Null(engine);
        Assert.Equal("cuda:Simulated H100 could not be used (InvalidOperationException: the kernel did not compile for sm_90)", why);
        Assert.NotNull(made);
        Assert.True(made!.IsDisposed);
    }

    [Fact]
    public void NoDeviceIsNotAProblemWorthSaying()
    {
        var engine = IlgpuPixelEngine.TryCreate(() => ILGPU.Context.Create(b => b.CPU()), _ => null, out string? why, 2, 1);
        Assert.Null(engine);
        Assert.Equal(IlgpuPixelEngine.NoGpu, why);
    }

    [Fact]
    public void DriversThatDoNotLoadAreReported()
    {
        var engine = IlgpuPixelEngine.TryCreate(() => throw new DllNotFoundException("libcuda.so.1"), _ => null, out string? why, 2, 1);
        Assert.Null(engine);
        Assert.StartsWith("the GPU drivers could not be used (DllNotFoundException: libcuda.so.1", why);
    }
}

/// <summary>`histoquant gpu-check` (bench/gpu-check.sh) as far as it runs here: on ILGPU's CPU accelerator, saying so.</summary>
public class GpuCheckTests
{
    [Fact]
    public void WithoutAGpuTheCheckRunsOnTheCpuAcceleratorAndAgrees()
    {
        using var tmp = new TempDir();
        var report = GpuCheck.Run(tmp.Path, slideSide: 640);
        Assert.Equal("ilgpu-cpu", report.Engine);
        Assert.Contains("checked on ILGPU's CPU accelerator instead", report.NoGpuReason);
        Assert.True(report.Ok, string.Join("; ", report.Problems));
        Assert.Equal(0, report.ParityMismatches);
        Assert.True(report.SlideParity);
        Assert.True(report.KernelGpxPerSecond > 0);
        Assert.Equal(0.41, report.SlideMegapixels, 2);
        // The generated slide needs no native codec: Deflate tiles, RGB.
        using var slide = HistoQuant.Slides.SlideOpener.Open(report.Slide);
        Assert.Equal(640, slide.Levels[0].Width);
    }
}
