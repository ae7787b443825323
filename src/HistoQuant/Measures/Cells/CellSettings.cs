namespace HistoQuant.Measures.Cells;

/// <summary>
/// Cell detection parameters: QuPath's positive cell detection (WatershedCellDetection) parameters, in its units,
/// plus HistoQuant's own additions (the nucleus-less DAB rule, the split tolerance). The defaults are QuPath's;
/// the shipped marker models set their own (see the README). Lengths in µm, areas in µm², intensities in OD units
/// of the deconvolved stains.
/// </summary>
public sealed record CellSettings(
    double DetectionMicronsPerPixel = 0.5,
    double SmoothSigmaMicrons = 1.5,
    double BackgroundRadiusMicrons = 8,
    double NucleusThreshold = 0.1,
    double MinNucleusArea = 10,
    double MaxNucleusArea = 400,
    double CellExpansionMicrons = 5,
    double MinStainedObjectArea = 20,
    double MaxStainedObjectArea = 2000,
    double CoreMicrons = 512,
    double MarginMicrons = 25)
{
    /// <summary>Median filter radius before everything else (0: none).</summary>
    public double MedianRadiusMicrons { get; init; }

    /// <summary>Background by opening-by-reconstruction (QuPath's default) rather than a plain opening.</summary>
    public bool BackgroundByReconstruction { get; init; } = true;

    /// <summary>Nuclei on a background above this are dropped (with a background radius; 0 or less: no limit).</summary>
    public double MaxBackground { get; init; } = 2;

    /// <summary>Split merged nuclei by shape (a watershed on the distance map, QuPath's "Split by shape").</summary>
    public bool WatershedPostProcess { get; init; } = true;

    /// <summary>
    /// How far (µm) a distance-map maximum must stand above the saddle to a larger one to seed its own nucleus;
    /// null: QuPath's 0.5 px of the detection image.
    /// </summary>
    public double? SplitToleranceMicrons { get; init; }

    /// <summary>
    /// HistoQuant's merge of over-split nuclei: touching objects whose shared boundary is at least this fraction
    /// of the fainter one's mean intensity are one nucleus; null: no merging (QuPath).
    /// </summary>
    public double? MergeRatio { get; init; }

    /// <summary>Ignore strongly DAB-stained pixels when finding nuclei (QuPath's excludeDAB, for membrane stains).</summary>
    public bool ExcludeDab { get; init; }

    /// <summary>Cells keep their nucleus (outline and measurements in GeoJSON).</summary>
    public bool IncludeNuclei { get; init; } = true;

    /// <summary>Smooth the outlines written to GeoJSON.</summary>
    public bool SmoothBoundaries { get; init; } = true;

    /// <summary>HistoQuant's macrophage rule: compact DAB objects that hold no nucleus count as positive cells.</summary>
    public bool StainedObjectsWithoutNucleus { get; init; } = true;

    /// <summary>Which measurement classifies a cell; null: the marker model's compartment, by its mean.</summary>
    public CellMeasurement? ThresholdMeasurement { get; init; }

    /// <summary>Cell thresholds (1+, 2+, 3+) replacing the model's; null: the model's (and the command line's).</summary>
    public double[]? Thresholds { get; init; }

    /// <summary>Only the first threshold: cells are Negative or Positive (QuPath's singleThreshold).</summary>
    public bool SingleThreshold { get; init; }

    /// <summary>
    /// Nuclei are found in hematoxylin + DAB OD (HistoQuant's "hematoxylin+dab" detection): DAB-dark nuclei keep
    /// their contrast as in the OD sum, without the residual channel's grey and yellow background.
    /// </summary>
    public bool DetectOnHematoxylinPlusDab { get; init; }

    /// <summary>Use <see cref="LegacyCellDetector"/> (models without a "cells" section: their results stay as they were).</summary>
    public bool Legacy { get; init; }

    /// <summary>Made from a model's "qupath" object (parameters as a QuPath script passes them).</summary>
    public bool QuPathMode { get; init; }

    // Records print arrays as their type name; the fingerprint needs the values.
    private bool PrintMembers(System.Text.StringBuilder b)
    {
        if (Legacy)
        {
            // Exactly the first detector's settings text, so that runs of models without a "cells" section keep their fingerprint.
            b.Append($"DetectionMicronsPerPixel = {DetectionMicronsPerPixel}, SmoothSigmaMicrons = {SmoothSigmaMicrons}, BackgroundRadiusMicrons = {BackgroundRadiusMicrons}, ");
            b.Append($"NucleusThreshold = {NucleusThreshold}, MinNucleusArea = {MinNucleusArea}, MaxNucleusArea = {MaxNucleusArea}, SplitDistanceMicrons = 4, ");
            b.Append($"CellExpansionMicrons = {CellExpansionMicrons}, MinStainedObjectArea = {MinStainedObjectArea}, MaxStainedObjectArea = {MaxStainedObjectArea}, ");
            b.Append($"CoreMicrons = {CoreMicrons}, MarginMicrons = {MarginMicrons}");
            return true;
        }
        b.Append($"DetectionMicronsPerPixel = {DetectionMicronsPerPixel}, SmoothSigmaMicrons = {SmoothSigmaMicrons}, BackgroundRadiusMicrons = {BackgroundRadiusMicrons}, ");
        b.Append($"NucleusThreshold = {NucleusThreshold}, MinNucleusArea = {MinNucleusArea}, MaxNucleusArea = {MaxNucleusArea}, CellExpansionMicrons = {CellExpansionMicrons}, ");
        b.Append($"MinStainedObjectArea = {MinStainedObjectArea}, MaxStainedObjectArea = {MaxStainedObjectArea}, CoreMicrons = {CoreMicrons}, MarginMicrons = {MarginMicrons}, ");
        b.Append($"MedianRadiusMicrons = {MedianRadiusMicrons}, BackgroundByReconstruction = {BackgroundByReconstruction}, MaxBackground = {MaxBackground}, ");
        b.Append($"WatershedPostProcess = {WatershedPostProcess}, SplitToleranceMicrons = {SplitToleranceMicrons}, ExcludeDab = {ExcludeDab}, IncludeNuclei = {IncludeNuclei}, ");
        b.Append($"SmoothBoundaries = {SmoothBoundaries}, StainedObjectsWithoutNucleus = {StainedObjectsWithoutNucleus}, ThresholdMeasurement = {ThresholdMeasurement}, ");
        b.Append($"Thresholds = {(Thresholds is null ? "" : string.Join("/", Thresholds))}, SingleThreshold = {SingleThreshold}, QuPathMode = {QuPathMode}, DetectOnHematoxylinPlusDab = {DetectOnHematoxylinPlusDab}, MergeRatio = {MergeRatio}, Legacy = {Legacy}");
        return true;
    }
}

