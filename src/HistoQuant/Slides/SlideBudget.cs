namespace HistoQuant.Slides;

/// <summary>
/// Limits on what one slide may cost, checked when it opens, before any pixel is decoded. A few kilobytes of
/// header can declare terapixels (sparse tiles cost nothing on disk), and both the overview and the measurement
/// decode every pixel of some level, so the time a slide takes is bounded here.
/// </summary>
public static class SlideBudget
{
    /// <summary>The largest level 0 accepted: 64 Gpx, about 4× the largest 40× scans of a whole slide.</summary>
    public const long MaxPixels = 64L << 30;

    /// <summary>
    /// The largest level an overview may have to read: a slide without a reduced-resolution level this small
    /// is refused, as its overview alone would decode more than about a minute's worth of pixels.
    /// </summary>
    public const long MaxOverviewSourcePixels = 4L << 30;

    /// <summary>The overview needs a level with a long side of at most this many pixels times 8.</summary>
    private const int OverviewSide = 4096;

    public static void Check(ISlide slide, string path)
    {
        var level0 = slide.Levels[0];
        long pixels = (long)level0.Width * level0.Height;
        if (pixels > MaxPixels)
            throw new SlideException(path, $"declares {level0.Width}x{level0.Height} px ({pixels / 1e9:0.#} Gpx), more than the {MaxPixels >> 30} Gpx HistoQuant accepts for one slide");
        var smallest = slide.Levels.MinBy(l => (long)l.Width * l.Height)!;
        long smallestPixels = (long)smallest.Width * smallest.Height;
        if (smallestPixels > MaxOverviewSourcePixels && Math.Max(smallest.Width, smallest.Height) > OverviewSide * 8)
            throw new SlideException(path, $"has no reduced-resolution level (smallest {smallest.Width}x{smallest.Height} px, {smallestPixels / 1e9:0.#} Gpx); its overview would decode all of it: save it as a pyramidal TIFF (e.g. vips tiffsave --tile --pyramid)");
    }
}
