namespace HistoQuant.Study;

/// <summary>The per-slide measures (results.csv columns) that study comparisons and validation work on.</summary>
public static class StudyMeasures
{
    public static readonly string[] Numeric =
    [
        "positive_area_pct", "h_score", "mean_dab_od", "positive_cells_per_mm2", "positive_cells_pct", "cell_h_score",
        "positive_fibres_pct", "sarcoplasmic_fibres_pct", "mhc1_grade", "capillaries_per_mm2",
    ];

    /// <summary>Measures that are ordinal grades: agreement on them is Cohen's κ, not only correlation.</summary>
    public static readonly string[] Ordinal = ["mhc1_grade", "present"];

    /// <summary>A results cell as a number; the present call is 1 for yes and 0 for no.</summary>
    public static double? Value(CsvRow row, string measure) =>
        measure == "present" ? row["present"].ToLowerInvariant() switch { "yes" => 1, "no" => 0, _ => null } : row.Number(measure);
}
