using System.Text.RegularExpressions;
using HistoQuant.Cli;
using HistoQuant.Kernels;
using HistoQuant.Output;
using HistoQuant.Slides;
using HistoQuant.Synth;
using OpenCvSharp;

namespace HistoQuant.Tests;

/// <summary>The viewer's export without a browser: the deep-zoom pyramid's geometry and pixels, tissue-only tiles, the detections' conversion, and `view`.</summary>
public sealed class ViewerTests
{
    private const int W = 1100, H = 700;

    [Fact]
    public void PyramidHasDeepZoomGeometryAndTheSlidesPixels()
    {
        using var tmp = new TempDir();
        string path = tmp.File("s.tif");
        SyntheticSlideWriter.Write(new SynthOptions { Width = W, Height = H, Seed = 3, Cells = 20 }, path);
        using var slide = SlideOpener.Open(path);
        var p = DeepZoom.Write(slide, TissueMask.All(slide.Levels[0]), tmp.Path);
        Assert.Equal(11, p.MaxLevel); // 2^11 = 2048 is the first power of two ≥ 1100
        Assert.Contains("TileSize=\"254\"", File.ReadAllText(tmp.File("slide.dzi")));
        Assert.Contains("<Size Width=\"1100\" Height=\"700\"/>", File.ReadAllText(tmp.File("slide.dzi")));
        Assert.Equal(0, p.TilesSkipped);

        var full = new byte[W * H * 3];
        RegionReader.Read(slide, 0, 0, 0, W, H, full, new byte[slide.Levels[0].TileBufferBytes()]);
        using var rgb = Mat.FromPixelData(H, W, MatType.CV_8UC3, full);
        using var bgr = new Mat();
        Cv2.CvtColor(rgb, bgr, ColorConversionCodes.RGB2BGR);
        // An inner tile: 254 px and one overlap pixel on each side; the last column: what is left plus the left overlap.
        AssertTile(tmp.File("slide_files/11/1_1.jpg"), bgr, new Rect(253, 253, 256, 256));
        AssertTile(tmp.File("slide_files/11/4_2.jpg"), bgr, new Rect(4 * 254 - 1, 2 * 254 - 1, W - 4 * 254 + 1, H - 2 * 254 + 1), offsets: false);
        // One level down: the slide halved (2×2 means), 550×350 px.
        using var half = new Mat();
        Cv2.Resize(bgr, half, new Size(W / 2, H / 2), 0, 0, InterpolationFlags.Area);
        AssertTile(tmp.File("slide_files/10/1_0.jpg"), half, new Rect(253, 0, 256, 255));
        AssertTile(tmp.File("slide_files/10/2_1.jpg"), half, new Rect(2 * 254 - 1, 253, W / 2 - 2 * 254 + 1, H / 2 - 253), offsets: false);
        // The coarsest levels come from the mosaic: level 7 is 69×44 px in one tile, level 0 one pixel.
        using (var l7 = Cv2.ImRead(tmp.File("slide_files/7/0_0.jpg")))
            Assert.Equal((69, 44), (l7.Cols, l7.Rows));
        using (var l0 = Cv2.ImRead(tmp.File("slide_files/0/0_0.jpg")))
            Assert.Equal((1, 1), (l0.Cols, l0.Rows));
        Assert.Equal(p.TilesWritten, Directory.GetFiles(tmp.File("slide_files"), "*.jpg", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public void OnlyTilesTouchingTissueAreWrittenAndListed()
    {
        using var tmp = new TempDir();
        string path = tmp.File("s.tif");
        SyntheticSlideWriter.Write(new SynthOptions { Width = W, Height = H, Seed = 3, Cells = 20 }, path);
        using var slide = SlideOpener.Open(path);
        // Tissue in the left quarter only (mask of 110×70 px, 10 level-0 px each).
        var mask = new byte[110 * 70];
        for (int y = 0; y < 70; y++)
            for (int x = 0; x < 27; x++)
                mask[y * 110 + x] = 1;
        var p = DeepZoom.Write(slide, new TissueMask(110, 70, W, H, mask, new Stains.Background(240, 240, 240)), tmp.Path);
        Assert.True(p.TilesSkipped > 0);
        for (int level = 0; level <= p.MaxLevel; level++)
        {
            var (lw, lh) = DeepZoom.LevelSize(W, H, p.MaxLevel - level);
            int across = (lw + 253) / 254, down = (lh + 253) / 254;
            for (int ty = 0; ty < down; ty++)
                for (int tx = 0; tx < across; tx++)
                {
                    int i = ty * across + tx;
                    bool listed = (Convert.ToInt32(p.Present[level][i / 4].ToString(), 16) >> (3 - i % 4) & 1) == 1;
                    bool written = File.Exists(tmp.File($"slide_files/{level}/{tx}_{ty}.jpg"));
                    Assert.Equal(written, listed);
                    // Full resolution: a tile starting right of the tissue (270 px, plus a mask pixel's margin) is glass.
                    if (level == p.MaxLevel)
                        Assert.Equal(tx * 254 - 1 < 280, written);
                }
        }
        using var blank = Cv2.ImRead(tmp.File(p.BlankTile));
        Assert.InRange(blank.Mean().Val1, 235, 245); // the glass colour
    }

    [Fact]
    public void DetectionsBecomeLayersClassesAndMeasurements()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("d.geojson"), """
            {"type":"FeatureCollection","features":[
             {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[100,0],[100,100],[0,0]]]},"properties":{"objectType":"annotation","classification":{"name":"Tissue","color":[0,160,0]}}},
             {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[10,10],[20,10],[20,20.4],[10,10]]]},"nucleusGeometry":{"type":"Polygon","coordinates":[[[12,12],[14,12],[14,14],[12,12]]]},
              "properties":{"objectType":"cell","classification":{"name":"3+","color":[200,0,0]},"measurements":{"Cell: Area µm^2":25.5,"Nucleus: DAB OD mean":0.61}}},
             {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[30,30],[60,30],[60,60],[30,30]]]},"properties":{"objectType":"detection","classification":{"name":"Fibre: Negative","color":[0,170,0]},"measurements":{"Fibre: Area µm^2":900}}},
             {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[70,70],[72,70],[72,72],[70,70]]]},"properties":{"objectType":"detection","classification":{"name":"Capillary (ring)","color":[0,0,255]},"measurements":{}}}
            ]}
            """);
        var data = ViewerData.FromGeoJson(tmp.File("d.geojson"));
        Assert.Equal(4, data.Count);
        Assert.Contains("\"layers\":[{\"name\":\"Regions\",\"always\":true},{\"name\":\"Cells\",\"always\":false},{\"name\":\"Fibres\",\"always\":false},{\"name\":\"Capillaries\",\"always\":false}]", data.Json);
        Assert.Contains("{\"name\":\"3\\u002B\",\"color\":\"#c80000\"}", data.Json);
        Assert.Contains("\"keys\":[\"Cell: Area \\u00B5m^2\",\"Nucleus: DAB OD mean\",\"Fibre: Area \\u00B5m^2\"]", data.Json);
        // The cell: layer 1, class 1, its ring (rounded, without GeoJSON's closing point), measurements by key index, its nucleus.
        Assert.Contains("[1,1,[[10,10,20,10,20,20]],[0,25.5,1,0.61],[12,12,14,12,14,14]]", data.Json);
    }

    [Fact]
    public void ABrokenDetectionsFileIsOneLineNamingIt()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("d.geojson"), "{\"type\":\"FeatureCollection\",\"features\":[");
        var e = Assert.Throws<FormatException>(() => ViewerData.FromGeoJson(tmp.File("d.geojson")));
        Assert.StartsWith(tmp.File("d.geojson") + ": not a readable GeoJSON file", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        File.WriteAllText(tmp.File("e.geojson"), "{\"type\":\"Feature\"}");
        Assert.Contains("no 'features' array", Assert.Throws<FormatException>(() => ViewerData.FromGeoJson(tmp.File("e.geojson"))).Message);
    }

