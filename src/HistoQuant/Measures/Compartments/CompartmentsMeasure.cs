using HistoQuant.Kernels;
using HistoQuant.Measures.Cells;
using HistoQuant.Measures.Fibres;

namespace HistoQuant.Measures.Compartments;

/// <summary>
/// Where the pathology is: fascicles, endomysium, perimysium and perivascular zones from the fibre map and vessel
/// lumina; positive cells per mm² of each compartment and those invading fibres; the perifascicular pattern (MHC
/// class I and fibre size in the outer fibre layers of each fascicle against its centre). Needs fibres in the same
/// run (a model listing "compartments" with "positive_fibres" or "fibre_morphometry"), and cells for the cell columns.
/// </summary>
public sealed class CompartmentsMeasure : IMeasure
{
    public const string MeasureName = "compartments";
    private static readonly int[] FascicleColour = [255, 215, 0], PerimysiumColour = [150, 90, 200], PerivascularColour = [255, 60, 60],
        VesselColour = [200, 0, 0], PerifascicularColour = [0, 110, 255];

    public string Name => MeasureName;

    public IReadOnlyList<Column> Columns { get; } =
    [
        new("fascicles", ColumnKind.Count),
        new("fascicle_area_pct", ColumnKind.Number, "0.##"),
        new("perimysium_area_pct", ColumnKind.Number, "0.##"),
        new("perivascular_area_pct", ColumnKind.Number, "0.##"),
        new("vessels", ColumnKind.Count),
        new("positive_cells_per_mm2_endomysial", ColumnKind.Number, "0.###") { Study = true },
        new("positive_cells_per_mm2_perimysial", ColumnKind.Number, "0.###") { Study = true },
        new("positive_cells_per_mm2_perivascular", ColumnKind.Number, "0.###") { Study = true },
        new("positive_cells_invading", ColumnKind.Count) { Study = true },
        new("positive_fibres_pct_perifascicular", ColumnKind.Number) { Study = true },
        new("positive_fibres_pct_central", ColumnKind.Number) { Study = true },
        new("positive_fibres_perifascicular_excess_pct", ColumnKind.Number) { Study = true },
        new("fibre_min_feret_median_um_perifascicular", ColumnKind.Number, "0.##") { Study = true },
        new("fibre_min_feret_median_um_central", ColumnKind.Number, "0.##") { Study = true },
        new("fibre_min_feret_perifascicular_ratio", ColumnKind.Number, "0.###") { Study = true },
    ];

    public IReadOnlyList<string> ModelNames { get; } = ["compartments"];

    public string? SectionName => "compartments";

    public object? DefaultSettings { get; } = new CompartmentSettings();

    public object? ParseSection(ModelSection s)
    {
        s.OnlyKeys("fascicle_gap_um", "fill_holes_um2", "min_fascicle_fibres", "perivascular_um", "min_lumen_um2", "max_lumen_um2", "lumen_fraction", "min_lumen_solidity",
            "wall_fraction", "max_wall_fibre_fraction", "invading_um", "perifascicular_layers", "um_per_px");
        var d = (CompartmentSettings)DefaultSettings!;
        var c = d with
        {
            FascicleGapMicrons = s.Get("fascicle_gap_um", d.FascicleGapMicrons, 4, 500),
            FillHolesMicrons2 = s.Get("fill_holes_um2", d.FillHolesMicrons2, 0, 1e6),
            MinFascicleFibres = (int)s.Get("min_fascicle_fibres", d.MinFascicleFibres, 1, 1000),
            PerivascularMicrons = s.Get("perivascular_um", d.PerivascularMicrons, 1, 500),
            MinLumenMicrons2 = s.Get("min_lumen_um2", d.MinLumenMicrons2, 10, 1e6),
            MaxLumenMicrons2 = s.Get("max_lumen_um2", d.MaxLumenMicrons2, 10, 1e6),
            LumenFraction = s.Get("lumen_fraction", d.LumenFraction, 0.01, 1),
            MinLumenSolidity = s.Get("min_lumen_solidity", d.MinLumenSolidity, 0, 1),
            WallFraction = s.Get("wall_fraction", d.WallFraction, 0, 5),
            MaxWallFibreFraction = s.Get("max_wall_fibre_fraction", d.MaxWallFibreFraction, 0, 1),
            InvadingMicrons = s.Get("invading_um", d.InvadingMicrons, 0, 50),
            PerifascicularLayers = (int)s.Get("perifascicular_layers", d.PerifascicularLayers, 1, 20),
            MapMicronsPerPixel = s.Get("um_per_px", d.MapMicronsPerPixel, 0.5, 20),
        };
        if (c.MinLumenMicrons2 > c.MaxLumenMicrons2)
            throw s.Error("compartments.min_lumen_um2 is larger than compartments.max_lumen_um2");
        // The region margin must hold the largest lumen and its wall whole.
        return c with { MarginMicrons = Math.Max(c.MarginMicrons, Math.Sqrt(c.MaxLumenMicrons2 / Math.PI) + 20) };
    }

    public bool IsWanted(MeasureRequest request) => request.Asks(this);

    public string? Unmet(IReadOnlyCollection<string> modelMeasures) =>
        modelMeasures.Contains("positive_fibres") || modelMeasures.Contains("fibre_morphometry") ? null
        : "\"compartments\" are built on the fibres: add \"fibre_morphometry\" (or \"positive_fibres\") to \"measures\"";

    public bool NeedsOutlines => true;

    public IRegionDetector? CreateDetector(MeasureSetup setup) => new Detector(new VesselDetector((CompartmentSettings)setup.Settings!), setup.Mpp);

