using System.Globalization;
using System.Text.Json;
using HistoQuant.Cli;

namespace HistoQuant.Tests;

/// <summary>The synthetic sample slides a new user starts with still match the truth they ship with.</summary>
public class SampleSlideTests
{
    [Fact]
    public void SyntheticSamplesMatchTheirTruth()
    {
        var folder = Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic");
        var truths = Directory.GetFiles(folder, "*.truth.json");
        Assert.Equal(4, truths.Length);
        using var tmp = new TempDir();
        Assert.Equal(0, HistoQuantCli.Main(["quantify", folder, "--out", tmp.Path]));
        var lines = File.ReadAllLines(tmp.File("results.csv"));
        var header = lines[0].Split(',');
        var rows = lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second)).ToList();
        foreach (var truthFile in truths)
        {
            var truth = JsonDocument.Parse(File.ReadAllText(truthFile)).RootElement;
            string slide = Path.GetFileName(truthFile).Replace(".truth.json", ".tif");
            var row = rows.Single(r => Path.GetFileName(r["slide"]) == slide);
            double area = double.Parse(row["tissue_area_mm2"], CultureInfo.InvariantCulture);
            double positive = double.Parse(row["positive_area_pct"], CultureInfo.InvariantCulture);
            Assert.InRange(area / truth.GetProperty("tissue_area_mm2").GetDouble(), 0.98, 1.02);
            Assert.InRange(positive - truth.GetProperty("dab_positive_area_pct").GetProperty("0.2").GetDouble(), -0.5, 0.5);
        }
    }
}
