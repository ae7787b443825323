using System.Text.Json;

namespace HistoQuant.Measures.Cells;

/// <summary>
/// A model's <c>cells.qupath</c> object: the parameters of QuPath's
/// <c>runPlugin('qupath.imagej.detect.cells.PositiveCellDetection', '{...}')</c>, same names, same units, QuPath's
/// defaults for missing names. Unknown names, wrong types and out-of-range values are refused with the file and
/// the key.
/// </summary>
public static class QuPathParameters
{
    public const string Hematoxylin = "Hematoxylin OD";
    public const string OpticalDensitySum = "Optical density sum";

    /// <summary>QuPath's thresholdCompartment choices (brightfield H-DAB).</summary>
    public static readonly IReadOnlyDictionary<string, CellMeasurement> Compartments = new Dictionary<string, CellMeasurement>
    {
        ["Nucleus: DAB OD mean"] = new(CellCompartment.Nucleus, false),
        ["Nucleus: DAB OD max"] = new(CellCompartment.Nucleus, true),
        ["Cytoplasm: DAB OD mean"] = new(CellCompartment.Cytoplasm, false),
        ["Cytoplasm: DAB OD max"] = new(CellCompartment.Cytoplasm, true),
        ["Cell: DAB OD mean"] = new(CellCompartment.Cell, false),
        ["Cell: DAB OD max"] = new(CellCompartment.Cell, true),
    };

    /// <summary>The names QuPath uses only for images without a pixel size (HistoQuant always has one).</summary>
    private static readonly string[] PixelUnitNames = ["requestedPixelSize", "backgroundRadius", "medianRadius", "sigma", "minArea", "maxArea", "cellExpansion"];

    private static readonly string[] Known =
    [
        "detectionImageBrightfield", "requestedPixelSizeMicrons", "backgroundRadiusMicrons", "backgroundByReconstruction",
        "medianRadiusMicrons", "sigmaMicrons", "minAreaMicrons", "maxAreaMicrons", "threshold", "maxBackground",
        "watershedPostProcess", "excludeDAB", "cellExpansionMicrons", "includeNuclei", "smoothBoundaries", "makeMeasurements",
        "thresholdCompartment", "thresholdPositive1", "thresholdPositive2", "thresholdPositive3", "singleThreshold",
    ];

    /// <summary>Cell settings and whether nuclei are found in the OD sum, from the "qupath" object.</summary>
    public static (CellSettings Settings, bool OdSum) Parse(ModelSection q, CellSettings defaults)
    {
        if (q.Json.ValueKind != JsonValueKind.Object)
            throw q.Error($"\"{q.Name}\" must be an object: the parameters of QuPath's PositiveCellDetection");
        foreach (var p in q.Json.EnumerateObject())
        {
            if (PixelUnitNames.Contains(p.Name))
                throw q.Error($"{q.Name}.{p.Name} is QuPath's parameter for images without a pixel size; use {p.Name}Microns");
            if (p.Name is "detectionImage" or "detectionImageFluorescence")
                throw q.Error($"{q.Name}.{p.Name} is a fluorescence parameter; HistoQuant detects cells in brightfield (use detectionImageBrightfield)");
            if (!Known.Contains(p.Name))
                throw q.Error($"unknown key \"{q.Name}.{p.Name}\" (known: {string.Join(", ", Known)})");
        }
        string image = q.Choice("detectionImageBrightfield", Hematoxylin, Hematoxylin, OpticalDensitySum);
        string compartment = q.Choice("thresholdCompartment", "Nucleus: DAB OD mean", [.. Compartments.Keys]);
        bool includeNuclei = Bool(q, "includeNuclei", true);
        if (!includeNuclei && Compartments[compartment].Compartment == CellCompartment.Nucleus)
            throw q.Error($"{q.Name}.thresholdCompartment \"{compartment}\" needs includeNuclei true (without nuclei QuPath has no nucleus measurement to classify by)");
        double maxArea = q.Get("maxAreaMicrons", 400, 0, 100000);
        double minArea = q.Get("minAreaMicrons", 10, 0, 100000);
        if (maxArea > 0 && minArea > maxArea)
            throw q.Error($"{q.Name}.minAreaMicrons is larger than {q.Name}.maxAreaMicrons");
        var s = defaults with
        {
            DetectionMicronsPerPixel = q.Get("requestedPixelSizeMicrons", 0.5, -16, 20),
            BackgroundRadiusMicrons = Math.Max(0, q.Get("backgroundRadiusMicrons", 8, -1000, 1000)),
            NucleusThreshold = q.Get("threshold", 0.1, 0, 10),
            SmoothSigmaMicrons = q.Get("sigmaMicrons", 1.5, 0, 20),
            MinNucleusArea = minArea,
            MaxNucleusArea = maxArea > 0 ? maxArea : double.PositiveInfinity,
            CellExpansionMicrons = q.Get("cellExpansionMicrons", 5, 0, 25),
            MedianRadiusMicrons = q.Get("medianRadiusMicrons", 0, 0, 20),
            BackgroundByReconstruction = Bool(q, "backgroundByReconstruction", true),
            MaxBackground = q.Get("maxBackground", 2, -100, 100),
            WatershedPostProcess = Bool(q, "watershedPostProcess", true),
            SplitToleranceMicrons = null,
            ExcludeDab = Bool(q, "excludeDAB", false),
            IncludeNuclei = includeNuclei,
            SmoothBoundaries = Bool(q, "smoothBoundaries", true),
            StainedObjectsWithoutNucleus = false,
            ThresholdMeasurement = Compartments[compartment],
            Thresholds = [q.Get("thresholdPositive1", 0.2, 0, 10), q.Get("thresholdPositive2", 0.4, 0, 10), q.Get("thresholdPositive3", 0.6, 0, 10)],
            SingleThreshold = Bool(q, "singleThreshold", true),
            QuPathMode = true,
        };
        // makeMeasurements is accepted for compatibility; HistoQuant always measures (classes need the DAB means).
        Bool(q, "makeMeasurements", true);
        return (s, image == OpticalDensitySum);
    }

    /// <summary>A JSON boolean (QuPath's boolean parameters); <paramref name="fallback"/> when absent.</summary>
    public static bool Bool(ModelSection q, string key, bool fallback)
    {
        if (!q.Json.TryGetProperty(key, out var v))
            return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw q.Error($"{q.Name}.{key} must be true or false"),
        };
    }
}
