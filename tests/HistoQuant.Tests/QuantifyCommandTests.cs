using System.Globalization;
using System.Text.Json;
using HistoQuant.Cli;
using HistoQuant.Output;

namespace HistoQuant.Tests;

/// <summary>The `quantify` contract that other tools rely on: columns, numbers, statuses, exit codes.</summary>
public class QuantifyCommandTests
{
    private static (int Code, List<Dictionary<string, string>> Rows, JsonElement Json) Quantify(TempDir tmp, params string[] args)
    {
        string outDir = tmp.File("out");
        int code = HistoQuantCli.Main(["quantify", .. args, "--out", outDir]);
        var csvPath = Path.Combine(outDir, "results.csv");
        if (!File.Exists(csvPath))
            return (code, [], default);
        var lines = File.ReadAllLines(csvPath);
        var header = ParseCsvLine(lines[0]);
        Assert.Equal(ResultsWriter.Columns, header);
        var rows = lines.Skip(1).Select(l => header.Zip(ParseCsvLine(l)).ToDictionary(p => p.First, p => p.Second)).ToList();
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json"))).RootElement;
        return (code, rows, json);
    }

    private static string[] ParseCsvLine(string line) => QuantifyRun.ParseCsvLine(line);

    private static double D(Dictionary<string, string> row, string column) => double.Parse(row[column], CultureInfo.InvariantCulture);

    private static JsonElement Ref(string name) => JsonDocument.Parse(File.ReadAllText(TestData.RepoFile($"tests/reference/{name}"))).RootElement;

    [Fact]
    public void CmuMatchesOpenSlidePlusNumpyReference()
    {
        using var tmp = new TempDir();
        var (code, rows, json) = Quantify(tmp, TestData.Wsi("cmu-1-small-region.svs"), "--tissue", "all");
        Assert.Equal(Cli.Cli.Ok, code);
        var row = Assert.Single(rows);
        var want = Ref("cmu-1-small-region-reference.json");
        Assert.Equal("ok", row["status"]);
        Assert.Equal("dab-generic", row["marker"]);
        Assert.Equal("", row["error"]);
        Assert.Equal(("2220", "2967", "0.499"), (row["width_px"], row["height_px"], row["mpp"]));
        Assert.Equal(2220 * 2967 * 0.499 * 0.499 * 1e-6, D(row, "tissue_area_mm2"), 5);
        foreach (var column in new[] { "positive_area_pct", "weak_pct", "moderate_pct", "strong_pct" })
            Assert.True(Math.Abs(want.GetProperty(column).GetDouble() - D(row, column)) < 0.01, $"{column}: {row[column]} vs {want.GetProperty(column)}");
        Assert.Equal(want.GetProperty("mean_dab_od").GetDouble(), D(row, "mean_dab_od"), 4);
        Assert.Equal(D(row, "weak_pct") + 2 * D(row, "moderate_pct") + 3 * D(row, "strong_pct"), D(row, "h_score"), 3);
        Assert.StartsWith("cpu", row["device"]);
        Assert.True(D(row, "seconds") > 0);

        var record = Assert.Single(json.EnumerateArray().ToList());
        Assert.Equal("ok", record.GetProperty("status").GetString());
        Assert.Equal(D(row, "positive_area_pct"), record.GetProperty("positive_area_pct").GetDouble(), 4);
        Assert.Equal("aperio-svs", record.GetProperty("details").GetProperty("format").GetString());
        Assert.Equal(3, record.GetProperty("details").GetProperty("stain_vectors").GetArrayLength());
    }

