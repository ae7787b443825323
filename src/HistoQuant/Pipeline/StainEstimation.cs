using HistoQuant.Kernels;
using HistoQuant.Slides;
using HistoQuant.Stains;

namespace HistoQuant.Pipeline;

/// <summary>Stain vectors (Macenko) estimated from slides' tissue: per slide for `--stains auto`, per batch for `stains estimate`.</summary>
public static class StainEstimation
{
    /// <summary>The stains re-estimated on one slide's tissue, starting from (and named like) <paramref name="start"/>.</summary>
    public static StainSet OnSlide(ISlide slide, TissueMask tissue, StainSet start, string slidePath)
    {
        var sample = StainSampler.Sample(slide, tissue, start.Background);
        try
        {
            return StainEstimator.Estimate(sample, start, start.Background, $"{start.Name}, estimated on this slide");
        }
        catch (InvalidOperationException e)
        {
            throw new SlideException(slidePath, $"--stains auto: {e.Message}");
        }
    }

    /// <summary>
    /// One stain set for slides stained alike: tissue pixels of all of them, the mean of their glass colours as the
    /// background. A slide that cannot be read throws its <see cref="SlideException"/>; too little stain to tell
    /// the vectors apart throws <see cref="InvalidOperationException"/>.
    /// </summary>
    public static StainSet FromSlides(IEnumerable<string> paths, StainSet start, double? mpp)
    {
        var samples = new List<float>();
        var glasses = new List<Background>();
        foreach (var path in paths)
        {
            using var slide = SlideOpener.Open(path);
            var tissue = TissueDetector.Detect(slide, mpp ?? slide.MppX, new TissueSettings());
            var glass = tissue.Glass ?? Background.White;
            glasses.Add(glass);
            samples.AddRange(StainSampler.Sample(slide, tissue, glass));
        }
        var background = new Background(glasses.Average(g => g.R), glasses.Average(g => g.G), glasses.Average(g => g.B));
        return StainEstimator.Estimate(samples.ToArray(), start, background, $"estimated from {glasses.Count} slide(s)");
    }
}
