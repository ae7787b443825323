namespace HistoQuant.Measures.Fibres;

/// <summary>
/// Muscle fibre segmentation from morphology, fibre morphometry (area, minimal Feret, internal nuclei) and, for models
/// that list positive_fibres, MHC class I scoring: % sarcolemmal / sarcoplasmic positive fibres and the grade.
/// fibre_morphometry alone (muscle-he) segments and measures fibres without grading any chromogen on them.
/// </summary>
public sealed class FibresMeasure : IMeasure
{
    public string Name => "fibres";

    public IReadOnlyList<Column> Columns { get; } =
    [
        new("fibres", ColumnKind.Count),
        new("fibre_area_pct", ColumnKind.Number, "0.##"),
        new("fibre_area_median_um2", ColumnKind.Number, "0.#") { Study = true },
        new("fibre_min_feret_median_um", ColumnKind.Number, "0.##") { Study = true },
        new("fibre_min_feret_cv", ColumnKind.Number, "0.####") { Study = true },
        new("central_nuclei_fibres_pct", ColumnKind.Number) { Study = true },
        new("positive_fibres_pct", ColumnKind.Number) { Study = true },
        new("sarcoplasmic_fibres_pct", ColumnKind.Number) { Study = true },
        new("mhc1_grade", ColumnKind.Count) { Study = true, Ordinal = true },
    ];

    public IReadOnlyList<string> ModelNames { get; } = ["positive_fibres", "fibre_morphometry"];

    public IReadOnlyList<string> Compartments { get; } = ["sarcolemma"];

    public string? SectionName => "fibres";

    public object? DefaultSettings { get; } = new FibreSettings();

    public object? ParseSection(ModelSection s)
    {
        s.OnlyKeys("min_area_um2", "max_area_um2", "min_solidity", "band_um", "ring_fraction", "gap_fraction", "valley_contrast", "ridge_contrast",
            "line_um", "valley_um", "dark_line_um", "valley_curvature", "ridge_curvature", "line_contrast", "min_line_um2", "seed_dynamic_um", "seed_dynamic_fraction", "smooth_um", "marker_depth_um", "nucleus_od", "internal_nucleus_um", "smooth_sigma_um", "um_per_px", "own_level_fraction", "faint_split_factor", "nucleus_line_um2", "neck_ratio");
        var d = (FibreSettings)DefaultSettings!;
        var f = d with
        {
            MinAreaMicrons2 = s.Get("min_area_um2", d.MinAreaMicrons2, 10, 1e6),
            MaxAreaMicrons2 = s.Get("max_area_um2", d.MaxAreaMicrons2, 10, 1e6),
            MinSolidity = s.Get("min_solidity", d.MinSolidity, 0, 1),
            BandMicrons = s.Get("band_um", d.BandMicrons, 0.5, 20),
            RingFraction = s.Get("ring_fraction", d.RingFraction, 0.01, 1),
            GapFraction = s.Get("gap_fraction", d.GapFraction, 0.05, 1),
            ValleyContrast = s.Get("valley_contrast", d.ValleyContrast, 0, 0.9),
            RidgeContrast = s.Get("ridge_contrast", d.RidgeContrast, 0, 5),
            // valley_um: the earlier name of line_um, still read.
            LineMicrons = s.Get("line_um", s.Get("valley_um", d.LineMicrons, 0.5, 20), 0.5, 20),
            DarkLineMicrons = s.Get("dark_line_um", d.DarkLineMicrons, 0.5, 20),
            ValleyCurvature = s.Get("valley_curvature", d.ValleyCurvature, 0, 10),
            RidgeCurvature = s.Get("ridge_curvature", d.RidgeCurvature, 0, 10),
            LineContrast = s.Get("line_contrast", d.LineContrast, 0, 1),
            FaintSplitFactor = s.Get("faint_split_factor", d.FaintSplitFactor, 0, 1),
            MinLineMicrons2 = s.Get("min_line_um2", d.MinLineMicrons2, 0, 1000),
            NucleusLineMicrons2 = s.Get("nucleus_line_um2", d.NucleusLineMicrons2, 0, 10000),
            NeckRatio = s.Get("neck_ratio", d.NeckRatio, 0, 20),
            SeedDynamicMicrons = s.Get("seed_dynamic_um", d.SeedDynamicMicrons, 0.1, 50),
            SeedDynamicFraction = s.Get("seed_dynamic_fraction", d.SeedDynamicFraction, 0, 1),
            SmoothMicrons = s.Get("smooth_um", d.SmoothMicrons, 0, 20),
            OwnLevelFraction = s.Get("own_level_fraction", d.OwnLevelFraction, 0, 0.95),
            MarkerDepthMicrons = s.Get("marker_depth_um", d.MarkerDepthMicrons, 1, 50),
            NucleusOd = s.Get("nucleus_od", d.NucleusOd, 0.01, 3),
            InternalNucleusMicrons = s.Get("internal_nucleus_um", d.InternalNucleusMicrons, 0.5, 50),
            DetectionMicronsPerPixel = s.Get("um_per_px", d.DetectionMicronsPerPixel, 0.1, 4),
            SmoothSigmaMicrons = s.Get("smooth_sigma_um", d.SmoothSigmaMicrons, 0, 10),
        };
        if (f.MinAreaMicrons2 > f.MaxAreaMicrons2)
            throw s.Error("fibres.min_area_um2 is larger than fibres.max_area_um2");
        // The region margin must hold the largest fibre whole.
        return f with { MarginMicrons = Math.Max(f.MarginMicrons, Math.Sqrt(f.MaxAreaMicrons2 / Math.PI) * 1.2) };
    }

