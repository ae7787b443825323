using System.Diagnostics;
using HistoQuant.Kernels;
using HistoQuant.Measures;
using HistoQuant.Measures.Capillaries;
using HistoQuant.Measures.Cells;
using HistoQuant.Measures.Fibres;
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
    /// <summary>Estimate the stain vectors on each slide (`--stains auto`, Macenko), starting from the model's.</summary>
    public bool EstimateStains { get; init; }
    public int Threads { get; init; }
    /// <summary>Detect cells even when the marker model does not ask for them (`--cells`).</summary>
    public bool Cells { get; init; }
    /// <summary>Replaces the marker model's cell settings; null keeps the model's.</summary>
    public CellSettings? CellSettings { get; init; }
    /// <summary>Count the 64-bin chromogen OD histogram into results.json (`--histogram`).</summary>
    public bool Histogram { get; init; }
    /// <summary>Folder for per-slide detections.geojson and overlay.png (`--detections`); null writes none.</summary>
    public string? DetectionsFolder { get; init; }
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
        Fingerprint = ComputeFingerprint(options);
    }

    public string MarkerId => _options.Marker.Id;

    /// <summary>True when slides need object detection (cells, fibres, capillaries), which needs more memory per slide.</summary>
    public bool DetectsObjects => _options.Cells || Wants("positive_cells") || Wants("positive_fibres") || Wants("capillaries");

    /// <summary>
    /// A fingerprint of everything that changes the numbers (model, stains, thresholds, pixel size, tissue and
    /// cell settings, background): rows measured with the same fingerprint need not be measured again.
    /// </summary>
    public string Fingerprint { get; }

    private static string ComputeFingerprint(QuantifyOptions o)
    {
        var m = o.Marker;
        var stains = o.Stains ?? m.Stains;
        var t = o.Thresholds ?? m.Thresholds;
        string text = string.Join("|",
            m.Id, m.Compartment, string.Join(",", m.Measures), m.DetectOnOdSum, m.ChromogenIndex,
            StainFile.ToJson(stains), t, o.Mpp?.ToString("R", System.Globalization.CultureInfo.InvariantCulture) ?? "file",
            o.Tissue, o.TissueSettings, o.Background?.ToString() ?? "default", o.EstimateBackground, o.EstimateStains,
            o.Cells, o.CellSettings ?? m.Cells, m.Fibres, m.Capillaries, m.Presence?.ToString() ?? "no presence call",
            o.DetectionsFolder is not null, o.Histogram,
            typeof(Quantifier).Assembly.GetName().Version);
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text));
        return Convert.ToHexString(hash, 0, 8).ToLowerInvariant();
    }

    /// <summary>Never throws for a bad slide: the result row says what went wrong.</summary>
    public SlideResult Run(string slidePath, CancellationToken cancel = default, SlideProgress? progress = null)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var slide = SlideOpener.Open(slidePath);
            return Measure(slide, slidePath, clock, cancel, progress);
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
                Parameters = Fingerprint,
                Device = _engine.Name,
                Seconds = clock.Elapsed.TotalSeconds,
            };
        }
    }

    private SlideResult Measure(ISlide slide, string slidePath, Stopwatch clock, CancellationToken cancel, SlideProgress? progress)
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

        progress?.Begin("tissue");
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
        if (_options.EstimateStains)
        {
            var sample = StainSampler.Sample(slide, tissue, stains.Background);
            try
            {
                stains = StainEstimator.Estimate(sample, stains, stains.Background, $"{stains.Name}, estimated on this slide");
            }
            catch (InvalidOperationException e)
            {
                throw new SlideException(slidePath, $"--stains auto: {e.Message}");
            }
        }
        var thresholds = _options.Thresholds ?? _options.Marker.Thresholds;
        var model = new PixelModel(stains, chromogen, thresholds.Weak, thresholds.Moderate, thresholds.Strong, _options.Marker.DetectOnOdSum) { Histogram = _options.Histogram };

        var totals = SlideAnalyzer.Run(slide, tissue, model, _engine, _options.Threads, cancel, progress);
        var m = IntensityMeasures.From(totals.Sums, mppX, mppY);
        double mpp = Math.Sqrt(mppX.Value * mppY.Value);
        var capillaryList = MeasureCapillaries(slide, mpp, tissue, model, thresholds, cancel, progress);
        var cellList = MeasureCells(slide, mpp, tissue, model, thresholds, cancel, progress);
        if (cellList is not null && capillaryList is not null)
            cellList = DetectedCapillary.CellsOffCapillaries(cellList, capillaryList, mpp);
        var objects = new SlideObjects(cellList, MeasureFibres(slide, mpp, tissue, model, thresholds, cancel, progress), capillaryList);
        if (_options.DetectionsFolder is not null)
        {
            string folder = Path.Combine(_options.DetectionsFolder, SafeName(slidePath));
            Directory.CreateDirectory(folder);
            if (!objects.IsEmpty)
                DetectionFiles.WriteGeoJson(objects, Path.Combine(folder, "detections.geojson"));
            DetectionFiles.WriteOverlay(slide, tissue, model, objects, Path.Combine(folder, "overlay.png"));
        }
        var cells = objects.Cells is { } c ? CellSummary.From(c, m.TissueAreaMm2) : null;
        var fibres = objects.Fibres is { } f ? FibreSummary.From(f, m.TissueAreaMm2) : null;
        int? capillaries = objects.Capillaries?.Count;
        double? capillariesPerMm2 = capillaries is { } k && m.TissueAreaMm2 is > 0 ? k / m.TissueAreaMm2.Value : null;
        double? ValueOf(string measure) => measure switch
        {
            "positive_area_pct" => m.PositiveAreaPct,
            "h_score" => m.HScore,
            "positive_cells_per_mm2" => cells?.PositiveCellsPerMm2,
            "capillaries_per_mm2" => capillariesPerMm2,
            _ => null,
        };
        string present = _options.Marker.Presence?.Call(ValueOf) switch { true => "yes", false => "no", null => "" };
        return new SlideResult
        {
            Slide = slidePath,
            Marker = _options.Marker.Id,
            Status = SlideResult.Ok,
            Parameters = Fingerprint,
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
            TotalCells = cells?.TotalCells,
            PositiveCells = cells?.PositiveCells,
            PositiveCellsPct = cells?.PositiveCellsPct,
            PositiveCellsPerMm2 = cells?.PositiveCellsPerMm2,
            CellHScore = cells?.CellHScore,
            Fibres = fibres?.Fibres,
            FibreAreaPct = fibres?.FibreAreaPct,
            PositiveFibresPct = fibres?.PositiveFibresPct,
            SarcoplasmicFibresPct = fibres?.SarcoplasmicFibresPct,
            Mhc1Grade = fibres?.Grade,
            Capillaries = capillaries,
            CapillariesPerMm2 = capillariesPerMm2,
            Present = present,
            Device = _engine.Name,
            Seconds = clock.Elapsed.TotalSeconds,
            Details = new SlideDetails(
                slide.Format, mppSource, stains.Name, stains[chromogen].Name,
                [[stains.Stain1.R, stains.Stain1.G, stains.Stain1.B], [stains.Stain2.R, stains.Stain2.G, stains.Stain2.B], [stains.Stain3.R, stains.Stain3.G, stains.Stain3.B]],
                [stains.Background.R, stains.Background.G, stains.Background.B],
                [thresholds.Weak, thresholds.Moderate, thresholds.Strong],
                _options.Tissue == TissueMode.All ? "all" : "auto",
                tissue.Glass is { } g ? [g.R, g.G, g.B] : null,
                m.TissuePixels, totals.TilesTotal, totals.TilesRead, slide.Levels.Count, slide.Magnification,
                _options.Histogram ? totals.Sums.Histogram.ToArray() : null, _options.Histogram ? DabHistogram.BinWidth : 0),
        };
    }

    private bool Wants(string measure) => _options.Marker.Measures.Contains(measure);

    private List<DetectedCell>? MeasureCells(ISlide slide, double mpp, TissueMask tissue, PixelModel model, Thresholds thresholds, CancellationToken cancel, SlideProgress? progress)
    {
        if (!_options.Cells && !Wants("positive_cells"))
            return null;
        var compartment = _options.Marker.Compartment switch
        {
            "nucleus" => CellCompartment.Nucleus,
            "cytoplasm" => CellCompartment.Cytoplasm,
            _ => CellCompartment.Cell,
        };
        var settings = _options.CellSettings ?? _options.Marker.Cells;
        var detector = new CellDetector(settings, compartment, thresholds.Weak, thresholds.Moderate, thresholds.Strong);
        return CellAnalyzer.Run(slide, mpp, tissue, model, _engine, detector, settings, _options.DetectionsFolder is not null, _options.Threads, cancel, progress);
    }

    private List<DetectedFibre>? MeasureFibres(ISlide slide, double mpp, TissueMask tissue, PixelModel model, Thresholds thresholds, CancellationToken cancel, SlideProgress? progress)
    {
        if (!Wants("positive_fibres"))
            return null;
        var detector = new FibreDetector(_options.Marker.Fibres, thresholds.Weak);
        var level = slide.Levels[0];
        bool outlines = _options.DetectionsFolder is not null;
        return RegionAnalyzer.Run(slide, mpp, tissue, model, _engine, detector.Settings.CoreMicrons, detector.Settings.MarginMicrons,
            region => detector.Detect(region, mpp, level.Width, level.Height, outlines), _options.Threads, cancel, progress, "fibres");
    }

    private List<DetectedCapillary>? MeasureCapillaries(ISlide slide, double mpp, TissueMask tissue, PixelModel model, Thresholds thresholds, CancellationToken cancel, SlideProgress? progress)
    {
        if (!Wants("capillaries"))
            return null;
        var detector = new CapillaryDetector(_options.Marker.Capillaries, thresholds.Weak);
        return RegionAnalyzer.Run(slide, mpp, tissue, model, _engine, detector.Settings.CoreMicrons, detector.Settings.MarginMicrons,
            region => detector.Detect(region, mpp), _options.Threads, cancel, progress, "capillaries");
    }

    /// <summary>A folder name for a slide: its file name without extensions that identify the format.</summary>
    public static string SafeName(string slidePath)
    {
        string name = Path.GetFileName(slidePath);
        foreach (var ext in new[] { ".ome.tiff", ".ome.tif", ".tiff", ".tif", ".svs", ".png", ".jpg", ".jpeg" })
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase))
                return name[..^ext.Length];
        return name;
    }

    /// <summary>One line that names the file: slide errors already do; others get the path in front.</summary>
    public static string OneLine(Exception e, string slidePath)
    {
        string message = e is SlideException ? e.Message : $"{slidePath}: {e.GetType().Name}: {e.Message}";
        return message.Replace("\r", " ").Replace("\n", " ");
    }
}
