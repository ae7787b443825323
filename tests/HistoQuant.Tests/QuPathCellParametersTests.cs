using HistoQuant.Measures.Cells;
using HistoQuant.Models;

namespace HistoQuant.Tests;

/// <summary>A model's "cells.qupath" object: QuPath's PositiveCellDetection parameters, names, units and defaults.</summary>
public class QuPathCellParametersTests
{
    private static MarkerModel Parse(string qupath) =>
        MarkerCatalog.Parse($$"""{ "id": "x", "stains": "H-DAB", "compartment": "nucleus", "measures": ["positive_cells"], "cells": { "qupath": {{qupath}} } }""", "models/x.json");

    [Fact]
    public void AScriptsParametersSetEveryDetectionAndClassificationSetting()
    {
        // As QuPath's "Create script" writes them for a Ki-67 analysis.
        var m = Parse("""
            {"detectionImageBrightfield": "Optical density sum", "requestedPixelSizeMicrons": 0.3, "backgroundRadiusMicrons": 12.0,
             "backgroundByReconstruction": false, "medianRadiusMicrons": 1.0, "sigmaMicrons": 2.0, "minAreaMicrons": 5.0,
             "maxAreaMicrons": 500.0, "threshold": 0.05, "maxBackground": 1.5, "watershedPostProcess": false, "excludeDAB": true,
             "cellExpansionMicrons": 3.5, "includeNuclei": true, "smoothBoundaries": false, "makeMeasurements": true,
             "thresholdCompartment": "Cell: DAB OD max", "thresholdPositive1": 0.15, "thresholdPositive2": 0.3,
             "thresholdPositive3": 0.45, "singleThreshold": false}
            """);
        var s = m.Cells;
        Assert.True(m.DetectOnOdSum);
        Assert.True(s.QuPathMode);
        Assert.Equal(0.3, s.DetectionMicronsPerPixel);
        Assert.Equal(12, s.BackgroundRadiusMicrons);
        Assert.False(s.BackgroundByReconstruction);
        Assert.Equal(1, s.MedianRadiusMicrons);
        Assert.Equal(2, s.SmoothSigmaMicrons);
        Assert.Equal(5, s.MinNucleusArea);
        Assert.Equal(500, s.MaxNucleusArea);
        Assert.Equal(0.05, s.NucleusThreshold);
        Assert.Equal(1.5, s.MaxBackground);
        Assert.False(s.WatershedPostProcess);
        Assert.True(s.ExcludeDab);
        Assert.Equal(3.5, s.CellExpansionMicrons);
        Assert.False(s.SmoothBoundaries);
        Assert.Equal(new CellMeasurement(CellCompartment.Cell, true), s.ThresholdMeasurement);
        Assert.Equal([0.15, 0.3, 0.45], s.Thresholds!);
        Assert.False(s.SingleThreshold);
        Assert.False(s.StainedObjectsWithoutNucleus); // QuPath has no nucleus-less rule
        Assert.Null(s.SplitToleranceMicrons);        // ImageJ's 0.5 px
    }

    [Fact]
    public void MissingNamesTakeQuPathsDefaults()
    {
        var m = Parse("{}");
        var s = m.Cells;
        Assert.False(m.DetectOnOdSum); // "Hematoxylin OD"
        Assert.Equal(0.5, s.DetectionMicronsPerPixel);
        Assert.Equal(8, s.BackgroundRadiusMicrons);
        Assert.True(s.BackgroundByReconstruction);
        Assert.Equal(0, s.MedianRadiusMicrons);
        Assert.Equal(1.5, s.SmoothSigmaMicrons);
        Assert.Equal(10, s.MinNucleusArea);
        Assert.Equal(400, s.MaxNucleusArea);
        Assert.Equal(0.1, s.NucleusThreshold);
        Assert.Equal(2, s.MaxBackground);
        Assert.True(s.WatershedPostProcess);
        Assert.False(s.ExcludeDab);
        Assert.Equal(5, s.CellExpansionMicrons);
        Assert.True(s.IncludeNuclei);
        Assert.True(s.SmoothBoundaries);
        Assert.Equal(new CellMeasurement(CellCompartment.Nucleus, false), s.ThresholdMeasurement);
        Assert.Equal([0.2, 0.4, 0.6], s.Thresholds!);
        Assert.True(s.SingleThreshold);
        // QuPath: a maximum area of 0 means no maximum.
        Assert.Equal(double.PositiveInfinity, Parse("""{ "maxAreaMicrons": 0 }""").Cells.MaxNucleusArea);
    }

