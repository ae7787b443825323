using System.Diagnostics;
using HistoQuant.Kernels;
using HistoQuant.Measures;
using HistoQuant.Models;
using HistoQuant.Output;
using HistoQuant.Slides;
using HistoQuant.Stains;

namespace HistoQuant.Pipeline;

public enum TissueMode { Auto, All }

/// <summary>Everything `quantify` was asked for, already validated.</summary>
public sealed record QuantifyOptions
{
    public required MarkerModel Marker { get; init; }
    /// <summary>Replaces the marker model's stains (`--stains`).</summary>
    public StainSet? Stains { get; init; }
    /// <summary>Replaces the marker model's thresholds (`--weak/--moderate/--strong`).</summary>
    public Thresholds? Thresholds { get; init; }
    /// <summary>Overrides or supplies the level-0 pixel size (`--mpp`).</summary>
    public double? Mpp { get; init; }
    public TissueMode Tissue { get; init; } = TissueMode.Auto;
    public TissueSettings TissueSettings { get; init; } = new();
    /// <summary>Background I0: null keeps the stain set's own (255 by default); <see cref="EstimateBackground"/> uses the slide's glass.</summary>
    public Background? Background { get; init; }
    public bool EstimateBackground { get; init; }
    public int Threads { get; init; }
}

/// <summary>Measures one slide end to end: open, find tissue, run tiles through the engine, aggregate.</summary>
public sealed class Quantifier
{
    private readonly QuantifyOptions _options;
    private readonly IPixelEngine _engine;

    public Quantifier(QuantifyOptions options, IPixelEngine engine)
    {
        _options = options;
        _engine = engine;
    }

    /// <summary>Never throws for a bad slide: the result row says what went wrong.</summary>
    public SlideResult Run(string slidePath, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var slide = SlideOpener.Open(slidePath);
            return Measure(slide, slidePath, clock, cancel);
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            return new SlideResult
            {
                Slide = slidePath,
                Marker = _options.Marker.Id,
                Status = SlideResult.Failed,
                Error = OneLine(e, slidePath),
                Device = _engine.Name,
                Seconds = clock.Elapsed.TotalSeconds,
            };
        }
    }

    private SlideResult Measure(ISlide slide, string slidePath, Stopwatch clock, CancellationToken cancel)
    {
        var level0 = slide.Levels[0];
        (double? mppX, double? mppY, string mppSource) = _options.Mpp is { } forced
            ? (forced, forced, "--mpp")
            : (slide.MppX, slide.MppY, "file");
        if (mppX is null || mppY is null)
        {
            string note = slide.Properties.TryGetValue("histoquant.ResolutionNote", out var n) ? $" ({n})" : "";
            throw new SlideException(slidePath, $"no pixel size (µm/px) in the file{note}; pass --mpp to measure per-area values");
        }

        var tissue = _options.Tissue == TissueMode.All && !_options.EstimateBackground
            ? TissueMask.All(level0)
            : TissueDetector.Detect(slide, mppX, _options.TissueSettings, _options.Threads);
        if (_options.Tissue == TissueMode.All && !tissue.IsAllTissue)
            tissue = new TissueMask(1, 1, level0.Width, level0.Height, null, tissue.Glass);

        var stains = _options.Stains ?? _options.Marker.Stains;
        if (_options.EstimateBackground && tissue.Glass is { } glass)
            stains = stains.WithBackground(glass);
        else if (_options.Background is { } background)
            stains = stains.WithBackground(background);
        int chromogen = _options.Stains is null ? _options.Marker.ChromogenIndex : 1;
        var thresholds = _options.Thresholds ?? _options.Marker.Thresholds;
        var model = new PixelModel(stains, chromogen, thresholds.Weak, thresholds.Moderate, thresholds.Strong);

        var totals = SlideAnalyzer.Run(slide, tissue, model, _engine, _options.Threads, cancel);
        var m = IntensityMeasures.From(totals.Sums, mppX, mppY);
        return new SlideResult
        {
            Slide = slidePath,
            Marker = _options.Marker.Id,
            Status = SlideResult.Ok,
            WidthPx = level0.Width,
            HeightPx = level0.Height,
            Mpp = Math.Round((mppX.Value + mppY.Value) / 2, 6),
            TissueAreaMm2 = m.TissueAreaMm2,
            PositiveAreaPct = m.PositiveAreaPct,
            WeakPct = m.WeakPct,
            ModeratePct = m.ModeratePct,
            StrongPct = m.StrongPct,
            HScore = m.HScore,
            MeanDabOd = m.MeanChromogenOd,
            Device = _engine.Name,
            Seconds = clock.Elapsed.TotalSeconds,
            Details = new SlideDetails(
                slide.Format, mppSource, stains.Name, stains[chromogen].Name,
                [[stains.Stain1.R, stains.Stain1.G, stains.Stain1.B], [stains.Stain2.R, stains.Stain2.G, stains.Stain2.B], [stains.Stain3.R, stains.Stain3.G, stains.Stain3.B]],
                [stains.Background.R, stains.Background.G, stains.Background.B],
                [thresholds.Weak, thresholds.Moderate, thresholds.Strong],
                _options.Tissue == TissueMode.All ? "all" : "auto",
                tissue.Glass is { } g ? [g.R, g.G, g.B] : null,
                m.TissuePixels, totals.TilesTotal, totals.TilesRead, slide.Levels.Count, slide.Magnification),
        };
    }

    /// <summary>One line that names the file: slide errors already do; others get the path in front.</summary>
    public static string OneLine(Exception e, string slidePath)
    {
        string message = e is SlideException ? e.Message : $"{slidePath}: {e.GetType().Name}: {e.Message}";
        return message.Replace("\r", " ").Replace("\n", " ");
    }
}