    [Fact]
    public void ViewWritesTheViewerOfAMeasuredSlideAndQcLinksToIt()
    {
        using var tmp = new TempDir();
        string slide = Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic", "P01-post-CD163.tif");
        string results = tmp.File("results");
        Assert.Equal(0, HistoQuantCli.Main(["quantify", slide, "--marker", "cd163", "--out", results, "--detections"]));
        Assert.DoesNotContain("viewer.html", File.ReadAllText(Path.Combine(results, "qc.html")));
        Assert.Equal(0, HistoQuantCli.Main(["view", slide, "--results", results]));
        string folder = Assert.Single(Directory.GetDirectories(results));
        Assert.True(File.Exists(Path.Combine(folder, "viewer.html")));
        Assert.True(File.Exists(Path.Combine(folder, "viewer", "openseadragon.min.js")));
        Assert.Contains("Redistribution and use", File.ReadAllText(Path.Combine(folder, "viewer", "openseadragon-LICENSE.txt")));
        string detections = File.ReadAllText(Path.Combine(folder, "viewer", "detections.js"));
        Assert.StartsWith("window.HQ_DETECTIONS = {", detections);
        Assert.Contains("\"Cells\"", detections);
        Assert.Matches(new Regex("<a class=\"viewer\" href=\"P01-post-CD163\\.cd163-[0-9a-f]{6}/viewer\\.html\""), File.ReadAllText(Path.Combine(results, "qc.html")));
    }

