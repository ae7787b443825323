using HistoQuant.Measures.Capillaries;

namespace HistoQuant.Measures.Cells;

/// <summary>The model's "cells" section: detection settings, and whether nuclei are found in the OD sum.</summary>
public sealed record CellSection(CellSettings Settings, bool DetectOnOdSum);

/// <summary>Cell detection and classification: counts, % positive, positive cells per mm², the cell H-score.</summary>
public sealed class CellsMeasure : IMeasure
{
    private static readonly string[] ClassNames = ["Negative", "1+", "2+", "3+"];
    // QuPath's class colours (Negative is its blue), for the GeoJSON.
    internal static readonly int[][] ClassColours = [[112, 112, 225], [255, 215, 0], [255, 128, 0], [200, 0, 0]];

    // On the overlay a negative cell is white with a dark rim: QuPath's blue sits unseen on hematoxylin-blue nuclei.
    private static readonly int[][] OverlayColours = [[255, 255, 255], [255, 215, 0], [255, 128, 0], [200, 0, 0]];

    public IReadOnlyList<(string Label, int[] Colour)> Legend { get; } =
        [("cell, negative", [255, 255, 255]), ("cell 1+", [255, 215, 0]), ("cell 2+", [255, 128, 0]), ("cell 3+", [200, 0, 0])];
    private static readonly string[] SectionKeys =
    [
        "detection", "nucleus_threshold", "smooth_sigma_um", "min_nucleus_area_um2", "max_nucleus_area_um2", "expansion_um",
        "pixel_size_um", "background_radius_um", "median_radius_um", "split_tolerance_um", "merge_ratio", "background_by_reconstruction", "dab_objects_without_nucleus", "qupath",
    ];

    public string Name => "cells";

    public IReadOnlyList<Column> Columns { get; } =
    [
        new("total_cells", ColumnKind.Count),
        new("positive_cells", ColumnKind.Count),
        new("positive_cells_pct", ColumnKind.Number) { Study = true },
        new("positive_cells_per_mm2", ColumnKind.Number, "0.###") { Study = true, PresenceBasis = true },
        new("cell_h_score", ColumnKind.Number) { Study = true },
    ];

    public IReadOnlyList<string> ModelNames { get; } = ["positive_cells"];

    public IReadOnlyList<string> Compartments { get; } = ["nucleus", "cytoplasm", "cell"];

    public string? SectionName => "cells";

    // Models without a "cells" section keep the first detector (their results must not move); a section opts in.
    public object? DefaultSettings { get; } = new CellSection(new CellSettings { Legacy = true }, false);

    public object? ParseSection(ModelSection section)
    {
        section.OnlyKeys(SectionKeys);
        var s = new CellSettings();
        if (section.Json.TryGetProperty("qupath", out var qupath))
        {
            // The QuPath object sets every detection and classification setting: nothing else may compete with it.
            if (section.Json.EnumerateObject().Count() > 1)
                throw section.Error($"\"{section.Name}.qupath\" sets every cell setting; remove the other keys of \"{section.Name}\" "
                    + $"({string.Join(", ", section.Json.EnumerateObject().Select(p => p.Name).Where(n => n != "qupath"))})");
            var (q, odSum) = QuPathParameters.Parse(new ModelSection(qupath, $"{section.Name}.qupath", section.Source), s);
            return new CellSection(q, odSum);
        }
        string detection = section.Choice("detection", "hematoxylin", "hematoxylin", "od-sum", "hematoxylin+dab");
        s = s with
        {
            NucleusThreshold = section.Get("nucleus_threshold", s.NucleusThreshold, 0.01, 3),
            SmoothSigmaMicrons = section.Get("smooth_sigma_um", s.SmoothSigmaMicrons, 0, 10),
            MinNucleusArea = section.Get("min_nucleus_area_um2", s.MinNucleusArea, 1, 10000),
            MaxNucleusArea = section.Get("max_nucleus_area_um2", s.MaxNucleusArea, 1, 10000),
            CellExpansionMicrons = section.Get("expansion_um", s.CellExpansionMicrons, 0, 50),
            DetectionMicronsPerPixel = section.Get("pixel_size_um", s.DetectionMicronsPerPixel, 0.1, 4),
            BackgroundRadiusMicrons = section.Get("background_radius_um", s.BackgroundRadiusMicrons, 0, 100),
            MedianRadiusMicrons = section.Get("median_radius_um", s.MedianRadiusMicrons, 0, 10),
            SplitToleranceMicrons = section.Json.TryGetProperty("split_tolerance_um", out _) ? section.Get("split_tolerance_um", 0, 0.01, 10) : s.SplitToleranceMicrons,
            StainedObjectsWithoutNucleus = QuPathParameters.Bool(section, "dab_objects_without_nucleus", s.StainedObjectsWithoutNucleus),
            DetectOnHematoxylinPlusDab = detection == "hematoxylin+dab",
            BackgroundByReconstruction = QuPathParameters.Bool(section, "background_by_reconstruction", s.BackgroundByReconstruction),
            MergeRatio = section.Json.TryGetProperty("merge_ratio", out _) ? section.Get("merge_ratio", 0, 0.1, 2) : s.MergeRatio,
        };
        if (s.MinNucleusArea > s.MaxNucleusArea)
            throw section.Error("cells.min_nucleus_area_um2 is larger than cells.max_nucleus_area_um2");
        return new CellSection(s, detection == "od-sum");
    }