/// <summary>Which part of a cell decides its class (the marker model's compartment).</summary>
public enum CellCompartment { Nucleus, Cytoplasm, Cell }

/// <summary>A DAB measurement of a cell: compartment and statistic (QuPath's "Nucleus: DAB OD mean" and kin).</summary>
public sealed record CellMeasurement(CellCompartment Compartment, bool Max)
{
    public override string ToString() => $"{Compartment}: DAB OD {(Max ? "max" : "mean")}";
}

/// <summary>One detected cell, in level-0 pixel coordinates.</summary>
public sealed record DetectedCell(
    double X,
    double Y,
    double AreaMicrons2,
    double NucleusAreaMicrons2,
    double NucleusDab,
    double CytoplasmDab,
    double CellDab,
    double MaxDab,
    int Class,
    bool HasNucleus,
    IReadOnlyList<(double X, double Y)>? Outline)
{
    public double NucleusMaxDab { get; init; }
    public double CytoplasmMaxDab { get; init; }

    /// <summary>The nucleus outline in level-0 pixels (GeoJSON's nucleusGeometry), when outlines were asked for.</summary>
    public IReadOnlyList<(double X, double Y)>? NucleusOutline { get; init; }

    /// <summary>The cell carries its nucleus's measurements in GeoJSON (QuPath's includeNuclei).</summary>
    public bool IncludeNucleus { get; init; } = true;

    /// <summary>Found by <see cref="LegacyCellDetector"/>: written to GeoJSON in the first detector's format.</summary>
    public bool Legacy { get; init; }

    /// <summary>Classified by a QuPath single threshold: class 1 is "Positive".</summary>
    public bool SingleThreshold { get; init; }
}
