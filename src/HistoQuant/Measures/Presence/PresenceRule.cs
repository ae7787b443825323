namespace HistoQuant.Measures.Presence;

/// <summary>
/// A present/absent call per slide (the marker model's "presence" section): present when the named
/// per-slide column (one marked <see cref="Column.PresenceBasis"/>) is at least the declared threshold. IL-1Ra was reported as present or absent per biopsy.
/// </summary>
public sealed record PresenceRule(string Measure, double AtLeast)
{
    /// <summary>True/false, or null when the slide has no value for the measure.</summary>
    public bool? Call(Func<string, double?> valueOf) => valueOf(Measure) is { } v ? v >= AtLeast : null;
}
