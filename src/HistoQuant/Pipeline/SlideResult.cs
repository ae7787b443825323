namespace HistoQuant.Pipeline;

/// <summary>
/// One row of results.csv / one record of results.json: a slide measured with one marker: the slide's facts,
/// the measures' values, and how it was measured. Column names carry their units. Error rows keep the slide and marker and say why in <see cref="Error"/>.
/// </summary>
public sealed record SlideResult
{
    public required string Slide { get; init; }
    public required string Marker { get; init; }

    /// <summary>The regions file the slide was measured inside (`--regions`, the manifest's `regions`); empty for the whole slide. Part of the row's identity with slide and marker.</summary>
    public string Regions { get; init; } = "";

    /// <summary>With regions: `all` for their union, or the annotation class of a `--per-region` row; empty without regions.</summary>
    public string Region { get; init; } = "";
    public required string Status { get; init; }
    public string Error { get; init; } = "";

    /// <summary>`ok`, or `mismatch` when the slide's own stains are far from the model's (see <see cref="Pipeline.StainCheck"/>); empty on error rows.</summary>
    public string StainCheck { get; init; } = "";

    /// <summary>Short reasons to look at this row before trusting it, `;`-separated (empty when none).</summary>
    public string Warnings { get; init; } = "";
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

    /// <summary>How the row was made: tool version, time, command line, the slide file's size and hash, the model (results.json only).</summary>
    public SlideProvenance? Provenance { get; init; }

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
    double ChromogenHistogramBinOd = 0,
    // The stain check: the two stain vectors estimated on the slide and their angles to the model's.
    double[][]? EstimatedStainVectors = null,
    double? ChromogenAngleDegrees = null,
    double? CounterstainAngleDegrees = null,
    // Stain intensities for drift checks (`histoquant qc`): see Pipeline.StainCheckResult.
    double? PositiveChromogenOdP90 = null,
    double? CounterstainOdMedian = null,
    // The regions file measurement was restricted to (`--regions` or the manifest's `regions`), if any.
    string? Regions = null);

/// <summary>Where a row came from, so that a number can be traced and re-made later.</summary>
/// <param name="Sha256">Of the whole slide file, read beside the measurement (hex); null for a slide that failed.</param>
/// <param name="Model">The marker model file's JSON as it was used.</param>
public sealed record SlideProvenance(
    string ToolVersion,
    string Started,
    string CommandLine,
    long? FileBytes,
    string? Sha256,
    System.Text.Json.JsonElement? Model);