    public string Fingerprint(object? settings) => ((CellSection)settings!).Settings.ToString();

    public bool IsWanted(MeasureRequest request) => request.ForceCells || request.Asks(this);

    /// <summary>
    /// The cell thresholds (1+, 2+, 3+): a "qupath" object's thresholdPositive1..3 (only the first, with
    /// singleThreshold), else the model's (and the command line's).
    /// </summary>
    public static (double Weak, double Moderate, double Strong) ClassThresholds(CellSettings settings, double weak, double moderate, double strong) =>
        settings.Thresholds is [var t1, var t2, var t3]
            ? settings.SingleThreshold ? (t1, double.PositiveInfinity, double.PositiveInfinity) : (t1, t2, t3)
            : (weak, moderate, strong);

    public IRegionDetector? CreateDetector(MeasureSetup setup)
    {
        var section = (CellSection)setup.Settings!;
        var settings = section.Settings;
        // Cells forced onto a model graded by another measure's compartment (e.g. `--cells` with mhc1's sarcolemma)
        // are classified by their whole-cell DAB; see the README. A "qupath" object names its own measurement.
        var measurement = settings.ThresholdMeasurement ?? new CellMeasurement(setup.Compartment switch
        {
            "nucleus" => CellCompartment.Nucleus,
            "cytoplasm" => CellCompartment.Cytoplasm,
            _ => CellCompartment.Cell,
        }, false);
        var (weak, moderate, strong) = ClassThresholds(settings, setup.Weak, setup.Moderate, setup.Strong);
        if (settings.Legacy)
        {
            var legacy = new LegacyCellDetector(settings, measurement.Compartment, weak, moderate, strong);
            return new Detector(settings, r => legacy.Detect(r.Counterstain, r.Chromogen, r.Width, r.Height, setup.Mpp, r.Owns, r.ToLevel0, setup.Outlines));
        }
        var detector = new CellDetector(settings, measurement, weak, moderate, strong);
        return new Detector(settings, r => detector.Detect(r.Counterstain, r.Chromogen, r.Width, r.Height, setup.Mpp, r.Owns, r.ToLevel0, setup.Outlines, section.DetectOnOdSum));
    }

    private sealed class Detector(CellSettings settings, Func<RegionPlanes, List<DetectedCell>> detect) : IRegionDetector
    {
        public double CoreMicrons => settings.CoreMicrons;
        public double MarginMicrons => settings.MarginMicrons;

        public IEnumerable<object> Detect(RegionPlanes region) => detect(region);
    }

    public void AfterDetection(SlideObjects objects, double mpp)
    {
        if (objects.Of<DetectedCell>(Name) is { } cells && objects.Of<DetectedCapillary>(CapillariesMeasure.MeasureName) is { } capillaries)
            objects[Name] = DetectedCapillary.CellsOffCapillaries(cells, capillaries, mpp);
    }

    public void Summarise(SlideSummary slide, IDictionary<string, double?> values)
    {
        var cells = slide.Objects.Of<DetectedCell>(Name) ?? [];
        var s = CellSummary.From(cells.ToList(), slide.TissueAreaMm2);
        values["total_cells"] = s.TotalCells;
        values["positive_cells"] = s.PositiveCells;
        values["positive_cells_pct"] = s.PositiveCellsPct;
        values["positive_cells_per_mm2"] = s.PositiveCellsPerMm2;
        values["cell_h_score"] = s.CellHScore;
    }

    public string? Headline => "positive_cells_per_mm2";

    /// <summary>GeoJSON class of chromogen objects that hold no detected nucleus (the macrophage rule).</summary>
    public const string NoNucleusClass = "DAB object without nucleus";