    [Fact]
    public void ARerunWithViewerWritesTheMissingViewersOfKeptRows()
    {
        using var tmp = new TempDir();
        string slide = Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic", "P01-pre-CD163.tif");
        string results = tmp.File("results");
        Assert.Equal(0, HistoQuantCli.Main(["quantify", slide, "--marker", "cd163", "--out", results, "--detections"]));
        string folder = Assert.Single(Directory.GetDirectories(results));
        Assert.False(File.Exists(Path.Combine(folder, "viewer.html")));
        string before = File.ReadAllText(Path.Combine(results, "results.json"));
        Assert.Equal(0, HistoQuantCli.Main(["quantify", slide, "--marker", "cd163", "--out", results, "--viewer"]));
        Assert.True(File.Exists(Path.Combine(folder, "viewer.html")));
        Assert.Contains("viewer.html", File.ReadAllText(Path.Combine(results, "qc.html")));
        Assert.Equal(before, File.ReadAllText(Path.Combine(results, "results.json"))); // the row was kept, not measured again
    }

    [Fact]
    public void ViewWithoutResultsIsOneLineNamingTheFile()
    {
        using var tmp = new TempDir();
        string slide = Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic", "P01-post-CD163.tif");
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.NotEqual(0, HistoQuantCli.Main(["view", slide, "--results", tmp.Path]));
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.StartsWith($"histoquant: {Path.Combine(tmp.Path, "results.json")}: not found", error.ToString());
        Assert.Single(error.ToString().TrimEnd().Split('\n'));
    }

    /// <summary>The tile is the slide's rectangle: close to it (JPEG's loss on noisy texture), and (on a tile full of tissue) closer than the rectangle one pixel off.</summary>
    private static void AssertTile(string file, Mat source, Rect rect, bool offsets = true)
    {
        using var tile = Cv2.ImRead(file);
        Assert.False(tile.Empty(), $"{file} missing");
        Assert.Equal((rect.Width, rect.Height), (tile.Cols, tile.Rows));
        double Diff(Rect r)
        {
            using var expected = new Mat(source, r);
            using var diff = new Mat();
            Cv2.Absdiff(tile, expected, diff);
            var m = Cv2.Mean(diff);
            return (m.Val0 + m.Val1 + m.Val2) / 3;
        }
        double here = Diff(rect);
        Assert.True(here < 6, $"{file} differs from the slide at {rect.X},{rect.Y}: mean abs diff {here:0.0} per channel");
        foreach (var (dx, dy) in offsets ? new[] { (1, 0), (-1, 0), (0, 1), (0, -1) } : [])
        {
            var off = new Rect(rect.X + dx, rect.Y + dy, rect.Width, rect.Height);
            if (off.X >= 0 && off.Y >= 0 && off.Right <= source.Cols && off.Bottom <= source.Rows)
                Assert.True(here < Diff(off), $"{file} matches the slide better {dx},{dy} px off");
        }
    }
}
