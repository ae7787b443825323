using OpenCvSharp;
using HistoQuant.Measures;
using HistoQuant.Slides;
using HistoQuant.Stains;
using HistoQuant.Kernels;

namespace HistoQuant.Pipeline;

/// <summary>Tissue detection parameters; the defaults are documented in the README.</summary>
/// <param name="MaskMicrons">Mask pixel size in µm (coarser if the mask would exceed <paramref name="MaxMaskSide"/>).</param>
/// <param name="OdThreshold">Summed optical density, relative to the slide's own glass, at which a smoothed mask pixel is tissue.</param>
/// <param name="SmoothMicrons">Gaussian σ applied to the OD image before thresholding.</param>
/// <param name="MinAreaMicrons2">Tissue pieces smaller than this are dropped, glass holes smaller than this are filled.</param>
public sealed record TissueSettings(
    double MaskMicrons = 2.0,
    double OdThreshold = 0.05,
    double SmoothMicrons = 3.0,
    double MinAreaMicrons2 = 1000.0,
    int MaxMaskSide = 2048)
{
    /// <summary>Pixel size assumed for a slide that states none (only the mask's morphology depends on it).</summary>
    public const double AssumedMppWhenUnknown = 0.5;
}

/// <summary>
/// Finds tissue on a low-resolution overview: estimate the glass colour from the brightest pixels,
/// sum the positive optical densities relative to it, smooth, threshold, and clean up small specks and holes.
/// Working relative to the slide's own glass matters: scanners differ (CMU-1's glass is 246, the Olympus
/// OS-2 scan's is 217), and a fixed threshold against 255 calls all of a grey-glass slide tissue.
/// </summary>
public static class TissueDetector
{
    private const double BrightestFraction = 0.01;
    private const double NoGlassBrightness = 150; // brightest pixels darker than this: the image is all tissue

    public static TissueMask Detect(ISlide slide, double? mpp, TissueSettings settings, int maxThreads = 0)
    {
        var level0 = slide.Levels[0];
        double micronsPerLevel0Px = mpp ?? TissueSettings.AssumedMppWhenUnknown;
        double downsample = Math.Max(1.0, settings.MaskMicrons / micronsPerLevel0Px);
        downsample = Math.Max(downsample, (double)Math.Max(level0.Width, level0.Height) / settings.MaxMaskSide);
        // Average whole blocks of the best pyramid level, so a level at the right scale is copied as it is.
        var source = slide.Levels.Where(l => l.Downsample <= downsample * 1.0001).MaxBy(l => l.Downsample) ?? level0;
        // Rounded up where rounding to nearest would exceed MaxMaskSide: the mask's cost grows with its area.
        double ratio = downsample / source.Downsample;
        int block = Math.Max(1, (int)Math.Round(ratio));
        if (Math.Max(source.Width, source.Height) / (double)block > settings.MaxMaskSide)
            block = Math.Max(1, (int)Math.Ceiling(ratio));
        int w = Math.Max(1, (source.Width + block - 1) / block);
        int h = Math.Max(1, (source.Height + block - 1) / block);
        downsample = (double)level0.Width / w;
        var overview = SlideOverview.Render(slide, w, h, maxThreads);
        return FromOverview(overview, level0, downsample * micronsPerLevel0Px, settings);
    }

    public static TissueMask FromOverview(RgbImage overview, SlideLevel level0, double maskMicrons, TissueSettings settings)
    {
        var glass = EstimateGlass(overview);
        int n = overview.Width * overview.Height;
        var od = new float[n];
        var lut = ChannelLut.OpticalDensity(glass, clampAtZero: true);
        ReadOnlySpan<byte> px = overview.Pixels.AsSpan(0, n * 3);
        for (int i = 0, j = 0; i < n; i++, j += 3)
            od[i] = ChannelLut.Sum(lut, px[j], px[j + 1], px[j + 2]);

        var mask = new byte[n];
        using (var odMat = Mat.FromPixelData(overview.Height, overview.Width, MatType.CV_32FC1, od))
        using (var smooth = new Mat())
        using (var binary = new Mat())
        {
            double sigma = settings.SmoothMicrons / maskMicrons;
            if (sigma >= 0.3)
                Cv2.GaussianBlur(odMat, smooth, new Size(0, 0), sigma, sigma, BorderTypes.Reflect101);
            else
                odMat.CopyTo(smooth);
            Cv2.Threshold(smooth, binary, settings.OdThreshold, 1, ThresholdTypes.Binary);
            using var bytes = new Mat();
            binary.ConvertTo(bytes, MatType.CV_8UC1);
            int minPixels = (int)Math.Ceiling(settings.MinAreaMicrons2 / (maskMicrons * maskMicrons));
            Planes.RemoveSmallComponents(bytes, minPixels, value: 1);   // specks of dust and debris
            Planes.RemoveSmallComponents(bytes, minPixels, value: 0);   // pinholes inside tissue
            AsSpan<byte>(bytes, n).CopyTo(mask);
        }
        return new TissueMask(overview.Width, overview.Height, level0.Width, level0.Height, mask, glass);
    }

    /// <summary>Median colour of the brightest 1% of overview pixels; white when the image has no glass.</summary>
    public static Background EstimateGlass(RgbImage overview)
    {
        int n = overview.Width * overview.Height;
        var px = overview.Pixels;
        var brightness = new int[766];
        for (int i = 0; i < n; i++)
            brightness[px[i * 3] + px[i * 3 + 1] + px[i * 3 + 2]]++;
        int want = Math.Max(1, (int)(n * BrightestFraction)), seen = 0, cut = 765;
        for (; cut > 0; cut--)
        {
            seen += brightness[cut];
            if (seen >= want)
                break;
        }
        var channel = new int[3, 256];
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            if (px[i * 3] + px[i * 3 + 1] + px[i * 3 + 2] < cut)
                continue;
            channel[0, px[i * 3]]++;
            channel[1, px[i * 3 + 1]]++;
            channel[2, px[i * 3 + 2]]++;
            count++;
        }
        double Median(int c)
        {
            for (int v = 0, acc = 0; v < 256; v++)
                if ((acc += channel[c, v]) > count / 2)
                    return v;
            return 255;
        }
        var glass = new Background(Median(0), Median(1), Median(2));
        return (glass.R + glass.G + glass.B) / 3 < NoGlassBrightness ? Background.White : glass;
    }

    private static unsafe Span<T> AsSpan<T>(Mat mat, int count) where T : unmanaged
    {
        if (!mat.IsContinuous())
            throw new InvalidOperationException("expected a continuous matrix");
        return new Span<T>((void*)mat.Data, count);
    }
}
