using HistoQuant.Measures;

namespace HistoQuant.Study;

/// <summary>The per-slide measures (results.csv columns) that study comparisons and validation work on, from the registry.</summary>
public static class StudyMeasures
{
    public static readonly string[] Numeric = MeasureRegistry.Columns.Where(c => c.Study).Select(c => c.Name).ToArray();

    /// <summary>Measures that are ordinal grades or calls: agreement on them is Cohen's κ, not only correlation.</summary>
    public static readonly string[] Ordinal = MeasureRegistry.Columns.Where(c => c.Ordinal).Select(c => c.Name).ToArray();

    /// <summary>A results cell as a number; a call is 1 for yes and 0 for no.</summary>
    public static double? Value(CsvRow row, string measure) =>
        MeasureRegistry.Column(measure) is { Kind: ColumnKind.YesNo } call ? call.Parse(row[measure]) : row.Number(measure);
}
