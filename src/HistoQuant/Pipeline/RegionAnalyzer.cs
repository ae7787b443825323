using System.Buffers;
using HistoQuant.Kernels;
using HistoQuant.Measures;
using HistoQuant.Slides;

namespace HistoQuant.Pipeline;

/// <summary>
/// Runs an object detector (cells, fibres, capillaries) over a slide in overlapping regions: each region is
/// a core square plus a margin wider than any object, an object belongs to the region whose core holds its
/// centroid, so seams neither drop nor double-count objects and the count does not depend on the core size.
/// Per-pixel deconvolution runs on the engine of --device; segmentation runs on the CPU. Objects are kept
/// in region order (deterministic).
/// </summary>
public static class RegionAnalyzer
{
    public static List<T> Run<T>(ISlide slide, double mpp, TissueMask tissue, PixelModel model, IPixelEngine engine,
        double coreMicrons, double marginMicrons, Func<RegionPlanes, IEnumerable<T>> detect, int maxThreads = 0, CancellationToken cancel = default,
        SlideProgress? progress = null, string stage = "objects")
    {
        var level = slide.Levels[0];
        var whole = tissue.WithoutRegion();
        int core = Math.Max(64, (int)Math.Round(coreMicrons / mpp));
        int margin = (int)Math.Ceiling(marginMicrons / mpp);
        var cores = new List<TileRect>();
        for (int y = 0, row = 0; y < level.Height; y += core, row++)
            for (int x = 0, col = 0; x < level.Width; x += core, col++)
            {
                var r = new TileRect(col, row, x, y, Math.Min(core, level.Width - x), Math.Min(core, level.Height - y));
                if (tissue.Touches(r))
                    cores.Add(r);
            }

        progress?.Begin(stage, cores.Count);
        var found = new List<T>[cores.Count];
        TileWorkers.For(cores.Count, maxThreads, level.TileBufferBytes() + 64, (i, tileBuffer) =>
        {
            var c = cores[i];
            int x0 = Math.Max(0, c.X - margin), y0 = Math.Max(0, c.Y - margin);
            int x1 = Math.Min(level.Width, c.X + c.Width + margin), y1 = Math.Min(level.Height, c.Y + c.Height + margin);
            int w = x1 - x0, h = y1 - y0;
            // Regions are megabytes each: pooled, so they do not pile up on the large-object heap.
            var rgb = ArrayPool<byte>.Shared.Rent(w * h * 3 + 64);
            var counterstain = ArrayPool<float>.Shared.Rent(w * h);
            var chromogen = ArrayPool<float>.Shared.Rent(w * h);
            try
            {
                RegionReader.Read(slide, 0, x0, y0, w, h, rgb, tileBuffer);
                engine.Deconvolve(new TileJob(rgb, w * 3, w, h, TissueSpans.Full(w, h)), model, counterstain, chromogen);
                found[i] = detect(new RegionPlanes(counterstain, chromogen, w, h, x0, y0, c, whole, tissue.Region)).ToList();
                progress?.Step();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rgb);
                ArrayPool<float>.Shared.Return(counterstain);
                ArrayPool<float>.Shared.Return(chromogen);
            }
        }, cancel);
        return found.SelectMany(f => f).ToList();
    }
}
