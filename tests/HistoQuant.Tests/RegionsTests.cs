using System.Globalization;

namespace HistoQuant.Tests;

/// <summary>Regions of interest from QuPath annotation GeoJSON (`--regions`, the manifest's `regions`).</summary>
public class RegionsTests
{
    private static string Slide => Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic", "P01-pre-MHC1.tif"); // 3072x2304 px, 0.5 µm/px

    private static string Rect(double x0, double y0, double x1, double y1) =>
        FormattableString.Invariant($"[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]");

    private static string Feature(string geometry, string? cls = null) =>
        $"{{\"type\":\"Feature\",\"geometry\":{geometry},\"properties\":{{\"objectType\":\"annotation\"{(cls is null ? "" : $",\"classification\":{{\"name\":\"{cls}\",\"color\":[255,0,0]}}")}}}}}";

    private static string Write(TempDir tmp, string name, params string[] features)
    {
        File.WriteAllText(tmp.File(name), $"{{\"type\":\"FeatureCollection\",\"features\":[{string.Join(",", features)}]}}");
        return tmp.File(name);
    }

    private static double D(Dictionary<string, string> row, string column) => double.Parse(row[column], CultureInfo.InvariantCulture);

    [Fact]
    public void WithTissueAllTheAreaIsTheRegionsAreaExactly()
    {
        using var tmp = new TempDir();
        // A 1000² px square with a 200² px hole, a 100² px square classified Ignore* inside it, and a second
        // annotation (another class) overlapping the first: the union counts once.
        string regions = Write(tmp, "r.geojson",
            Feature($"{{\"type\":\"Polygon\",\"coordinates\":[{Rect(100, 100, 1100, 1100)},{Rect(300, 300, 500, 500)}]}}", "Tumor"),
            Feature($"{{\"type\":\"Polygon\",\"coordinates\":[{Rect(900, 900, 1000, 1000)}]}}", "Ignore*"),
            Feature($"{{\"type\":\"MultiPolygon\",\"coordinates\":[[{Rect(1000, 100, 1200, 300)}]]}}", "Stroma"));
        var row = QuantifyRun.Row(tmp, Slide, "--tissue", "all", "--regions", regions);
        double pixels = 1000 * 1000 - 200 * 200 - 100 * 100 + 100 * 200;
        Assert.Equal(Math.Round(pixels * 0.25 / 1e6, 6), D(row, "tissue_area_mm2"), 9);
    }

    [Fact]
    public void PerRegionAddsARowPerAnnotationClass()
    {
        using var tmp = new TempDir();
        string regions = Write(tmp, "r.geojson",
            Feature($"{{\"type\":\"Polygon\",\"coordinates\":[{Rect(100, 100, 1100, 1100)}]}}", "Tumor"),
            Feature($"{{\"type\":\"Polygon\",\"coordinates\":[{Rect(900, 900, 1000, 1000)}]}}", "Ignore*"),
            Feature($"{{\"type\":\"Polygon\",\"coordinates\":[{Rect(1000, 100, 1200, 300)}]}}", "Stroma"));
        var rows = QuantifyRun.Rows(tmp, Slide, "--tissue", "all", "--regions", regions, "--per-region");
        Assert.Equal(["all", "Tumor", "Stroma"], rows.Select(r => r["region"]));
        double Px(Dictionary<string, string> r) => Math.Round(D(r, "tissue_area_mm2") * 1e6 / 0.25);
        Assert.Equal(1000 * 1000 - 100 * 100, Px(rows[1]));      // the exclusion applies to every class
        Assert.Equal(200 * 200, Px(rows[2]));
        Assert.Equal(Px(rows[1]) + Px(rows[2]) - 100 * 200, Px(rows[0])); // the union counts the overlap once
    }

    [Fact]
    public void TwoHalvesAddUpToTheWholeSlideForAreaCellsAndFibres()
    {
        using var tmp = new TempDir();
        string left = Write(tmp, "left.geojson", Feature($"{{\"type\":\"Polygon\",\"coordinates\":[{Rect(0, 0, 1536, 2304)}]}}"));
        string right = Write(tmp, "right.geojson", Feature($"{{\"type\":\"Polygon\",\"coordinates\":[{Rect(1536, 0, 3072, 2304)}]}}"));
        File.WriteAllText(tmp.File("m.csv"), $"slide,marker,regions,side\n{Slide},mhc1,left.geojson,left\n{Slide},mhc1,right.geojson,right\n");
        var halves = QuantifyRun.Rows(tmp, "--manifest", tmp.File("m.csv"), "--cells");
        var whole = QuantifyRun.Row(tmp, Slide, "--marker", "mhc1", "--cells");
        Assert.Equal(["left", "right"], halves.Select(r => r["side"]));
        Assert.Equal(["left.geojson", "right.geojson"], halves.Select(r => Path.GetFileName(r["regions"])));
        foreach (var column in new[] { "tissue_area_mm2", "total_cells", "positive_cells", "fibres" })
            Assert.Equal(D(whole, column), halves.Sum(r => D(r, column)), 5);
        Assert.True(D(halves[0], "fibres") > 50 && D(halves[1], "fibres") > 50);
    }

    [Theory]
    [InlineData("{\"type\":\"FeatureCollection\",\"features\":[", "not valid JSON")]
    [InlineData("{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[0,0],[10,10]]},\"properties\":{}}]}", "feature 1: geometry type 'LineString' is not an area")]
    [InlineData("[{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[9000,0],[9000,10],[0,0]]]},\"properties\":{}}]", "feature 1 has a point (9000, 0) outside the 3072x2304 px slide")]
    [InlineData("[{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,10],[0,0]]]},\"properties\":{\"classification\":{\"name\":\"Exclude\"}}}]", "only exclusions")]
    [InlineData("[{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[40,0],[40,40],[0,0]]]},\"properties\":{}}]", "the regions cover no tissue")]
    [InlineData("[{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[40,0],[40,40],[0,0]]]},\"properties\":{\"objectType\":\"cell\"}}]", "feature 1 is a QuPath cell, not an annotation")]
    public void BadRegionsMakeAnErrorRowNamingTheFileAndTheBatchGoesOn(string geojson, string expected)
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("bad.geojson"), geojson);
        File.WriteAllText(tmp.File("m.csv"), $"slide,marker,regions\n{Slide},dab-generic,bad.geojson\n{Slide},mhc1,\n");
        var rows = QuantifyRun.ReadCsv(Path.Combine(RunManifest(tmp), "results.csv"));
        Assert.Equal(["error", "ok"], rows.Select(r => r["status"]));
        Assert.Contains("bad.geojson: ", rows[0]["error"]);
        Assert.EndsWith("bad.geojson", rows[0]["regions"]);
        Assert.Contains(expected, rows[0]["error"]);
        Assert.DoesNotContain("\n", rows[0]["error"]);
    }

    private static string RunManifest(TempDir tmp)
    {
        string outDir = tmp.File("out");
        Assert.Equal(1, HistoQuant.Cli.HistoQuantCli.Main(["quantify", "--manifest", tmp.File("m.csv"), "--out", outDir]));
        return outDir;
    }

    [Fact]
    public void RegionsBelongToOneSlide()
    {
        using var tmp = new TempDir();
        string regions = Write(tmp, "r.geojson", Feature($"{{\"type\":\"Polygon\",\"coordinates\":[{Rect(0, 0, 100, 100)}]}}"));
        Assert.Equal(HistoQuant.Cli.Cli.BadArguments, HistoQuant.Cli.HistoQuantCli.Main(["quantify", Slide, Slide, "--regions", regions, "--out", tmp.File("o")]));
    }
}

