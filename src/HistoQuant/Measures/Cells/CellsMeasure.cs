using HistoQuant.Measures.Capillaries;

namespace HistoQuant.Measures.Cells;

/// <summary>The model's "cells" section: detection settings, and whether nuclei are found in the OD sum.</summary>
public sealed record CellSection(CellSettings Settings, bool DetectOnOdSum);

/// <summary>Cell detection and classification: counts, % positive, positive cells per mm², the cell H-score.</summary>
public sealed class CellsMeasure : IMeasure
{
    private static readonly string[] ClassNames = ["Negative", "1+", "2+", "3+"];
    internal static readonly int[][] ClassColours = [[112, 112, 225], [255, 215, 0], [255, 128, 0], [200, 0, 0]];
    private static readonly string[] SectionKeys = ["detection", "nucleus_threshold", "smooth_sigma_um", "min_nucleus_area_um2", "max_nucleus_area_um2", "expansion_um"];

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

    public object? DefaultSettings { get; } = new CellSection(new CellSettings(), false);

    public object? ParseSection(ModelSection section)
    {
        section.OnlyKeys(SectionKeys);
        string detection = section.Choice("detection", "hematoxylin", "hematoxylin", "od-sum");
        var s = ((CellSection)DefaultSettings!).Settings;
        s = s with
        {
            NucleusThreshold = section.Get("nucleus_threshold", s.NucleusThreshold, 0.01, 3),
            SmoothSigmaMicrons = section.Get("smooth_sigma_um", s.SmoothSigmaMicrons, 0, 10),
            MinNucleusArea = section.Get("min_nucleus_area_um2", s.MinNucleusArea, 1, 10000),
            MaxNucleusArea = section.Get("max_nucleus_area_um2", s.MaxNucleusArea, 1, 10000),
            CellExpansionMicrons = section.Get("expansion_um", s.CellExpansionMicrons, 0, 50),
        };
        if (s.MinNucleusArea > s.MaxNucleusArea)
            throw section.Error("cells.min_nucleus_area_um2 is larger than cells.max_nucleus_area_um2");
        return new CellSection(s, detection == "od-sum");
    }

    public string Fingerprint(object? settings) => ((CellSection)settings!).Settings.ToString();

    public bool IsWanted(MeasureRequest request) => request.ForceCells || request.Asks(this);

    public IRegionDetector? CreateDetector(MeasureSetup setup)
    {
        var settings = ((CellSection)setup.Settings!).Settings;
        // Cells forced onto a model graded by another measure's compartment (e.g. `--cells` with mhc1's sarcolemma)
        // are classified by their whole-cell DAB; see the README.
        var compartment = setup.Compartment switch
        {
            "nucleus" => CellCompartment.Nucleus,
            "cytoplasm" => CellCompartment.Cytoplasm,
            _ => CellCompartment.Cell,
        };
        return new Detector(new CellDetector(settings, compartment, setup.Weak, setup.Moderate, setup.Strong), settings, setup.Mpp, setup.Outlines);
    }

    private sealed class Detector(CellDetector detector, CellSettings settings, double mpp, bool outlines) : IRegionDetector
    {
        public double CoreMicrons => settings.CoreMicrons;
        public double MarginMicrons => settings.MarginMicrons;

        public IEnumerable<object> Detect(RegionPlanes region) =>
            detector.Detect(region.Counterstain, region.Chromogen, region.Width, region.Height, mpp, region.Owns, region.ToLevel0, outlines);
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

    public IEnumerable<GeoFeature> Features(IReadOnlyList<object> objects) =>
        objects.Cast<DetectedCell>().Select(c => new GeoFeature("cell", c.Outline, c.X, c.Y, ClassNames[c.Class], ClassColours[c.Class], new()
        {
            ["Centroid X px"] = Math.Round(c.X, 2),
            ["Centroid Y px"] = Math.Round(c.Y, 2),
            ["Cell: Area µm^2"] = Math.Round(c.AreaMicrons2, 3),
            ["Nucleus: Area µm^2"] = Math.Round(c.NucleusAreaMicrons2, 3),
            ["Nucleus: DAB OD mean"] = Math.Round(c.NucleusDab, 5),
            ["Cytoplasm: DAB OD mean"] = Math.Round(c.CytoplasmDab, 5),
            ["Cell: DAB OD mean"] = Math.Round(c.CellDab, 5),
            ["Cell: DAB OD max"] = Math.Round(c.MaxDab, 5),
        }));

    // Cells are the smallest objects: drawn last, on top, as dots coloured by class.
    public int OverlayOrder => 2;

    public void Draw(OverlayCanvas canvas, IReadOnlyList<object> objects)
    {
        foreach (var c in objects.Cast<DetectedCell>())
            OpenCvSharp.Cv2.Circle(canvas.Bgr, canvas.At(c.X, c.Y), canvas.MarkRadius, OverlayCanvas.Colour(ClassColours[c.Class]), -1);
    }
}