    public bool IsWanted(MeasureRequest request) => request.Asks(this);

    public IRegionDetector? CreateDetector(MeasureSetup setup) =>
        new Detector(new FibreDetector((FibreSettings)setup.Settings!, setup.Weak, score: setup.ModelMeasures?.Contains("positive_fibres") ?? true), setup);

    private sealed class Detector(FibreDetector detector, MeasureSetup setup) : IRegionDetector
    {
        public double CoreMicrons => detector.Settings.CoreMicrons;
        public double MarginMicrons => detector.Settings.MarginMicrons;

        public IEnumerable<object> Detect(RegionPlanes region) =>
            detector.Detect(region, setup.Mpp, setup.SlideWidth, setup.SlideHeight, setup.Outlines);
    }

    public void Summarise(SlideSummary slide, IDictionary<string, double?> values)
    {
        var s = FibreSummary.From((slide.Objects.Of<DetectedFibre>(Name) ?? []).ToList(), slide.TissueAreaMm2);
        values["fibres"] = s.Fibres;
        values["fibre_area_pct"] = s.FibreAreaPct;
        values["fibre_area_median_um2"] = s.AreaMedianMicrons2;
        values["fibre_min_feret_median_um"] = s.MinFeretMedianMicrons;
        values["fibre_min_feret_cv"] = s.MinFeretCv;
        values["central_nuclei_fibres_pct"] = s.CentralNucleiFibresPct;
        values["positive_fibres_pct"] = s.PositiveFibresPct;
        values["sarcoplasmic_fibres_pct"] = s.SarcoplasmicFibresPct;
        values["mhc1_grade"] = s.Grade;
    }

    public string? Headline => "positive_fibres_pct";

    /// <summary>QuPath-style classes: "Fibre: Sarcoplasmic" (diffuse sarcoplasmic stain, usually with the ring),
    /// "Fibre: Sarcolemmal" (ring only), "Fibre: Negative"; "Fibre" on models that do not grade fibres.</summary>
    private static (string Name, int[] Colour) ClassOf(DetectedFibre f) =>
        !f.Scored ? ("Fibre", [0, 170, 0])
        : f.Sarcoplasmic ? ("Fibre: Sarcoplasmic", [255, 128, 0])
        : f.Sarcolemmal ? ("Fibre: Sarcolemmal", [200, 0, 0])
        : ("Fibre: Negative", [0, 170, 0]);

    public IReadOnlyList<(string Label, int[] Colour)> Legend { get; } =
        [("fibre, negative / ungraded", [0, 170, 0]), ("fibre, sarcolemmal", [200, 0, 0]), ("fibre, sarcoplasmic", [255, 128, 0])];

    public IEnumerable<GeoFeature> Features(IReadOnlyList<object> objects) =>
        objects.Cast<DetectedFibre>().Select(f =>
        {
            var (name, colour) = ClassOf(f);
            var m = new Dictionary<string, double>
            {
                ["Centroid X px"] = Math.Round(f.X, 2),
                ["Centroid Y px"] = Math.Round(f.Y, 2),
                ["Fibre: Area µm^2"] = Math.Round(f.AreaMicrons2, 3),
                ["Fibre: Min Feret µm"] = Math.Round(f.MinFeretMicrons, 3),
                ["Fibre: Solidity"] = Math.Round(f.Solidity, 4),
                ["Fibre: Internal nucleus"] = f.InternalNucleus ? 1 : 0,
            };
            if (f.Scored)
            {
                m["Sarcolemma: DAB OD mean"] = Math.Round(f.BandDab, 5);
                m["Sarcolemma: DAB positive fraction"] = Math.Round(f.BandPositiveFraction, 4);
                m["Sarcoplasm: DAB OD mean"] = Math.Round(f.SarcoplasmDab, 5);
            }
            return new GeoFeature("detection", f.Outline, f.X, f.Y, name, colour, m);
        });

    // Fibres are the largest objects: their outlines go under everything else.
    public int OverlayOrder => 0;

    public void Draw(OverlayCanvas canvas, IReadOnlyList<object> objects)
    {
        foreach (var f in objects.Cast<DetectedFibre>())
        {
            if (f.Outline is not { Count: >= 3 } outline)
                continue;
            var points = outline.Select(p => canvas.At(p.X, p.Y)).ToArray();
            OpenCvSharp.Cv2.Polylines(canvas.Bgr, [points], true, OverlayCanvas.Colour(ClassOf(f).Colour), 1, OpenCvSharp.LineTypes.AntiAlias);
        }
    }
}
