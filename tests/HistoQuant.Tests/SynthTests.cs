using HistoQuant.Cli;
using HistoQuant.Slides;
using HistoQuant.Stains;
using HistoQuant.Synth;

namespace HistoQuant.Tests;

/// <summary>The synthetic slide generator: a readable pyramid, deterministic, and quantify recovers its truth.</summary>
public class SynthTests
{
    private static readonly SynthOptions Small = new() { Width = 2048, Height = 1536, Mpp = 0.5, Seed = 3 };

    private static (string Path, SynthTruth Truth) Generate(TempDir tmp, SynthOptions o, string name = "synthetic.tif")
    {
        string path = tmp.File(name);
        return (path, SyntheticSlideWriter.Write(o, path));
    }

    private static Dictionary<string, string> QuantifyRow(TempDir tmp, string slide, params string[] extra) => QuantifyRun.Row(tmp, [slide, .. extra]);

    private static double D(Dictionary<string, string> row, string key) => QuantifyRun.Number(row, key);

    [Fact]
    public void GeneratedSlideIsAPyramidalTiffWithItsPixelSize()
    {
        using var tmp = new TempDir();
        var (path, _) = Generate(tmp, Small);
        using var slide = SlideOpener.Open(path);
        Assert.Equal("generic-tiff", slide.Format);
        Assert.Equal([2048, 1024, 512, 256], slide.Levels.Select(l => l.Width));
        Assert.Equal([1536, 768, 384, 192], slide.Levels.Select(l => l.Height));
        Assert.Equal(0.5, slide.MppX!.Value, 6);
        Assert.Equal(256, slide.Levels[0].TileWidth);
        // Lower levels are 2x2 averages of the level above: their mean colours agree.
        var mean0 = TestData.MeanRgb(TestData.ReadLevel(slide, 0));
        var mean2 = TestData.MeanRgb(TestData.ReadLevel(slide, 2));
        for (int c = 0; c < 3; c++)
            Assert.Equal(mean0[c], mean2[c], 1.0);
    }

    [Fact]
    public void SameSeedGivesTheSameSlideAndOtherSeedsDiffer()
    {
        using var tmp = new TempDir();
        var (a, ta) = Generate(tmp, Small, "a.tif");
        var (b, tb) = Generate(tmp, Small, "b.tif");
        var (c, tc) = Generate(tmp, Small with { Seed = 4 }, "c.tif");
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.Equal(SyntheticSlideWriter.TruthJson(ta with { Slide = "" }), SyntheticSlideWriter.TruthJson(tb with { Slide = "" }));
        Assert.NotEqual(ta.TissuePixels, tc.TissuePixels);
    }

    [Fact]
    public void QuantifyRecoversTheTruth()
    {
        using var tmp = new TempDir();
        var (path, truth) = Generate(tmp, Small);
        var row = QuantifyRow(tmp, path);
        Assert.InRange(D(row, "tissue_area_mm2") / truth.TissueAreaMm2, 0.98, 1.02);
        Assert.InRange(D(row, "positive_area_pct") - truth.DabPositiveAreaPct["0.2"], -0.5, 0.5);
        var strict = QuantifyRow(tmp, path, "--weak", "0.4");
        Assert.InRange(D(strict, "positive_area_pct") - truth.DabPositiveAreaPct["0.4"], -0.5, 0.5);
        Assert.Equal(truth.MeanDabOd, D(row, "mean_dab_od"), 2);
    }

    [Fact]
    public void GreyGlassIsHandledWithAnEstimatedBackground()
    {
        using var tmp = new TempDir();
        var (path, truth) = Generate(tmp, Small with { Glass = new Background(238, 236, 242), Seed = 5 });
        var row = QuantifyRow(tmp, path, "--background", "auto");
        Assert.InRange(D(row, "tissue_area_mm2") / truth.TissueAreaMm2, 0.98, 1.02);
        Assert.InRange(D(row, "positive_area_pct") - truth.DabPositiveAreaPct["0.2"], -0.5, 0.5);
    }

    [Fact]
    public void NoDabGivesNoPositiveArea()
    {
        using var tmp = new TempDir();
        var (path, truth) = Generate(tmp, Small with { DabScale = 0, Seed = 6 });
        Assert.Equal(0, truth.DabPositiveAreaPct["0.2"], 2);
        var row = QuantifyRow(tmp, path);
        Assert.True(D(row, "positive_area_pct") < 0.1, row["positive_area_pct"]);
    }

    [Fact]
    public void TruthCountsFollowTheRequest()
    {
        using var tmp = new TempDir();
        var (_, truth) = Generate(tmp, Small with { Cells = 77, NegativeNuclei = 120, FibresPositive = 0.5, Seed = 8 });
        Assert.Equal(77, truth.PositiveCells);
        Assert.Equal(120, truth.NegativeNuclei);
        Assert.True(truth.Fibres > 100, $"{truth.Fibres} fibres"); // ~0.4 mm² of 55 µm fibres
        // The tissue outline cuts the fibres along its ~2.4 mm perimeter (about 45 fibres of 55 µm); those whose centre
        // lies outside but keep 300 µm² inside are counted apart.
        Assert.InRange(truth.CutFibres, 5, 45);
        Assert.InRange(truth.PositiveFibresPct, 40, 60);
        Assert.Equal(truth.PositiveCells / truth.TissueAreaMm2, truth.PositiveCellsPerMm2, 6);
        Assert.Equal(truth.TissuePixels * 0.25e-6, truth.TissueAreaMm2, 9);
    }

    [Fact]
    public void SynthCommandWritesSlideAndTruthAndRejectsBadOptions()
    {
        using var tmp = new TempDir();
        string path = tmp.File("sub/cli.tif");
        Assert.Equal(0, HistoQuantCli.Main(["synth", "--out", path, "--width", "512", "--height", "384", "--seed", "2"]));
        Assert.True(File.Exists(path));
        Assert.Contains("\"tissue_area_mm2\"", File.ReadAllText(tmp.File("sub/cli.truth.json")));
        Assert.Equal(Cli.Cli.BadArguments, HistoQuantCli.Main(["synth", "--out", tmp.File("x.tif"), "--fibres-positive", "1.5"]));
        Assert.Equal(Cli.Cli.BadArguments, HistoQuantCli.Main(["synth", "--out", tmp.File("x.tif"), "--width", "10"]));
    }
}