/// <summary>Detection files QuPath opens as if it had made them, one folder per slide and marker.</summary>
public class DetectionFileTests
{
    private static string Synthetic(string name) => Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic", name);

    [Fact]
    public void DetectionsOnlyWriteFilesTheyChangeNoNumber()
    {
        using var tmp = new TempDir();
        foreach (var marker in new[] { "dab-generic", "il1a" })
        {
            Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["quantify", Synthetic("P01-pre-CD163.tif"), "--marker", marker, "--out", tmp.File($"off-{marker}")]));
            Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["quantify", Synthetic("P01-pre-CD163.tif"), "--marker", marker, "--detections", "--out", tmp.File($"on-{marker}")]));
            string Numbers(string dir) => string.Join("\n", QuantifyRun.ReadCsv(Path.Combine(dir, "results.csv")).Select(r => string.Join(",", r.Where(c => c.Key != "seconds"))));
            Assert.Equal(Numbers(tmp.File($"off-{marker}")), Numbers(tmp.File($"on-{marker}")));
        }
        Assert.Equal("", QuantifyRun.ReadCsv(tmp.File("on-dab-generic/results.csv"))[0]["total_cells"]);
    }

    [Fact]
    public void TwoMarkersOnOneSlideAndTwoSlidesOfOneNameKeepAllTheirFiles()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp.File("a"));
        Directory.CreateDirectory(tmp.File("b"));
        File.Copy(Synthetic("P01-pre-CD163.tif"), tmp.File("a/s.tif"));
        File.Copy(Synthetic("P01-pre-MHC1.tif"), tmp.File("b/s.tif"));
        File.WriteAllText(tmp.File("m.csv"), "slide,marker\na/s.tif,cd163\na/s.tif,il1a\nb/s.tif,cd163\n");
        Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["quantify", "--manifest", tmp.File("m.csv"), "--detections", "--out", tmp.File("out")]));
        var folders = Directory.GetDirectories(tmp.File("out"), "s.*").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(3, folders.Count);
        Assert.Equal(2, folders.Count(f => f!.StartsWith("s.cd163-")));
        Assert.All(folders, f => Assert.True(File.Exists(Path.Combine(tmp.File("out"), f!, "detections.geojson"))));
    }

    [Fact]
    public void ABatchWritesAQcPageWithOverlaysStatusAndWarnings()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("m.csv"), $"slide,marker\n{Synthetic("P01-pre-CD163.tif")},cd163\n{TestData.Wsi("cmu-1-small-region.svs")},cd163\nmissing.tif,cd163\n");
        Assert.Equal(1, HistoQuant.Cli.HistoQuantCli.Main(["quantify", "--manifest", tmp.File("m.csv"), "--detections", "--out", tmp.File("out")]));
        string page = System.Net.WebUtility.HtmlDecode(File.ReadAllText(tmp.File("out/qc.html")));
        Assert.Contains("3 rows, 2 measured, 1 failed, 1 with a stain mismatch", page);
        var images = System.Text.RegularExpressions.Regex.Matches(page, "<img src=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(2, images.Count);
        Assert.All(images, i => Assert.True(File.Exists(Path.Combine(tmp.File("out"), i)), i));
        Assert.Contains("<td class=\"mismatch\">mismatch</td>", page);
        Assert.Contains("positive cells per mm²", page);
        Assert.Contains("missing.tif: ", page); // the error row says why
    }

    [Fact]
    public void FeaturesHaveStableIdsAndCapillariesTheirOutline()
    {
        using var tmp = new TempDir();
        var o = new HistoQuant.Synth.SynthOptions { Width = 1536, Height = 1152, Mpp = 0.5, Seed = 8, Capillaries = 30 };
        HistoQuant.Synth.SyntheticSlideWriter.Write(o, tmp.File("cap.tif"));
        List<System.Text.Json.JsonElement> Features(string outDir)
        {
            Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["quantify", tmp.File("cap.tif"), "--marker", "il1a", "--detections", "--out", outDir]));
            string file = Path.Combine(DetectionOutput.Folder(outDir, "cap"), "detections.geojson");
            return System.Text.Json.JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("features").EnumerateArray().ToList();
        }
        var first = Features(tmp.File("one"));
        var second = Features(tmp.File("two"));
        Assert.Equal(first.Select(f => f.GetProperty("id").GetString()), second.Select(f => f.GetProperty("id").GetString()));
        Assert.All(first, f => Assert.True(Guid.TryParse(f.GetProperty("id").GetString(), out _)));
        var capillaries = first.Where(f => f.GetProperty("properties").GetProperty("classification").GetProperty("name").GetString()!.StartsWith("Capillary")).ToList();
        Assert.True(capillaries.Count >= 10, $"{capillaries.Count} capillaries");
        Assert.All(capillaries, f => Assert.Equal("detection", f.GetProperty("properties").GetProperty("objectType").GetString()));
        // Real outlines: not the 5-point placeholder square of an object without one.
        Assert.True(capillaries.Count(f => f.GetProperty("geometry").GetProperty("coordinates")[0].GetArrayLength() > 5) > capillaries.Count * 0.8);
    }
}
