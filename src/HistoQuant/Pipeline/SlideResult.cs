namespace HistoQuant.Pipeline;

/// <summary>
/// One row of results.csv / one record of results.json: a slide measured with one marker. Column names
/// carry their units. Error rows keep the slide and marker and say why in <see cref="Error"/>.
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
    public double? TissueAreaMm2 { get; init; }
    public double? PositiveAreaPct { get; init; }
    public double? WeakPct { get; init; }
    public double? ModeratePct { get; init; }
    public double? StrongPct { get; init; }
    public double? HScore { get; init; }
    public double? MeanDabOd { get; init; }
    public int? TotalCells { get; init; }
    public int? PositiveCells { get; init; }
    public double? PositiveCellsPct { get; init; }
    public double? PositiveCellsPerMm2 { get; init; }
    public double? CellHScore { get; init; }
    public int? Fibres { get; init; }
    public double? FibreAreaPct { get; init; }
    public double? PositiveFibresPct { get; init; }
    public double? SarcoplasmicFibresPct { get; init; }
    public int? Mhc1Grade { get; init; }
    public int? Capillaries { get; init; }
    public double? CapillariesPerMm2 { get; init; }
    /// <summary>"yes"/"no" by the marker model's presence rule; empty when the model has none.</summary>
    public string Present { get; init; } = "";
    public string Device { get; init; } = "";
    public double Seconds { get; init; }

    /// <summary>The manifest's other columns (patient, timepoint, group...), carried into results.csv and results.json.</summary>
    public IReadOnlyDictionary<string, string>? Manifest { get; init; }

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
