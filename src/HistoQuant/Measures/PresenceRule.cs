namespace HistoQuant.Measures;

/// <summary>
/// A present/absent call per slide (the marker model's "presence" section): present when the named
/// per-slide measure is at least the declared threshold. IL-1Ra was reported as present or absent per biopsy.
/// </summary>
public sealed record PresenceRule(string Measure, double AtLeast)
{
    /// <summary>Measures a call can be based on (results.csv column names).</summary>
    public static readonly string[] Measures = ["positive_area_pct", "h_score", "positive_cells_per_mm2", "capillaries_per_mm2"];

    /// <summary>True/false, or null when the slide has no value for the measure.</summary>
    public bool? Call(Func<string, double?> valueOf) => valueOf(Measure) is { } v ? v >= AtLeast : null;
}