    private sealed class Detector(VesselDetector detector, double mpp) : IRegionDetector
    {
        public double CoreMicrons => detector.Settings.CoreMicrons;
        public double MarginMicrons => detector.Settings.MarginMicrons;
        public IEnumerable<object> Detect(RegionPlanes region) => detector.Detect(region, mpp);
    }

    public void AfterDetection(SlideObjects objects, double mpp, TissueMask tissue, IReadOnlyDictionary<string, object?> settings)
    {
        if (objects[Name] is not { } candidates)
            return;
        var s = settings.GetValueOrDefault(SectionName!) as CompartmentSettings ?? (CompartmentSettings)DefaultSettings!;
        var fibres = objects.Of<DetectedFibre>("fibres");
        objects[Name] = [fibres is null ? CompartmentResult.Empty
            : CompartmentMap.Build(fibres, objects.Of<DetectedCell>("cells"), candidates.OfType<DetectedVessel>().ToList(), tissue, mpp, s)];
    }

    public void Summarise(SlideSummary slide, IDictionary<string, double?> values)
    {
        var r = slide.Objects.Of<CompartmentResult>(Name)?.FirstOrDefault();
        if (r is null || slide.Objects["fibres"] is null)
            return;
        var s = slide.Settings.GetValueOrDefault(SectionName!) as CompartmentSettings ?? (CompartmentSettings)DefaultSettings!;
        double total = r.FascicleAreaMm2 + r.PerimysiumAreaMm2 + r.PerivascularAreaMm2;
        double? Pct(double a) => total > 0 ? 100 * a / total : null;
        values["fascicles"] = r.Fascicles;
        values["fascicle_area_pct"] = Pct(r.FascicleAreaMm2);
        values["perimysium_area_pct"] = Pct(r.PerimysiumAreaMm2);
        values["perivascular_area_pct"] = Pct(r.PerivascularAreaMm2);
        values["vessels"] = r.Vessels.Count;
        if (slide.Objects["cells"] is not null)
        {
            double? Density(CellPlace p, double area) => area > 0 ? r.PositiveCells.GetValueOrDefault(p) / area : null;
            values["positive_cells_per_mm2_endomysial"] = Density(CellPlace.Endomysial, r.FascicleAreaMm2);
            values["positive_cells_per_mm2_perimysial"] = Density(CellPlace.Perimysial, r.PerimysiumAreaMm2);
            values["positive_cells_per_mm2_perivascular"] = Density(CellPlace.Perivascular, r.PerivascularAreaMm2);
            values["positive_cells_invading"] = r.PositiveCells.GetValueOrDefault(CellPlace.Invading);
        }
        var pattern = PerifascicularPattern.From(r.Fibres, s.PerifascicularLayers);
        values["positive_fibres_pct_perifascicular"] = pattern.PositivePctPerifascicular;
        values["positive_fibres_pct_central"] = pattern.PositivePctCentral;
        values["positive_fibres_perifascicular_excess_pct"] = pattern.PositivePctPerifascicular - pattern.PositivePctCentral;
        values["fibre_min_feret_median_um_perifascicular"] = pattern.MinFeretPerifascicular;
        values["fibre_min_feret_median_um_central"] = pattern.MinFeretCentral;
        values["fibre_min_feret_perifascicular_ratio"] = pattern.MinFeretPerifascicular / pattern.MinFeretCentral;
    }

    public string? Headline => null;

    public IEnumerable<GeoFeature> Features(IReadOnlyList<object> objects)
    {
        foreach (var r in objects.OfType<CompartmentResult>())
        {
            foreach (var f in r.FascicleOutlines)
                yield return new GeoFeature("annotation", f.Outline, f.X, f.Y, "Fascicle", FascicleColour, new()
                {
                    ["Area µm^2"] = Math.Round(f.AreaMicrons2, 1),
                    ["Fibres"] = f.Fibres,
                });
            foreach (var v in r.Vessels)
                yield return new GeoFeature("detection", v.Outline, v.X, v.Y, "Vessel lumen", VesselColour, new()
                {
                    ["Centroid X px"] = Math.Round(v.X, 2),
                    ["Centroid Y px"] = Math.Round(v.Y, 2),
                    ["Lumen: Area µm^2"] = Math.Round(v.LumenMicrons2, 2),
                    ["Wall: OD sum mean"] = Math.Round(v.WallOd, 4),
                });
            // Each fibre's depth, as a point on its centroid (the fibre itself is the fibres measure's detection).
            foreach (var d in r.Fibres.Where(d => d.Depth is not null))
                yield return new GeoFeature("detection", null, d.Fibre.X, d.Fibre.Y, d.Depth <= r.Layers ? "Fibre: Perifascicular" : "Fibre: Central",
                    d.Depth <= r.Layers ? PerifascicularColour : FascicleColour, new()
                    {
                        ["Centroid X px"] = Math.Round(d.Fibre.X, 2),
                        ["Centroid Y px"] = Math.Round(d.Fibre.Y, 2),
                        ["Fascicle depth (fibre layers)"] = d.Depth!.Value,
                    });
        }
    }

    // Compartments are tinted under every other mark.
    public int OverlayOrder => -1;

    public IReadOnlyList<(string Label, int[] Colour)> Legend { get; } =
    [
        ("fascicle border", FascicleColour), ("perimysium (tinted)", PerimysiumColour), ("perivascular zone", PerivascularColour),
        ("vessel lumen", VesselColour), ("perifascicular fibre", PerifascicularColour),
    ];

    public void Draw(OverlayCanvas canvas, IReadOnlyList<object> objects)
    {
        foreach (var r in objects.OfType<CompartmentResult>())
            CompartmentOverlay.Draw(canvas, r, FascicleColour, PerimysiumColour, PerivascularColour, VesselColour, PerifascicularColour);
    }
}
