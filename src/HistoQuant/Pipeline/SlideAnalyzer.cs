using HistoQuant.Kernels;
using HistoQuant.Slides;

namespace HistoQuant.Pipeline;

/// <summary>What one pass over a slide's level-0 tissue tiles produced.</summary>
public sealed record AnalysisTotals(PixelSums Sums, long TilesTotal, long TilesRead);

/// <summary>
/// Schedules level-0 tiles: only tiles that touch tissue are read; each worker decodes a tile into its own
/// pooled buffer and hands it to the engine. Per-tile sums land in an array by tile index and are added in
/// that order, so the totals are the same whatever the thread count.
/// </summary>
public static class SlideAnalyzer
{
    public static AnalysisTotals Run(ISlide slide, TissueMask tissue, PixelModel model, IPixelEngine engine, int maxThreads = 0, CancellationToken cancel = default)
    {
        var level = slide.Levels[0];
        var tiles = new List<TileRect>();
        for (int r = 0; r < level.TilesDown; r++)
            for (int c = 0; c < level.TilesAcross; c++)
            {
                var rect = level.TileBounds(c, r);
                if (tissue.Touches(rect))
                    tiles.Add(rect);
            }

        var perTile = new PixelSums[tiles.Count];
        int bufferBytes = level.TileBufferBytes() + 64; // kernels read a few bytes past the last pixel
        TileWorkers.For(tiles.Count, maxThreads, bufferBytes, (i, buffer) =>
        {
            var rect = tiles[i];
            slide.ReadTile(0, rect.Col, rect.Row, buffer);
            var view = new TileView(buffer.AsSpan(0, bufferBytes), level.TileWidth * 3, rect.Width, rect.Height);
            perTile[i] = engine.Measure(view, tissue.SpansFor(rect), model);
        }, cancel);

        var total = new PixelSums();
        foreach (var s in perTile)
            total.Add(s);
        return new AnalysisTotals(total, level.TileCount, tiles.Count);
    }
}
