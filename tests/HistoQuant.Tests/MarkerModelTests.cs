using HistoQuant.Models;

namespace HistoQuant.Tests;

public class MarkerModelTests
{
    [Fact]
    public void ShippedGenericModelLoads()
    {
        var m = MarkerCatalog.Load(TestData.RepoFile("models/dab-generic.json"));
        Assert.Equal("dab-generic", m.Id);
        Assert.Equal("H-DAB", m.Stains.Name);
        Assert.Equal("DAB", m.Chromogen.Name);
        Assert.Equal(new Thresholds(0.2, 0.4, 0.6), m.Thresholds);
    }

    [Fact]
    public void EveryShippedModelValidates()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(TestData.RepoRoot, "models"), "*.json"))
        {
            var m = MarkerCatalog.Load(file);
            Assert.Equal(Path.GetFileNameWithoutExtension(file), m.Id);
        }
    }

    [Fact]
    public void ModelsResolveByIdFromTheAppFolder() => Assert.Equal("dab-generic", MarkerCatalog.Resolve("dab-generic").Id);

    [Theory]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "treshold": 1 }""", "unknown key \"treshold\"")]
    [InlineData("""{ "stains": "H-DAB" }""", "missing or empty \"id\"")]
    [InlineData("""{ "id": "x", "stains": "H-XYZ" }""", "unknown stain preset 'H-XYZ'")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "thresholds": { "weak": 0.5, "moderate": 0.4, "strong": 0.6 } }""", "weak ≤ moderate ≤ strong")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "thresholds": { "weak": 0.2, "moderate": "high", "strong": 0.6 } }""", "thresholds.moderate must be a number")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "chromogen": "AEC" }""", "chromogen \"AEC\" is not one of the stains")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "measures": ["positive_area", "magic"] }""", "unknown measure")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "compartment": "nuclues" }""", "unknown compartment")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", }, """, "not valid JSON")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "cells": { "detection": "dapi" } }""", "cells.detection must be")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "cells": { "expansion": 5 } }""", "unknown key \"cells.expansion\"")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "cells": { "min_nucleus_area_um2": 50, "max_nucleus_area_um2": 20 } }""", "larger than")]
    public void BadModelsGiveAClearErrorNamingTheFile(string json, string expected)
    {
        var e = Assert.Throws<FormatException>(() => MarkerCatalog.Parse(json, "models/bad.json"));
        Assert.StartsWith("models/bad.json: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void CellSectionSetsDetection()
    {
        var m = MarkerCatalog.Load(TestData.RepoFile("models/ki67.json"));
        Assert.True(m.DetectOnOdSum);
        Assert.Equal("nucleus", m.Compartment);
        var custom = MarkerCatalog.Parse("""{ "id": "x", "stains": "H-DAB", "cells": { "expansion_um": 3, "nucleus_threshold": 0.2 } }""", "x.json");
        Assert.Equal(3, custom.Cells.CellExpansionMicrons);
        Assert.Equal(0.2, custom.Cells.NucleusThreshold);
        Assert.False(custom.DetectOnOdSum);
    }

    [Fact]
    public void UnknownIdListsTheKnownOnes()
    {
        var e = Assert.Throws<FormatException>(() => MarkerCatalog.Resolve("cd999"));
        Assert.Contains("dab-generic", e.Message);
    }
}
