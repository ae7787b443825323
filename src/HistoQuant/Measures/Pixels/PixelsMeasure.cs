namespace HistoQuant.Measures.Pixels;

/// <summary>Tissue area, % positive area, intensity grades and the pixel H-score (every model has them).</summary>
public sealed class PixelsMeasure : IMeasure
{
    public string Name => "pixels";

    public IReadOnlyList<Column> Columns { get; } =
    [
        new("tissue_area_mm2", ColumnKind.Number, "0.######"),
        new("positive_area_pct", ColumnKind.Number) { Study = true, PresenceBasis = true },
        new("weak_pct", ColumnKind.Number),
        new("moderate_pct", ColumnKind.Number),
        new("strong_pct", ColumnKind.Number),
        new("h_score", ColumnKind.Number) { Study = true, PresenceBasis = true },
        new("mean_dab_od", ColumnKind.Number, "0.######") { Study = true },
    ];

    public IReadOnlyList<string> ModelNames { get; } = ["positive_area", "intensity_grades"];

    public IReadOnlyList<string> Compartments { get; } = ["any"];

    public bool IsWanted(MeasureRequest request) => true;

    public void Summarise(SlideSummary slide, IDictionary<string, double?> values)
    {
        var m = slide.Pixels;
        values["tissue_area_mm2"] = m.TissueAreaMm2;
        values["positive_area_pct"] = m.PositiveAreaPct;
        values["weak_pct"] = m.WeakPct;
        values["moderate_pct"] = m.ModeratePct;
        values["strong_pct"] = m.StrongPct;
        values["h_score"] = m.HScore;
        values["mean_dab_od"] = m.MeanChromogenOd;
    }
}
