using HistoQuant.Kernels;
using HistoQuant.Pipeline;
using HistoQuant.Slides;
using HistoQuant.Stains;

namespace HistoQuant.Tests;

/// <summary>Memory is bounded by design: only a bounded number of decoded tiles exist at any moment.</summary>
public class BoundedMemoryTests
{
    /// <summary>Counts tiles decoded but not yet measured; the engine below marks them measured.</summary>
    private sealed class Ledger
    {
        private int _inFlight;
        public int MaxInFlight;
        public int Decoded;

        public void Decode()
        {
            Interlocked.Increment(ref Decoded);
            int now = Interlocked.Increment(ref _inFlight);
            int seen;
            while (now > (seen = MaxInFlight) && Interlocked.CompareExchange(ref MaxInFlight, now, seen) != seen) { }
        }

        public void Measured(int tiles) => Interlocked.Add(ref _inFlight, -tiles);
    }

    private sealed class CountingSlide(ISlide inner, Ledger ledger) : ISlide
    {
        public string Path => inner.Path;
        public string Format => inner.Format;
        public IReadOnlyList<SlideLevel> Levels => inner.Levels;
        public double? MppX => inner.MppX;
        public double? MppY => inner.MppY;
        public double? Magnification => inner.Magnification;
        public IReadOnlyDictionary<string, string> Properties => inner.Properties;

        public void ReadTile(int level, int col, int row, Span<byte> rgb)
        {
            inner.ReadTile(level, col, row, rgb);
            ledger.Decode();
            Thread.Sleep(1); // let producers race ahead of the consumer if nothing held them back
        }

        public void Dispose() => inner.Dispose();
    }

    private sealed class CountingEngine(int batch, Ledger ledger) : IPixelEngine
    {
        private readonly CpuPixelEngine _cpu = new();
        public string Name => "counting";
        public int BatchSize => batch;

        public void Measure(IReadOnlyList<TileJob> tiles, PixelModel model, Span<PixelSums> results)
        {
            Thread.Sleep(5); // a slow device: the queue fills up
            _cpu.Measure(tiles, model, results);
            ledger.Measured(tiles.Count);
        }

        public void Deconvolve(TileJob tile, PixelModel model, Span<float> counterstain, Span<float> chromogen) =>
            _cpu.Deconvolve(tile, model, counterstain, chromogen);

        public void Dispose() { }
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(4, 2)]
    [InlineData(8, 3)]
    public void DecodedTilesInFlightStayBounded(int batch, int threads)
    {
        var ledger = new Ledger();
        using var slide = new CountingSlide(SlideOpener.Open(TestData.Wsi("cmu-1-small-region.svs")), ledger); // 130 tiles
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        SlideAnalyzer.Run(slide, TissueMask.All(slide.Levels[0]), model, new CountingEngine(batch, ledger), maxThreads: threads);
        Assert.Equal(130, ledger.Decoded);
        // Inline: one tile per worker. Batched: the queue (2 batches), the batch being measured, one per worker.
        int bound = batch == 1 ? threads : 3 * batch + threads;
        Assert.InRange(ledger.MaxInFlight, 1, bound);
    }
}