    [Fact]
    public void LosslessImageMatchesScikitImageCountsToThePixel()
    {
        using var tmp = new TempDir();
        var (code, rows, _) = Quantify(tmp, TestData.Ihc("skimage-ihc.png"), "--tissue", "all", "--mpp", "0.5");
        Assert.Equal(0, code);
        var row = Assert.Single(rows);
        var want = Ref("skimage-ihc-reference.json");
        double n = want.GetProperty("pixels_total").GetDouble();
        var at = want.GetProperty("dab_at_least");
        double pct(string t) => 100.0 * at.GetProperty(t).GetDouble() / n;
        Assert.Equal(0.065536, D(row, "tissue_area_mm2"), 6);
        Assert.Equal(pct("0.2"), D(row, "positive_area_pct"), 3);
        Assert.Equal(pct("0.2") - pct("0.4"), D(row, "weak_pct"), 3);
        Assert.Equal(pct("0.4") - pct("0.6"), D(row, "moderate_pct"), 3);
        Assert.Equal(pct("0.6"), D(row, "strong_pct"), 3);
        Assert.Equal(want.GetProperty("dab_mean").GetDouble(), D(row, "mean_dab_od"), 5);
    }

    [Fact]
    public void TissueDetectionExcludesGlassFromTheDenominator()
    {
        using var tmp = new TempDir();
        var (_, auto, _) = Quantify(tmp, TestData.Wsi("cmu-1-small-region.svs"));
        using var tmp2 = new TempDir();
        var (_, all, _) = Quantify(tmp2, TestData.Wsi("cmu-1-small-region.svs"), "--tissue", "all");
        double fraction = D(auto[0], "tissue_area_mm2") / D(all[0], "tissue_area_mm2");
        Assert.InRange(fraction, 0.38, 0.46);
        // Glass has no DAB, so the positive share of tissue is larger than of the whole image.
        Assert.True(D(auto[0], "positive_area_pct") > D(all[0], "positive_area_pct") * 2);
    }

    [Fact]
    public void ABadSlideDoesNotStopTheBatchAndExitCodeIsOne()
    {
        using var tmp = new TempDir();
        string broken = TestData.Wsi("unreadable.svs"), noMpp = TestData.Wsi("tcga-cr-7395-01a-01-ts1.svs"), good = TestData.Wsi("OS-2-ndpi.ome.tif");
        var (code, rows, json) = Quantify(tmp, broken, noMpp, good, tmp.File("missing.svs"));
        Assert.Equal(Cli.Cli.SomeFailed, code);
        Assert.Equal(4, rows.Count);
        Assert.Equal(["error", "error", "ok", "error"], rows.Select(r => r["status"]));
        Assert.StartsWith(broken + ": ", rows[0]["error"]);
        Assert.Contains("--mpp", rows[1]["error"]);
        Assert.StartsWith(noMpp, rows[1]["error"]);
        Assert.Contains("not found", rows[3]["error"]);
        Assert.Equal("", rows[0]["tissue_area_mm2"]);
        Assert.True(D(rows[2], "tissue_area_mm2") > 0);
        Assert.Equal(4, json.GetArrayLength());
    }

    [Fact]
    public void MppOptionSuppliesAMissingPixelSize()
    {
        using var tmp = new TempDir();
        var (code, rows, json) = Quantify(tmp, TestData.Wsi("tcga-cr-7395-01a-01-ts1.svs"), "--mpp", "0.25", "--tissue", "all");
        Assert.Equal(0, code);
        Assert.Equal("0.25", rows[0]["mpp"]);
        Assert.Equal(4443 * 3567 * 0.0625e-6, D(rows[0], "tissue_area_mm2"), 5);
        Assert.Equal("--mpp", json[0].GetProperty("details").GetProperty("mpp_source").GetString());
    }

    [Fact]
    public void ThresholdOptionsOverrideTheModel()
    {
        using var tmp = new TempDir();
        var (_, rows, json) = Quantify(tmp, TestData.Ihc("skimage-ihc.png"), "--tissue", "all", "--mpp", "0.5", "--weak", "0.4");
        var at = Ref("skimage-ihc-reference.json").GetProperty("dab_at_least");
        Assert.Equal(100.0 * at.GetProperty("0.4").GetDouble() / 262144, D(rows[0], "positive_area_pct"), 3);
        Assert.Equal(0.0, D(rows[0], "weak_pct"), 6);
        Assert.Equal([0.4, 0.4, 0.6], json[0].GetProperty("details").GetProperty("thresholds").EnumerateArray().Select(v => v.GetDouble()));
    }

