using System.Globalization;

namespace HistoQuant.Measures;

public enum ColumnKind
{
    /// <summary>A whole number (cells, fibres, a grade).</summary>
    Count,
    /// <summary>A real number; results.csv rounds it with the column's format, results.json keeps it whole.</summary>
    Number,
    /// <summary>A call: 1 is "yes", 0 is "no", empty when not made.</summary>
    YesNo,
}

/// <summary>
/// One per-slide column a measure adds to results.csv and results.json. The name carries the unit
/// (`_mm2`, `_pct`, `_um`); the flags say which study tools read it.
/// </summary>
public sealed record Column(string Name, ColumnKind Kind, string CsvFormat = "0.####")
{
    /// <summary>`compare` tests it between timepoints and groups; `validate` may compare it with manual scores.</summary>
    public bool Study { get; init; }

    /// <summary>An ordinal grade or call: agreement with manual scores is also Cohen's κ.</summary>
    public bool Ordinal { get; init; }

    /// <summary>A marker model's presence rule may be based on it.</summary>
    public bool PresenceBasis { get; init; }

    public string ToCsv(double? value) => value is not { } v ? "" : Kind switch
    {
        ColumnKind.YesNo => v != 0 ? "yes" : "no",
        ColumnKind.Count => ((long)v).ToString(CultureInfo.InvariantCulture),
        _ => v.ToString(CsvFormat, CultureInfo.InvariantCulture),
    };

    /// <summary>The value of a results cell ("yes"/"no" for calls), or null when empty or not a number.</summary>
    public double? Parse(string text) => Kind == ColumnKind.YesNo
        ? text.Trim().ToLowerInvariant() switch { "yes" => 1, "no" => 0, _ => null }
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;
}