    [Theory]
    [InlineData("""{ "sigma": 3 }""", "cells.qupath.sigma is QuPath's parameter for images without a pixel size; use sigmaMicrons")]
    [InlineData("""{ "detectionImage": "DAPI" }""", "cells.qupath.detectionImage is a fluorescence parameter")]
    [InlineData("""{ "sigmaMicron": 2 }""", "unknown key \"cells.qupath.sigmaMicron\"")]
    [InlineData("""{ "sigmaMicrons": 50 }""", "cells.qupath.sigmaMicrons must be a number between 0 and 20")]
    [InlineData("""{ "cellExpansionMicrons": 30 }""", "cells.qupath.cellExpansionMicrons must be a number between 0 and 25")]
    [InlineData("""{ "threshold": "0.1" }""", "cells.qupath.threshold must be a number")]
    [InlineData("""{ "thresholdPositive1": -0.1 }""", "cells.qupath.thresholdPositive1 must be a number between 0 and 10")]
    [InlineData("""{ "watershedPostProcess": "true" }""", "cells.qupath.watershedPostProcess must be true or false")]
    [InlineData("""{ "detectionImageBrightfield": "DAB OD" }""", "cells.qupath.detectionImageBrightfield must be \"Hematoxylin OD\" or \"Optical density sum\"")]
    [InlineData("""{ "thresholdCompartment": "Nucleus: Hematoxylin OD mean" }""", "cells.qupath.thresholdCompartment must be")]
    [InlineData("""{ "minAreaMicrons": 50, "maxAreaMicrons": 20 }""", "cells.qupath.minAreaMicrons is larger than cells.qupath.maxAreaMicrons")]
    [InlineData("""{ "includeNuclei": false }""", "needs includeNuclei true")]
    [InlineData("[]", "\"cells.qupath\" must be an object")]
    public void UnknownNamesAndOutOfRangeValuesAreRefusedWithTheFileAndTheKey(string qupath, string expected)
    {
        var e = Assert.Throws<FormatException>(() => Parse(qupath));
        Assert.StartsWith("models/x.json: ", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void TheQuPathObjectStandsAlone()
    {
        var e = Assert.Throws<FormatException>(() => MarkerCatalog.Parse(
            """{ "id": "x", "stains": "H-DAB", "cells": { "expansion_um": 3, "qupath": {} } }""", "models/x.json"));
        Assert.Contains("\"cells.qupath\" sets every cell setting; remove the other keys of \"cells\" (expansion_um)", e.Message);
    }

    [Fact]
    public void SingleThresholdClassifiesNegativeOrPositive()
    {
        // Two nuclei, one with nucleus DAB 0.7 (3+ with three thresholds), one with none.
        int w = 120, h = 60;
        var hem = new float[w * h];
        var dab = new float[w * h];
        CellTestImages.Disc(hem, w, 30, 30, 8, 0.5f);
        CellTestImages.Disc(hem, w, 90, 30, 8, 0.5f);
        CellTestImages.Disc(dab, w, 30, 30, 8, 0.7f);
        var settings = Parse("""{ "thresholdPositive1": 0.3, "singleThreshold": true }""").Cells;
        // The model's own thresholds (0.2/0.4/0.6) give way to thresholdPositive1, and nothing is 2+ or 3+.
        var (weak, moderate, strong) = CellsMeasure.ClassThresholds(settings, 0.2, 0.4, 0.6);
        Assert.Equal((0.3, double.PositiveInfinity, double.PositiveInfinity), (weak, moderate, strong));
        Assert.Equal((0.3, 0.4, 0.6), CellsMeasure.ClassThresholds(settings with { SingleThreshold = false }, 0.2, 0.5, 0.9));
        Assert.Equal((0.2, 0.5, 0.9), CellsMeasure.ClassThresholds(new CellSettings(), 0.2, 0.5, 0.9));
        var cells = new CellDetector(settings, settings.ThresholdMeasurement!, weak, moderate, strong)
            .Detect(hem, dab, w, h, 0.5, (_, _) => true, (x, y) => (x, y), outlines: false);
        Assert.Equal([1, 0], cells.OrderBy(c => c.X).Select(c => c.Class));
        var features = new CellsMeasure().Features(cells).ToList();
        Assert.Equal(["Negative", "Positive"], features.Select(f => f.ClassName).Order());
    }
}
