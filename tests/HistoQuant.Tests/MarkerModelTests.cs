using HistoQuant.Models;
using HistoQuant.Measures;
using HistoQuant.Measures.Presence;

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

    /// <summary>
    /// A model's description is what a user reads to choose it: where it says cells are classified, and the numbers
    /// it quotes, must be what the model does.
    /// </summary>
    [Fact]
    public void EveryShippedModelsDescriptionMatchesItsSettings()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(TestData.RepoRoot, "models"), "*.json"))
        {
            var m = MarkerCatalog.Load(file);
            string d = m.Description;
            string name = Path.GetFileName(file);
            if (m.Measures.Contains("positive_cells"))
            {
                string expected = m.Compartment switch { "cell" => "whole-cell mean DAB", "cytoplasm" => "cytoplasmic mean DAB", "nucleus" => "nucleus mean DAB", _ => "" };
                Assert.True(expected.Length > 0 && d.Contains(expected), $"{name}: compartment '{m.Compartment}', description should say '{expected}': {d}");
                foreach (var other in new[] { "whole-cell mean DAB", "cytoplasmic mean DAB", "nucleus mean DAB" }.Where(o => o != expected))
                    Assert.False(d.Contains(other), $"{name}: compartment '{m.Compartment}' but the description says '{other}'");
                Assert.Equal(m.DetectOnOdSum, d.Contains("summed optical density"));
            }
            if (m.Measures.Contains("positive_fibres"))
            {
                Assert.Contains($"outer {m.Fibres.BandMicrons.ToString(System.Globalization.CultureInfo.InvariantCulture)} µm", d);
                Assert.Contains($"at least {m.Fibres.RingFraction * 100:0}%", d);
            }
            if (m.SettingsOf<HistoQuant.Measures.Compartments.CompartmentSettings>("compartments") is { } c && m.Measures.Contains("compartments"))
            {
                Assert.Contains($"closer than {c.FascicleGapMicrons.ToString(System.Globalization.CultureInfo.InvariantCulture)} µm", d);
                Assert.Contains($"first {c.PerifascicularLayers}", d);
                if (d.Contains("perivascular"))
                    Assert.Contains($"within {c.PerivascularMicrons.ToString(System.Globalization.CultureInfo.InvariantCulture)} µm", d);
                if (d.Contains("invading"))
                    Assert.Contains($"at least {c.InvadingMicrons.ToString(System.Globalization.CultureInfo.InvariantCulture)} µm inside", d);
            }
            if (m.Presence is { } rule)
                Assert.Contains($"at least {rule.AtLeast.ToString(System.Globalization.CultureInfo.InvariantCulture)}%", d);
        }
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
    [InlineData("""{ "id": "x", "stains": "H-DAB", "compartment": "membrane" }""", "unknown compartment \"membrane\"")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "compartment": "nucleus", "measures": ["positive_area"] }""", "compartment \"nucleus\" is graded by positive_cells")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "compartment": "sarcolemma", "measures": ["positive_cells"] }""", "compartment \"sarcolemma\" is graded by positive_fibres")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", }, """, "not valid JSON")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "estimate_stains": "yes" }""", "\"estimate_stains\" must be true or false")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "cells": { "detection": "dapi" } }""", "cells.detection must be")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "cells": { "expansion": 5 } }""", "unknown key \"cells.expansion\"")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "cells": { "min_nucleus_area_um2": 50, "max_nucleus_area_um2": 20 } }""", "larger than")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "fibres": { "band": 4 } }""", "unknown key \"fibres.band\"")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "fibres": { "ring_fraction": 2 } }""", "fibres.ring_fraction must be a number between")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "fibres": { "min_area_um2": 5000, "max_area_um2": 300 } }""", "fibres.min_area_um2 is larger than")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "capillaries": [] }""", "\"capillaries\" must be an object")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "presence": { "measure": "fibres", "at_least": 1 } }""", "presence.measure must be one of")]
    [InlineData("""{ "id": "x", "stains": "H-DAB", "presence": { "measure": "positive_area_pct" } }""", "presence.at_least must be a number")]
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
    public void StudyModelsDeclareTheirMeasures()
    {
        Assert.Contains("positive_fibres", MarkerCatalog.Resolve("mhc1").Measures);
        Assert.Equal(0.22, MarkerCatalog.Resolve("mhc1").Fibres.RingFraction);
        Assert.Contains("capillaries", MarkerCatalog.Resolve("il1a").Measures);
        Assert.Contains("positive_cells", MarkerCatalog.Resolve("il1b").Measures);
        Assert.Equal(new PresenceRule("positive_area_pct", 0.5), MarkerCatalog.Resolve("il1ra").Presence);
        Assert.Null(MarkerCatalog.Resolve("cd163").Presence);
        foreach (var id in new[] { "cd163", "il1a", "il1b", "il1ra", "mhc1", "dab-generic" })
            Assert.Equal(id, MarkerCatalog.Resolve(id).Id);
    }

    [Fact]
    public void PresenceCallNeedsAValue()
    {
        var rule = new PresenceRule("positive_area_pct", 0.5);
        Assert.True(rule.Call(_ => 0.5));
        Assert.False(rule.Call(_ => 0.49));
        Assert.Null(rule.Call(_ => null));
    }

    [Fact]
    public void UnknownIdListsTheKnownOnes()
    {
        var e = Assert.Throws<FormatException>(() => MarkerCatalog.Resolve("cd999"));
        Assert.Contains("dab-generic", e.Message);
    }
}
