using HistoQuant.Kernels;
using HistoQuant.Measures.Cells;
using HistoQuant.Slides;

namespace HistoQuant.Pipeline;

/// <summary>Cell detection over a whole slide, region by region (see <see cref="RegionAnalyzer"/>).</summary>
public static class CellAnalyzer
{
    public static List<DetectedCell> Run(ISlide slide, double mpp, TissueMask tissue, PixelModel model, IPixelEngine engine,
        CellDetector detector, CellSettings settings, bool outlines, int maxThreads = 0, CancellationToken cancel = default, SlideProgress? progress = null) =>
        RegionAnalyzer.Run(slide, mpp, tissue, model, engine, settings.CoreMicrons, settings.MarginMicrons,
            region => detector.Detect(region.Counterstain, region.Chromogen, region.Width, region.Height, mpp, region.Owns, region.ToLevel0, outlines),
            maxThreads, cancel, progress, "cells");
}
