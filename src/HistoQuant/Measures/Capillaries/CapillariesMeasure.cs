namespace HistoQuant.Measures.Capillaries;

/// <summary>Capillary-like DAB objects (endothelium, e.g. IL-1α) and their density per mm² of tissue.</summary>
public sealed class CapillariesMeasure : IMeasure
{
    public const string MeasureName = "capillaries";
    private static readonly int[] Colour = [0, 160, 255];

    public string Name => MeasureName;

    public IReadOnlyList<Column> Columns { get; } =
    [
        new("capillaries", ColumnKind.Count),
        new("capillaries_per_mm2", ColumnKind.Number, "0.###") { Study = true, PresenceBasis = true },
    ];

    public IReadOnlyList<string> ModelNames { get; } = ["capillaries"];

    public string? SectionName => "capillaries";

    public object? DefaultSettings { get; } = new CapillarySettings();

    public object? ParseSection(ModelSection s)
    {
        s.OnlyKeys("min_area_um2", "max_area_um2", "min_elongation", "min_lumen_um2", "max_lumen_counterstain");
        var d = (CapillarySettings)DefaultSettings!;
        var c = d with
        {
            MinAreaMicrons2 = s.Get("min_area_um2", d.MinAreaMicrons2, 1, 10000),
            MaxAreaMicrons2 = s.Get("max_area_um2", d.MaxAreaMicrons2, 1, 10000),
            MinElongation = s.Get("min_elongation", d.MinElongation, 1, 100),
            MinLumenMicrons2 = s.Get("min_lumen_um2", d.MinLumenMicrons2, 0.25, 1000),
            MaxLumenCounterstain = s.Get("max_lumen_counterstain", d.MaxLumenCounterstain, 0, 3),
        };
        if (c.MinAreaMicrons2 > c.MaxAreaMicrons2)
            throw s.Error("capillaries.min_area_um2 is larger than capillaries.max_area_um2");
        return c;
    }

    public bool IsWanted(MeasureRequest request) => request.Asks(this);

    public IRegionDetector? CreateDetector(MeasureSetup setup) => new Detector(new CapillaryDetector((CapillarySettings)setup.Settings!, setup.Weak, setup.Outlines), setup.Mpp);

    private sealed class Detector(CapillaryDetector detector, double mpp) : IRegionDetector
    {
        public double CoreMicrons => detector.Settings.CoreMicrons;
        public double MarginMicrons => detector.Settings.MarginMicrons;
        public IEnumerable<object> Detect(RegionPlanes region) => detector.Detect(region, mpp);
    }

    public void Summarise(SlideSummary slide, IDictionary<string, double?> values)
    {
        int count = slide.Objects[Name]?.Count ?? 0;
        values["capillaries"] = count;
        values["capillaries_per_mm2"] = slide.PerMm2(count);
    }

    public string? Headline => "capillaries_per_mm2";

    public IEnumerable<GeoFeature> Features(IReadOnlyList<object> objects) =>
        objects.Cast<DetectedCapillary>().Select(v => new GeoFeature("detection", v.Outline, v.X, v.Y, v.Ring ? "Capillary (ring)" : "Capillary (elongated)", Colour, new()
        {
            ["Centroid X px"] = Math.Round(v.X, 2),
            ["Centroid Y px"] = Math.Round(v.Y, 2),
            ["Area µm^2"] = Math.Round(v.AreaMicrons2, 3),
            ["Elongation"] = Math.Round(v.Elongation, 3),
            ["Lumen µm^2"] = Math.Round(v.LumenMicrons2, 3),
            ["DAB OD mean"] = Math.Round(v.MeanDab, 5),
        }));

    public int OverlayOrder => 1;

    public IReadOnlyList<(string Label, int[] Colour)> Legend { get; } = [("capillary", Colour)];

    public void Draw(OverlayCanvas canvas, IReadOnlyList<object> objects)
    {
        foreach (var v in objects.Cast<DetectedCapillary>())
            OpenCvSharp.Cv2.Circle(canvas.Bgr, canvas.At(v.X, v.Y), canvas.MarkRadius + 1, OverlayCanvas.Colour(Colour), 1, OpenCvSharp.LineTypes.AntiAlias);
    }
}
