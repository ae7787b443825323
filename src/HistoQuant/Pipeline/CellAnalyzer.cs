using System.Buffers;
using HistoQuant.Kernels;
using HistoQuant.Measures.Cells;
using HistoQuant.Slides;

namespace HistoQuant.Pipeline;

/// <summary>
/// Runs cell detection over a slide in overlapping regions: each region is a core square plus a margin wider
/// than any cell, a cell belongs to the region whose core holds its centroid, so seams neither drop nor
/// double-count cells and the count does not depend on the core size. Per-pixel deconvolution runs on the
/// engine of --device; segmentation runs on the CPU. Cells are kept in region order (deterministic).
/// </summary>
public static class CellAnalyzer
{
    public static List<DetectedCell> Run(ISlide slide, double mpp, TissueMask tissue, PixelModel model, IPixelEngine engine,
        CellDetector detector, CellSettings settings, bool outlines, int maxThreads = 0, CancellationToken cancel = default)
    {
        var level = slide.Levels[0];
        int core = Math.Max(64, (int)Math.Round(settings.CoreMicrons / mpp));
        int margin = (int)Math.Ceiling(settings.MarginMicrons / mpp);
        var cores = new List<TileRect>();
        for (int y = 0, row = 0; y < level.Height; y += core, row++)
            for (int x = 0, col = 0; x < level.Width; x += core, col++)
            {
                var r = new TileRect(col, row, x, y, Math.Min(core, level.Width - x), Math.Min(core, level.Height - y));
                if (tissue.Touches(r))
                    cores.Add(r);
            }

        var found = new List<DetectedCell>[cores.Count];
        TileWorkers.For(cores.Count, maxThreads, level.TileBufferBytes() + 64, (i, tileBuffer) =>
        {
            var c = cores[i];
            int x0 = Math.Max(0, c.X - margin), y0 = Math.Max(0, c.Y - margin);
            int x1 = Math.Min(level.Width, c.X + c.Width + margin), y1 = Math.Min(level.Height, c.Y + c.Height + margin);
            int w = x1 - x0, h = y1 - y0;
            // Regions are megabytes each: pooled, so they do not pile up on the large-object heap.
            var rgb = ArrayPool<byte>.Shared.Rent(w * h * 3 + 64);
            var hem = ArrayPool<float>.Shared.Rent(w * h);
            var dab = ArrayPool<float>.Shared.Rent(w * h);
            try
            {
                RegionReader.Read(slide, 0, x0, y0, w, h, rgb, tileBuffer);
                engine.Deconvolve(new TileJob(rgb, w * 3, w, h, TissueSpans.Full(w, h)), model, hem, dab);
                found[i] = detector.Detect(hem, dab, w, h, mpp,
                    keep: (x, y) => x >= c.X && x < c.X + c.Width && y >= c.Y && y < c.Y + c.Height && tissue.IsTissue(x, y),
                    toLevel0: (px, py) => (x0 + px, y0 + py),
                    outlines);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rgb);
                ArrayPool<float>.Shared.Return(hem);
                ArrayPool<float>.Shared.Return(dab);
            }
        }, cancel);
        return found.SelectMany(f => f).ToList();
    }
}