    private static readonly int[] NoNucleusColour = [160, 82, 45];

    /// <summary>
    /// Cells as QuPath writes them: objectType "cell", "geometry" the cell and "nucleusGeometry" its nucleus,
    /// classified Negative/1+/2+/3+ (Negative/Positive with a QuPath single threshold). Chromogen objects without a
    /// nucleus are detections of their own class, with their grade as a measurement.
    /// </summary>
    public IEnumerable<GeoFeature> Features(IReadOnlyList<object> objects) =>
        objects.Cast<DetectedCell>().Select(c => c.Legacy ? LegacyCell(c) : c.HasNucleus ? Cell(c) : NoNucleus(c));

    /// <summary>The first detector's format (models without a "cells" section): unchanged, so their files do not move.</summary>
    private static GeoFeature LegacyCell(DetectedCell c) => new("cell", c.Outline, c.X, c.Y, ClassNames[c.Class], ClassColours[c.Class], new()
    {
        ["Centroid X px"] = Math.Round(c.X, 2),
        ["Centroid Y px"] = Math.Round(c.Y, 2),
        ["Cell: Area µm^2"] = Math.Round(c.AreaMicrons2, 3),
        ["Nucleus: Area µm^2"] = Math.Round(c.NucleusAreaMicrons2, 3),
        ["Nucleus: DAB OD mean"] = Math.Round(c.NucleusDab, 5),
        ["Cytoplasm: DAB OD mean"] = Math.Round(c.CytoplasmDab, 5),
        ["Cell: DAB OD mean"] = Math.Round(c.CellDab, 5),
        ["Cell: DAB OD max"] = Math.Round(c.MaxDab, 5),
    });

    private static GeoFeature Cell(DetectedCell c)
    {
        var m = new Dictionary<string, double>
        {
            ["Centroid X px"] = Math.Round(c.X, 2),
            ["Centroid Y px"] = Math.Round(c.Y, 2),
            ["Cell: Area µm^2"] = Math.Round(c.AreaMicrons2, 3),
            ["Nucleus: Area µm^2"] = Math.Round(c.NucleusAreaMicrons2, 3),
            ["Nucleus: DAB OD mean"] = Math.Round(c.NucleusDab, 5),
            ["Nucleus: DAB OD max"] = Math.Round(c.NucleusMaxDab, 5),
            ["Cytoplasm: DAB OD mean"] = Math.Round(c.CytoplasmDab, 5),
            ["Cytoplasm: DAB OD max"] = Math.Round(c.CytoplasmMaxDab, 5),
            ["Cell: DAB OD mean"] = Math.Round(c.CellDab, 5),
            ["Cell: DAB OD max"] = Math.Round(c.MaxDab, 5),
        };
        if (!c.IncludeNucleus)
            foreach (var key in m.Keys.Where(k => k.StartsWith("Nucleus:")).ToList())
                m.Remove(key);
        string name = c.Class == 1 && c.SingleThreshold ? "Positive" : ClassNames[c.Class];
        return new GeoFeature("cell", c.Outline, c.X, c.Y, name, ClassColours[c.Class], m) { NucleusOutline = c.NucleusOutline };
    }

    private static GeoFeature NoNucleus(DetectedCell c) => new("detection", c.Outline, c.X, c.Y, NoNucleusClass, NoNucleusColour, new()
    {
        ["Centroid X px"] = Math.Round(c.X, 2),
        ["Centroid Y px"] = Math.Round(c.Y, 2),
        ["Area µm^2"] = Math.Round(c.AreaMicrons2, 3),
        ["DAB OD mean"] = Math.Round(c.CellDab, 5),
        ["DAB OD max"] = Math.Round(c.MaxDab, 5),
        ["DAB grade"] = c.Class,
    });

    // Cells are the smallest objects: drawn last, on top, as dots coloured by class.
    public int OverlayOrder => 2;

    public void Draw(OverlayCanvas canvas, IReadOnlyList<object> objects)
    {
        foreach (var c in objects.Cast<DetectedCell>())
        {
            OpenCvSharp.Cv2.Circle(canvas.Bgr, canvas.At(c.X, c.Y), canvas.MarkRadius, OverlayCanvas.Colour(OverlayColours[c.Class]), -1);
            OpenCvSharp.Cv2.Circle(canvas.Bgr, canvas.At(c.X, c.Y), canvas.MarkRadius, new OpenCvSharp.Scalar(40, 40, 40), 1, OpenCvSharp.LineTypes.AntiAlias);
        }
    }
}
