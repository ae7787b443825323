namespace HistoQuant.Pipeline;

/// <summary>
/// One row of results.csv / one record of results.json: a slide measured with one marker: the slide's facts,
/// the measures' values, and how it was measured. Column names carry their units. Error rows keep the slide and marker and say why in <see cref="Error"/>.
/// </summary>
public sealed record SlideResult
{
    public required string Slide { get; init; }
    public required string Marker { get; init; }
    public required string Status { get; init; }
    public string Error { get; init; } = "";
    public int? WidthPx { get; init; }
    public int? HeightPx { get; init; }
    public double? Mpp { get; init; }
    /// <summary>
    /// The measures' columns (<see cref="Measures.MeasureRegistry.Columns"/>) by name; a column the slide was not
    /// measured for is absent or null. Counts are whole numbers, calls 1 (yes) or 0 (no).
    /// </summary>
    public IReadOnlyDictionary<string, double?> Values { get; init; } = new Dictionary<string, double?>();

    /// <summary>A measure column's value, or null.</summary>
    public double? this[string column] => Values.TryGetValue(column, out var v) ? v : null;

    public string Device { get; init; } = "";
    public double Seconds { get; init; }

    /// <summary>The manifest's other columns (patient, timepoint, group...), carried into results.csv and results.json.</summary>
    public IReadOnlyDictionary<string, string>? Manifest { get; init; }

    /// <summary>Position of the slide in the batch as given (before --shard); `merge` restores this order.</summary>
    public int? InputOrder { get; init; }

    /// <summary>Fingerprint of everything that changes the numbers; a re-run skips rows whose fingerprint matches.</summary>
    public string Parameters { get; init; } = "";

    /// <summary>Facts for results.json only: format, stains, thresholds, tissue detection, tiles.</summary>
    public SlideDetails? Details { get; init; }

    public const string Ok = "ok";
    public const string Failed = "error";
}

public sealed record SlideDetails(
    string Format,
    string MppSource,
    string Stains,
    string Chromogen,
    double[][] StainVectors,
    double[] Background,
    double[] Thresholds,
    string TissueMode,
    double[]? GlassRgb,
    long TissuePixels,
    long TilesTotal,
    long TilesRead,
    int Levels,
    double? Magnification,
    // Tissue pixels by chromogen OD in bins of ChromogenHistogramBinOd (see Kernels.DabHistogram).
    long[]? ChromogenHistogram = null,
    double ChromogenHistogramBinOd = 0);
