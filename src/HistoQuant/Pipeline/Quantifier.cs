using System.Diagnostics;
using HistoQuant.Kernels;
using HistoQuant.Measures;
using HistoQuant.Measures.Cells;
using HistoQuant.Measures.Pixels;
using HistoQuant.Models;
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
    /// <summary>Keep object outlines for detection files (`--detections`); the caller writes them.</summary>
    public bool Detections { get; init; }
    /// <summary>Check the slide's own stains against the model's (`stain_check`); off for `--no-stain-check`.</summary>
    public bool CheckStains { get; init; } = true;
    /// <summary>Hash every slide file (sha256 in results.json's provenance); off for `--no-hash`.</summary>
    public bool HashFiles { get; init; } = true;
    /// <summary>The command line and start time written into each row's provenance.</summary>
    public RunInfo Run { get; init; } = RunInfo.Now("");
}

/// <summary>What every row of one run shares in its provenance.</summary>
public sealed record RunInfo(string ToolVersion, string Started, string CommandLine)
{
    /// <summary>The informational version: the version and, for a build from a git checkout, "+commit".</summary>
    public static string Version { get; } = typeof(RunInfo).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";

    public static RunInfo Now(string commandLine) =>
        new(Version, DateTimeOffset.Now.ToString("yyyy-MM-ddTHH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture), commandLine);
}

/// <summary>A measured slide, still open, with what was found on it: what detection files are drawn from.</summary>
/// <param name="GradesChromogen">The model grades the chromogen's area (`positive_area`): the overlay tints positive pixels only then.</param>
public sealed record MeasuredSlide(ISlide Slide, string Path, TissueMask Tissue, PixelModel Model, IReadOnlyList<IMeasure> Measures, SlideObjects Objects, SlideResult Result,
    bool GradesChromogen = true);

/// <summary>Measures one slide end to end: open, find tissue, run tiles through the engine, aggregate.</summary>
public sealed class Quantifier
{
    private readonly QuantifyOptions _options;
    private readonly IPixelEngine _engine;

    private readonly IReadOnlyDictionary<string, object?> _settings;
    private readonly IReadOnlyList<IMeasure> _measures;

    public Quantifier(QuantifyOptions options, IPixelEngine engine)
    {
        _options = options;
        _engine = engine;
        _settings = SettingsOf(options);
        var request = new MeasureRequest(options.Marker.Measures, _settings, options.Cells);
        _measures = MeasureRegistry.All.Where(m => m.IsWanted(request)).ToList();
        Fingerprint = ComputeFingerprint(options, _settings);
    }

    /// <summary>The model's measure settings with the command line's replacements (`--cell-tile`).</summary>
    private static IReadOnlyDictionary<string, object?> SettingsOf(QuantifyOptions o)
    {
        var settings = new Dictionary<string, object?>(o.Marker.Settings);
        if (o.CellSettings is { } cells)
            settings["cells"] = new CellSection(cells, o.Marker.DetectOnOdSum);
        return settings;
    }

    /// <summary>The measures this run makes, in results order.</summary>
    public IReadOnlyList<IMeasure> Measures => _measures;

    public string MarkerId => _options.Marker.Id;

    /// <summary>True when slides need object detection (cells, fibres, capillaries), which needs more memory per slide.</summary>
    public bool DetectsObjects => _measures.Any(m => m.CreateDetector(Setup(m, 1, 1, 1)) is not null);

    /// <summary>
    /// A fingerprint of everything that changes the numbers (model, stains, thresholds, pixel size, tissue and
    /// cell settings, background): rows measured with the same fingerprint need not be measured again.
    /// </summary>
    public string Fingerprint { get; }

    private static string ComputeFingerprint(QuantifyOptions o, IReadOnlyDictionary<string, object?> settings)
    {
        var m = o.Marker;
        var stains = o.Stains ?? m.Stains;
        var t = o.Thresholds ?? m.Thresholds;
        string text = string.Join("|",
            m.Id, m.Compartment, string.Join(",", m.Measures), m.DetectOnOdSum, m.ChromogenIndex,
            StainFile.ToJson(stains), t, o.Mpp?.ToString("R", System.Globalization.CultureInfo.InvariantCulture) ?? "file",
            o.Tissue, o.TissueSettings, o.Background?.ToString() ?? "default", o.EstimateBackground, EstimatesStains(o),
            o.Cells, string.Join("|", MeasureRegistry.All.Where(u => u.SectionName is not null).Select(u => u.Fingerprint(settings[u.SectionName!]))),
            o.Detections, o.Histogram,
            typeof(Quantifier).Assembly.GetName().Version);
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text));
        return Convert.ToHexString(hash, 0, 8).ToLowerInvariant();
    }

