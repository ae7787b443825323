using HistoQuant.Models;
using System.Text.Json;
using HistoQuant.Cli;
using HistoQuant.Stains;
using HistoQuant.Synth;

namespace HistoQuant.Tests;

/// <summary>Macenko-style estimation recovers the vectors a slide was rendered with.</summary>
public class StainEstimationTests
{
    private static readonly StainSet Lab = new("lab",
        new StainVector("Hematoxylin", 0.58, 0.74, 0.34), new StainVector("DAB", 0.33, 0.54, 0.77));

    [Fact]
    public void EigenDecompositionOfASymmetricMatrix()
    {
        double[,] m = { { 4, 1, 2 }, { 1, 3, 0 }, { 2, 0, 5 } };
        var (values, vectors) = StainEstimator.SymmetricEigen(m);
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 3; i++)
            {
                double mv = m[i, 0] * vectors[0, k] + m[i, 1] * vectors[1, k] + m[i, 2] * vectors[2, k];
                Assert.Equal(values[k] * vectors[i, k], mv, 9);
            }
        Assert.Equal(12.0, values.Sum(), 9); // trace
    }

    [Fact]
    public void RecoversRenderedVectorsWithinThreeDegrees()
    {
        using var tmp = new TempDir();
        string slide = tmp.File("lab.tif");
        SyntheticSlideWriter.Write(new SynthOptions { Width = 2048, Height = 1536, Seed = 31, Stains = Lab, FibresPositive = 0.4 }, slide);
        string file = tmp.File("estimated.json");
        Assert.Equal(0, HistoQuantCli.Main(["stains", "estimate", slide, "--out", file]));
        var estimated = StainFile.Load(file);
        Assert.True(estimated.Stain1.AngleDegrees(Lab.Stain1) < 3, $"hematoxylin off by {estimated.Stain1.AngleDegrees(Lab.Stain1):0.00}°");
        Assert.True(estimated.Stain2.AngleDegrees(Lab.Stain2) < 3, $"DAB off by {estimated.Stain2.AngleDegrees(Lab.Stain2):0.00}°");
        // The defaults are farther away, so the estimate moved toward the truth.
        Assert.True(StainPresets.HDab.Stain1.AngleDegrees(Lab.Stain1) > 3);

        // quantify --stains auto estimates per slide and records what it used.
        string outDir = tmp.File("out");
        Assert.Equal(0, HistoQuantCli.Main(["quantify", slide, "--stains", "auto", "--out", outDir]));
        var vectors = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json"))).RootElement[0]
            .GetProperty("details").GetProperty("stain_vectors");
        var dab = new StainVector("", vectors[1][0].GetDouble(), vectors[1][1].GetDouble(), vectors[1][2].GetDouble());
        Assert.True(dab.AngleDegrees(Lab.Stain2) < 3);
    }

    [Fact]
    public void AModelThatAsksForPerSlideStainsMeasuresAsStainsAutoDoesAndStainsOverridesIt()
    {
        using var tmp = new TempDir();
        string slide = tmp.File("lab.tif");
        SyntheticSlideWriter.Write(new SynthOptions { Width = 1536, Height = 1024, Seed = 32, Stains = Lab, FibresPositive = 0.4 }, slide);
        string model = tmp.File("auto.json");
        File.WriteAllText(model, File.ReadAllText(TestData.RepoFile("models/dab-generic.json")).Replace("\"id\": \"dab-generic\"", "\"id\": \"auto\", \"estimate_stains\": true"));
        Assert.True(MarkerCatalog.Load(model).EstimateStains);

        string Vectors(string outDir, params string[] extra)
        {
            Assert.Equal(0, HistoQuantCli.Main(["quantify", slide, "--out", tmp.File(outDir), .. extra]));
            return JsonDocument.Parse(File.ReadAllText(Path.Combine(tmp.File(outDir), "results.json"))).RootElement[0]
                .GetProperty("details").GetProperty("stain_vectors").ToString();
        }
        string byModel = Vectors("model", "--marker", model);
        Assert.Equal(Vectors("flag", "--stains", "auto"), byModel);
        Assert.NotEqual(Vectors("fixed", "--marker", model, "--stains", "H-DAB"), byModel);
    }

    [Fact]
    public void TooFewStainedPixelsIsAClearError()
    {
        var od = new float[3 * 5000]; // all glass
        var e = Assert.Throws<InvalidOperationException>(() => StainEstimator.Estimate(od, StainPresets.HDab, Background.White, "x"));
        Assert.Contains("too few stained pixels", e.Message);
    }
}