    [Fact]
    public void StainsAndBackgroundOptionsAreApplied()
    {
        using var tmp = new TempDir();
        var (_, rows, json) = Quantify(tmp, TestData.Ihc("skimage-ihc.png"), "--tissue", "all", "--mpp", "0.5", "--stains", "H-DAB Ruifrok", "--background", "240,240,240");
        var details = json[0].GetProperty("details");
        Assert.Equal("H-DAB Ruifrok", details.GetProperty("stains").GetString());
        Assert.Equal([240.0, 240, 240], details.GetProperty("background").EnumerateArray().Select(v => v.GetDouble()));
        // A darker I0 lowers every OD by log10(255/240) along each channel.
        Assert.True(D(rows[0], "mean_dab_od") < Ref("skimage-ihc-reference.json").GetProperty("dab_mean").GetDouble());
    }

    [Fact]
    public void FolderInputPicksUpSlidesInNameOrder()
    {
        using var tmp = new TempDir();
        var folder = Directory.CreateDirectory(tmp.File("slides")).FullName;
        File.Copy(TestData.Wsi("OS-2-vsi.ome.tif"), Path.Combine(folder, "b.ome.tif"));
        File.Copy(TestData.Wsi("OS-2-ndpi.ome.tif"), Path.Combine(folder, "a.ome.tif"));
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not a slide");
        var (code, rows, _) = Quantify(tmp, folder);
        Assert.Equal(0, code);
        Assert.Equal(["a.ome.tif", "b.ome.tif"], rows.Select(r => Path.GetFileName(r["slide"])));
    }

    [Theory]
    [InlineData("--weak", "0.5", "--moderate", "0.3")]
    [InlineData("--marker", "no-such-marker")]
    [InlineData("--tissue", "some")]
    [InlineData("--device", "tpu")]
    [InlineData("--device", "gpu")]
    [InlineData("--mpp", "-1")]
    [InlineData("--background", "white")]
    [InlineData("--stains", "H-XYZ")]
    public void BadArgumentsExitWithTwo(params string[] extra)
    {
        using var tmp = new TempDir();
        int code = HistoQuantCli.Main(["quantify", TestData.Wsi("OS-2-ndpi.ome.tif"), "--out", tmp.File("out"), .. extra]);
        Assert.Equal(Cli.Cli.BadArguments, code);
    }

    [Fact]
    public void MissingOutIsABadArgument() =>
        Assert.Equal(Cli.Cli.BadArguments, HistoQuantCli.Main(["quantify", TestData.Wsi("OS-2-ndpi.ome.tif")]));

    [Fact]
    public void InfoDescribesLevelsAndPixelSize()
    {
        using var slide = HistoQuant.Slides.SlideOpener.Open(TestData.Wsi("tcga-cr-7395-01a-01-ts1.svs"));
        var text = InfoCommand.Describe(slide);
        Assert.Contains("format:        aperio-svs", text);
        Assert.Contains("level 1: 2221 x 1783 px, downsample 2.0005", text);
        Assert.Contains("mpp:           unknown", text);
    }

    [Fact]
    public void ThumbnailCommandWritesTrueColourPng()
    {
        using var tmp = new TempDir();
        var png = tmp.File("thumb.png");
        Assert.Equal(0, HistoQuantCli.Main(["thumbnail", TestData.Wsi("OS-2-vsi.ome.tif"), "--max-size", "300", "--out", png]));
        var image = TestData.ReadPng(png);
        Assert.Equal((300, 300), (image.Width, image.Height));
        var reference = TestData.MeanRgb(TestData.ReadPng(TestData.Reference("OS-2-vsi.qupath-render.png")));
        var mean = TestData.MeanRgb(image);
        for (int c = 0; c < 3; c++)
            Assert.Equal(reference[c], mean[c], 1.0);
    }
}