    /// <summary>Never throws for a bad slide: the result row says what went wrong.</summary>
    /// <param name="measured">Called with the open slide and its objects once measured (detection files are written
    /// there); an exception from it makes the slide an error row like any other.</param>
    /// <param name="regions">A QuPath annotation GeoJSON restricting measurement to its regions (see <see cref="RegionsFile"/>).</param>
    /// <param name="regionClass">Only the included annotations of this class (`--per-region`); null for all of them.</param>
    public SlideResult Run(string slidePath, CancellationToken cancel = default, SlideProgress? progress = null, Action<MeasuredSlide>? measured = null, string? regions = null,
        string? regionClass = null)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var slide = SlideOpener.Open(slidePath);
            // The file's hash is read beside the measurement (a second pass over the file, mostly from the page cache).
            var hash = _options.HashFiles ? Task.Run(() => FileHash(slidePath), cancel) : Task.FromResult<string?>(null);
            var result = Measure(slide, slidePath, clock, cancel, progress, measured, regions, regionClass);
            return result with { Provenance = Provenance(slidePath, hash.GetAwaiter().GetResult()) };
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
                Provenance = Provenance(slidePath, null),
                Parameters = Fingerprint,
                Device = _engine.Name,
                Seconds = clock.Elapsed.TotalSeconds,
            };
        }
    }

    private SlideResult Measure(ISlide slide, string slidePath, Stopwatch clock, CancellationToken cancel, SlideProgress? progress, Action<MeasuredSlide>? measured, string? regions, string? regionClass)
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
        if (regions is not null)
            tissue = tissue.Within(RegionsFile.Load(regions, level0.Width, level0.Height, regionClass));

        var model = PixelModelFor(slide, tissue, slidePath);
        var (stains, chromogen, thresholds) = (model.Stains, model.ChromogenIndex, _options.Thresholds ?? _options.Marker.Thresholds);

        var totals = SlideAnalyzer.Run(slide, tissue, model, _engine, _options.Threads, cancel, progress);
        var m = IntensityMeasures.From(totals.Sums, mppX, mppY);
        if (regions is not null && m.TissuePixels == 0)
            throw new SlideException(regions, $"the regions cover no tissue of {slidePath}{(_options.Tissue == TissueMode.Auto ? " (with --tissue all every pixel inside them counts)" : "")}");
        double mpp = Math.Sqrt(mppX.Value * mppY.Value);
        var objects = new SlideObjects();
        foreach (var measure in _measures)
            if (measure.CreateDetector(Setup(measure, mpp, level0.Width, level0.Height)) is { } detector)
                objects[measure.Name] = RegionAnalyzer.Run(slide, mpp, tissue, model, _engine, detector.CoreMicrons, detector.MarginMicrons,
                    detector.Detect, _options.Threads, cancel, progress, measure.Name);
        foreach (var measure in _measures)
            measure.AfterDetection(objects, mpp, tissue, _settings);
        var summary = new SlideSummary(m, mpp, objects, _settings);
        var values = new Dictionary<string, double?>();
        foreach (var measure in _measures)
            measure.Summarise(summary, values);
        // Never an "ok" row with NaN or infinity: a degenerate background, stain matrix or pixel size shows here.
        if (values.FirstOrDefault(v => v.Value is { } x && !double.IsFinite(x)) is { Key: { } bad })
            throw new SlideException(slidePath, $"{bad} came out as {values[bad]} (check --mpp, --background and the stain vectors)");
        var check = _options.CheckStains
            ? StainCheck.Run(slide, tissue, _options.Stains ?? _options.Marker.Stains, chromogen, m.PositiveAreaPct, thresholds.Weak)
            : null;
        var result = new SlideResult
        {
            Slide = slidePath,
            Marker = _options.Marker.Id,
            Status = SlideResult.Ok,
            StainCheck = check?.Verdict ?? "",
            Warnings = string.Join("; ", Warnings(values, _options.Marker.Measures.Contains("positive_area") ? m.PositiveAreaPct : null, check)),
            Parameters = Fingerprint,
            WidthPx = level0.Width,
            HeightPx = level0.Height,
            Mpp = Math.Round((mppX.Value + mppY.Value) / 2, 6),
            Values = values,
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
                _options.Histogram ? totals.Sums.Histogram.ToArray() : null, _options.Histogram ? DabHistogram.BinWidth : 0,
                check?.Estimated is { } e ? [[e.Stain1.R, e.Stain1.G, e.Stain1.B], [e.Stain2.R, e.Stain2.G, e.Stain2.B]] : null,
                check?.ChromogenAngle, check?.CounterstainAngle, check?.PositiveChromogenP90, check?.CounterstainMedian, regions),
        };
        measured?.Invoke(new MeasuredSlide(slide, slidePath, tissue, model, _measures, objects, result, _options.Marker.Measures.Contains("positive_area")));
        return result;
    }

    /// <summary>Reasons to look at a row before trusting it: a stain mismatch, most of the tissue positive, fibres that cover little of it.</summary>
    /// <param name="positivePct">The % positive area when the model grades it (morphometry-only models colour-deconvolve too, but "positive" means nothing there).</param>
    private static IEnumerable<string> Warnings(IReadOnlyDictionary<string, double?> values, double? positivePct, StainCheckResult? check)
    {
        foreach (var reason in check?.Reasons ?? [])
            yield return reason;
        if (positivePct is > 50)
            yield return $"{positivePct:0}% of the tissue is positive: check the stain and thresholds";
        if (values.TryGetValue("fibre_area_pct", out var fibreArea) && fibreArea is < 50)
            yield return $"fibres cover only {fibreArea:0}% of the tissue: fibre segmentation may have failed (see the overlay)";
    }

    private SlideProvenance Provenance(string slidePath, string? sha256)
    {
        long? bytes = File.Exists(slidePath) ? new FileInfo(slidePath).Length : null;
        System.Text.Json.JsonElement? model = null;
        if (_options.Marker.Json.Length > 0)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(_options.Marker.Json);
            model = doc.RootElement.Clone();
        }
        return new SlideProvenance(_options.Run.ToolVersion, _options.Run.Started, _options.Run.CommandLine, bytes, sha256, model);
    }

    private static string? FileHash(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream)).ToLowerInvariant();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// The pixel model this run measures the slide with: the model's stains or `--stains`, the background (given,
    /// or the slide's glass), per-slide estimated vectors (`--stains auto`), the thresholds, the nucleus plane.
    /// `bench` measures with the same model.
    /// </summary>
    public PixelModel PixelModelFor(ISlide slide, TissueMask tissue, string slidePath)
    {
        var stains = _options.Stains ?? _options.Marker.Stains;
        if (_options.EstimateBackground && tissue.Glass is { } glass)
            stains = stains.WithBackground(glass);
        else if (_options.Background is { } background)
            stains = stains.WithBackground(background);
        int chromogen = _options.Stains is null ? _options.Marker.ChromogenIndex : 1;
        if (EstimatesStains(_options))
            stains = StainEstimation.OnSlide(slide, tissue, stains, slidePath);
        var t = _options.Thresholds ?? _options.Marker.Thresholds;
        return new PixelModel(stains, chromogen, t.Weak, t.Moderate, t.Strong, _options.Marker.DetectOnOdSum) { Histogram = _options.Histogram };
    }

    /// <summary>`--stains auto`, or a model that asks for per-slide stains and no `--stains` that overrides it.</summary>
    private static bool EstimatesStains(QuantifyOptions o) => o.EstimateStains || (o.Stains is null && o.Marker.EstimateStains);

    private MeasureSetup Setup(IMeasure measure, double mpp, int slideWidth, int slideHeight)
    {
        var t = _options.Thresholds ?? _options.Marker.Thresholds;
        return new MeasureSetup(measure.SectionName is { } s ? _settings[s] : null, _options.Marker.Compartment, t.Weak, t.Moderate, t.Strong,
            mpp, slideWidth, slideHeight, _options.Detections || _measures.Any(m => m.NeedsOutlines), _options.Marker.Measures);
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
        string message = e switch
        {
            SlideException => e.Message,
            // Raised by damaged structures that slipped past the readers' checks: say so, not the runtime's words.
            IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException or ArithmeticException or InvalidCastException or EndOfStreamException =>
                $"{slidePath}: the file is damaged or not what its header says ({e.GetType().Name})",
            _ => $"{slidePath}: {e.GetType().Name}: {e.Message}",
        };
        return message.Replace("\r", " ").Replace("\n", " ");
    }
}
