namespace HistoQuant.Measures.Compartments;

/// <summary>
/// The perifascicular pattern: fibres in the first <c>layers</c> fibre layers of their fascicle (depth 1..layers)
/// against the deeper (central) ones: % sarcolemmal-positive fibres (only when the model grades fibres) and the median
/// minimal Feret diameter of whole fibres. Fibres without a depth (outside fascicles, or in a fascicle the section
/// shows no perimysial border of) are in neither group.
/// </summary>
public sealed record PerifascicularPattern(int Perifascicular, int Central, double? PositivePctPerifascicular, double? PositivePctCentral,
    double? MinFeretPerifascicular, double? MinFeretCentral)
{
    public static PerifascicularPattern From(IReadOnlyList<FibreDepth> fibres, int layers)
    {
        var outer = fibres.Where(f => f.Depth is { } d && d <= layers).Select(f => f.Fibre).ToList();
        var inner = fibres.Where(f => f.Depth is { } d && d > layers).Select(f => f.Fibre).ToList();
        bool scored = fibres.Any(f => f.Fibre.Scored);
        double? Positive(List<Fibres.DetectedFibre> g) => scored && g.Count > 0 ? 100.0 * g.Count(f => f.Sarcolemmal) / g.Count : null;
        return new PerifascicularPattern(outer.Count, inner.Count, Positive(outer), Positive(inner),
            Median(outer.Where(f => f.Whole).Select(f => f.MinFeretMicrons)), Median(inner.Where(f => f.Whole).Select(f => f.MinFeretMicrons)));
    }

    internal static double? Median(IEnumerable<double> values)
    {
        var v = values.Order().ToList();
        return v.Count == 0 ? null : v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
    }
}
