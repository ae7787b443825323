namespace HistoQuant.Measures.Cells;

/// <summary>
/// Cell detection parameters, QuPath's positive cell detection defaults where it has them (documented in the
/// README). Lengths in µm, areas in µm², intensities in OD units of the deconvolved stains.
/// </summary>
public sealed record CellSettings(
    double DetectionMicronsPerPixel = 0.5,
    double SmoothSigmaMicrons = 1.5,
    double BackgroundRadiusMicrons = 8,
    double NucleusThreshold = 0.1,
    double MinNucleusArea = 10,
    double MaxNucleusArea = 400,
    double SplitDistanceMicrons = 4,
    double CellExpansionMicrons = 5,
    double MinStainedObjectArea = 20,
    double MaxStainedObjectArea = 2000,
    double CoreMicrons = 512,
    double MarginMicrons = 25);

/// <summary>Which part of a cell decides its class (the marker model's compartment).</summary>
public enum CellCompartment { Nucleus, Cytoplasm, Cell }

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
    IReadOnlyList<(double X, double Y)>? Outline);
