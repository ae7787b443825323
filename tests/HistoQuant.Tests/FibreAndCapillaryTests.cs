using System.Text.Json;
using HistoQuant.Measures.Fibres;
using HistoQuant.Synth;

namespace HistoQuant.Tests;

/// <summary>
/// MHC class I fibre scoring, IL-1α capillary-like objects and the IL-1Ra presence call, checked against
/// generated slides whose truth is known (fibres with a sarcolemmal ring, capillaries placed as rings and
/// segments, a DAB-free slide).
/// </summary>
public class FibreAndCapillaryTests
{
    private static (string Path, SynthTruth Truth) Generate(TempDir tmp, SynthOptions o)
    {
        string path = tmp.File($"synthetic-{o.Seed}.tif");
        return (path, SyntheticSlideWriter.Write(o, path));
    }

    private static readonly SynthOptions Small = new() { Width = 2048, Height = 1536, Mpp = 0.5, Cells = 20 };

    /// <summary>
    /// The fibre count of a generated slide: at least 90% of the fibres whose centre lies in tissue, at most 10% over
    /// those plus the fibres cut by the tissue edge that keep 300 µm² inside it (a detector rightly finds those too).
    /// </summary>
    internal static void AssertFibreCount(Dictionary<string, string> row, SynthTruth truth)
    {
        double found = QuantifyRun.Number(row, "fibres");
        Assert.True(truth.CutFibres > 0, "the truth counts the fibres cut by the tissue edge");
        Assert.InRange(found, 0.9 * truth.Fibres, 1.1 * (truth.Fibres + truth.CutFibres));
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(1, 100, 1)]
    [InlineData(10, 100, 1)]
    [InlineData(11, 100, 2)]
    [InlineData(25, 100, 2)]
    [InlineData(26, 100, 3)]
    [InlineData(50, 100, 3)]
    [InlineData(51, 100, 4)]
    [InlineData(99, 100, 4)]
    [InlineData(100, 100, 5)]
    public void GradeFollowsTheMyositisScheme(int positive, int fibres, int grade) =>
        Assert.Equal(grade, FibreSummary.GradeFor(positive, fibres));

    [Fact]
    public void NoFibresGiveNoPercentagesAndNoGrade()
    {
        var s = FibreSummary.From([]);
        Assert.Equal((0, null, null, null), (s.Fibres, s.PositiveFibresPct, s.SarcoplasmicFibresPct, s.Grade));
    }

    [Theory]
    [InlineData(0.0, 31)]
    [InlineData(0.15, 32)]
    [InlineData(0.6, 33)]
    public void PercentRingPositiveFibresIsWithinFivePointsOfTheTruth(double fraction, int seed)
    {
        using var tmp = new TempDir();
        var (path, truth) = Generate(tmp, Small with { Seed = seed, FibresPositive = fraction });
        var row = QuantifyRun.Row(tmp, path, "--marker", "mhc1");
        double pct = QuantifyRun.Number(row, "positive_fibres_pct");
        Assert.InRange(pct, truth.PositiveFibresPct - 5, truth.PositiveFibresPct + 5);
        AssertFibreCount(row, truth);
        // The grade must be the truth's unless the truth lies within the 5-point tolerance of a grade boundary.
        int grade = (int)QuantifyRun.Number(row, "mhc1_grade"), truthGrade = FibreSummary.GradeFor(truth.PositiveFibres, truth.Fibres);
        bool nearBoundary = new[] { 10.0, 25, 50 }.Any(b => Math.Abs(truth.PositiveFibresPct - b) < 5);
        Assert.InRange(grade, truthGrade - (nearBoundary ? 1 : 0), truthGrade + (nearBoundary ? 1 : 0));
        Assert.InRange(QuantifyRun.Number(row, "sarcoplasmic_fibres_pct"), 0, 2); // no slide here stains the sarcoplasm
    }

    [Fact]
    public void FaintEndomysiumStillSeparatesFibres()
    {
        // Endomysium at 0.035 OD sums to about 0.6 of the fibres' OD: above the global pale cut (half the median),
        // so only the local line tests (contrast and curvature) separate the fibres. Without them (valley_contrast and
        // ridge_contrast 0) the fibres merge into blobs that are dropped.
        using var tmp = new TempDir();
        var (path, truth) = Generate(tmp, Small with { Seed = 34, FibresPositive = 0.3, EndomysiumOd = 0.035 });
        var row = QuantifyRun.Row(tmp, path, "--marker", "mhc1");
        Assert.InRange(QuantifyRun.Number(row, "positive_fibres_pct"), truth.PositiveFibresPct - 5, truth.PositiveFibresPct + 5);
        AssertFibreCount(row, truth);
        Assert.InRange(QuantifyRun.Number(row, "fibre_area_pct"), 80, 100.5);

        string model = tmp.File("mhc1-no-valley.json");
        var json = TestData.ModelCopy("mhc1", "mhc1-no-valley");
        json["fibres"]!["valley_contrast"] = 0;
        json["fibres"]!["ridge_contrast"] = 0;
        File.WriteAllText(model, json.ToJsonString());
        using var tmp2 = new TempDir();
        var off = QuantifyRun.Row(tmp2, path, "--marker", model);
        Assert.True(QuantifyRun.Number(off, "fibres") < 0.6 * truth.Fibres, $"without valleys {off["fibres"]} fibres of {truth.Fibres}");
        // The segmentation check shows it: scored fibres cover much less of the tissue.
        Assert.True(QuantifyRun.Number(off, "fibre_area_pct") < 60, $"fibre_area_pct {off["fibre_area_pct"]}");
    }

    /// <summary>
    /// The hand-written hull (monotone chain over the outline pixels in raster order, for speed) gives the solidity
    /// OpenCV's hull gives:
    /// random blobs, ellipses with tails, lines and single pixels, touching each other and the frame.
    /// </summary>
    [Fact]
    public void FastSolidityMatchesOpenCvsHull()
    {
        const int w = 160, h = 120;
        var rng = new Random(5);
        for (int round = 0; round < 20; round++)
        {
            using var img = new OpenCvSharp.Mat(h, w, OpenCvSharp.MatType.CV_32SC1, OpenCvSharp.Scalar.All(0));
            int count = 12;
            for (int k = 1; k <= count; k++)
            {
                var c = new OpenCvSharp.Point(rng.Next(w), rng.Next(h));
                var colour = OpenCvSharp.Scalar.All(k);
                switch (k % 4)
                {
                    case 0: OpenCvSharp.Cv2.Ellipse(img, c, new OpenCvSharp.Size(rng.Next(1, 25), rng.Next(1, 25)), rng.Next(180), 0, 360, colour, -1); break;
                    case 1: OpenCvSharp.Cv2.Ellipse(img, c, new OpenCvSharp.Size(rng.Next(5, 20), rng.Next(5, 20)), 0, 0, 360, colour, -1);
                        OpenCvSharp.Cv2.Line(img, c, new OpenCvSharp.Point(c.X + rng.Next(-40, 40), c.Y + rng.Next(-40, 40)), colour, rng.Next(1, 6)); break;
                    case 2: OpenCvSharp.Cv2.Line(img, c, new OpenCvSharp.Point(rng.Next(w), rng.Next(h)), colour, 1); break;
                    default: img.Set(c.Y, c.X, k); break;
                }
            }
            var labels = new int[w * h];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    labels[y * w + x] = img.Get<int>(y, x);
            for (int k = 1; k <= count; k++)
            {
                var outline = new List<OpenCvSharp.Point>();
                int n = 0;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        int i = y * w + x;
                        if (labels[i] != k)
                            continue;
                        n++;
                        if (x == 0 || y == 0 || x == w - 1 || y == h - 1 || labels[i - 1] != k || labels[i + 1] != k || labels[i - w] != k || labels[i + w] != k)
                            outline.Add(new OpenCvSharp.Point(x, y));
                    }
                if (n == 0)
                    continue;
                double expected = 1;
                if (outline.Count >= 3)
                {
                    var hull = OpenCvSharp.Cv2.ConvexHull(outline);
                    expected = Math.Min(1, n / (OpenCvSharp.Cv2.ContourArea(hull) + OpenCvSharp.Cv2.ArcLength(hull, true) / 2 + 1));
                }
                double fast = FibreDetector.HullSolidity(n, outline.ToArray(), new int[outline.Count + 2]);
                Assert.Equal(expected, fast, 6); // OpenCV sums the perimeter in single precision
            }
        }
    }

    [Fact]
    public void FibreDetectionsAreWrittenWithTheirClass()
    {
        using var tmp = new TempDir();
        var (path, truth) = Generate(tmp, Small with { Seed = 34, FibresPositive = 0.5 });
        string outDir = tmp.File("out");
        Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["quantify", path, "--marker", "mhc1", "--detections", "--out", outDir]));
        string folder = DetectionOutput.Folder(outDir, "synthetic-34");
        Assert.True(new FileInfo(Path.Combine(folder, "overlay.png")).Length > 1000);
        var features = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "detections.geojson"))).RootElement.GetProperty("features");
        var classes = features.EnumerateArray().Select(f => f.GetProperty("properties").GetProperty("classification").GetProperty("name").GetString()).ToList();
        int positive = classes.Count(c => c is "Fibre: Sarcolemmal" or "Fibre: Sarcoplasmic"), negative = classes.Count(c => c == "Fibre: Negative");
        var row = QuantifyRun.ReadCsv(Path.Combine(outDir, "results.csv")).Single();
        Assert.Equal((int)QuantifyRun.Number(row, "fibres"), classes.Count(c => c!.StartsWith("Fibre")));
        Assert.InRange(100.0 * positive / (positive + negative), truth.PositiveFibresPct - 5, truth.PositiveFibresPct + 5);
        var ring = features.EnumerateArray().First().GetProperty("geometry").GetProperty("coordinates")[0];
        Assert.True(ring.GetArrayLength() > 4, "fibres are exported with their outline");
    }

    [Fact]
    public void CapillariesAreCountedAndNotTakenForCells()
    {
        using var tmp = new TempDir();
        var (path, truth) = Generate(tmp, Small with { Seed = 35, FibresPositive = 0, Cells = 30, Capillaries = 40 });
        var row = QuantifyRun.Row(tmp, path, "--marker", "il1a");
        Assert.InRange(QuantifyRun.Number(row, "capillaries"), truth.Capillaries * 0.9, truth.Capillaries * 1.1);
        Assert.InRange(QuantifyRun.Number(row, "capillaries_per_mm2"), truth.CapillariesPerMm2 * 0.88, truth.CapillariesPerMm2 * 1.12);
        Assert.InRange(QuantifyRun.Number(row, "positive_cells"), truth.PositiveCells * 0.9, truth.PositiveCells * 1.1);
    }

    [Fact]
    public void CellsAloneAreNotCapillaries()
    {
        using var tmp = new TempDir();
        var (path, truth) = Generate(tmp, Small with { Seed = 36, FibresPositive = 0, Cells = 60 });
        var row = QuantifyRun.Row(tmp, path, "--marker", "il1a");
        Assert.InRange(QuantifyRun.Number(row, "capillaries"), 0, 2);
        Assert.InRange(QuantifyRun.Number(row, "positive_cells"), truth.PositiveCells * 0.9, truth.PositiveCells * 1.1);
    }

    [Fact]
    public void PresenceCallFollowsTheModelsThreshold()
    {
        using var tmp = new TempDir();
        var (stained, _) = Generate(tmp, Small with { Seed = 37, FibresPositive = 0, Cells = 150 });
        var (blank, _) = Generate(tmp, Small with { Seed = 38, DabScale = 0 });
        var rows = QuantifyRun.Rows(tmp, stained, blank, "--marker", "il1ra");
        var byFile = rows.ToDictionary(r => Path.GetFileName(r["slide"]));
        Assert.True(QuantifyRun.Number(byFile["synthetic-37.tif"], "positive_area_pct") >= 0.5);
        Assert.Equal("yes", byFile["synthetic-37.tif"]["present"]);
        Assert.Equal("no", byFile["synthetic-38.tif"]["present"]);
        // A model without a presence rule leaves the column empty.
        Assert.Equal("", QuantifyRun.Row(tmp, blank)["present"]);
    }
}

public class QcOverlayTests
{
    [Fact]
    public void OverlayOutlinesTissueAndTintsPositivePixels()
    {
        using var tmp = new TempDir();
        string slide = TestData.RepoFile("sample-slides/synthetic/P01-pre-MHC1.tif");
        Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["quantify", slide, "--marker", "mhc1", "--detections", "--out", tmp.Path]));
        using var overlay = OpenCvSharp.Cv2.ImRead(Path.Combine(DetectionOutput.Folder(tmp.Path, "P01-pre-MHC1"), "overlay.png"));
        Assert.Equal((2048, 1536 + 64), (overlay.Cols, overlay.Rows)); // the overview, longest side 2048, and the band below
        int outline = 0, tinted = 0, rows = overlay.Rows, cols = overlay.Cols;
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++)
            {
                var p = overlay.At<OpenCvSharp.Vec3b>(y, x); // B, G, R
                if (p.Item0 == 255 && p.Item1 == 0 && p.Item2 == 255)
                    outline++; // magenta: the tissue outline, a colour nothing else uses
                else if (p.Item2 < 140 && p.Item1 > 160 && p.Item0 > 160)
                    tinted++;
            }
        Assert.True(outline > 1000, $"tissue outline: {outline} px");
        // The band below holds the title, a scale bar and the legend: its swatches carry the marks' colours.
        int swatches = 0;
        for (int y = 1536; y < rows; y++)
            for (int x = 0; x < cols; x++)
                if (overlay.At<OpenCvSharp.Vec3b>(y, x) is { Item0: 255, Item1: 0, Item2: 255 } or { Item0: 0, Item1: 0, Item2: 200 })
                    swatches++;
        Assert.True(swatches >= 2 * 100, $"legend swatches: {swatches} px"); // tissue outline and sarcolemmal fibre, 10x10 inside each
        // Rings cover about 11% of the tissue (about 60% of the image): the cyan tint must show up in the thousands.
        Assert.True(tinted > 0.02 * overlay.Cols * overlay.Rows, $"tinted: {tinted} px");
    }

    [Fact]
    public void ALegendWiderThanTheOverlayWrapsOntoMoreLinesInsteadOfLosingEntries()
    {
        // Twelve entries in distinct colours on a 300 px wide overview: one line holds two or three of them.
        var legend = Enumerable.Range(0, 12).Select(i => ($"class number {i}", new[] { 20 * i, 255 - 20 * i, 7 + i })).ToList();
        using var image = new OpenCvSharp.Mat(200, 300, OpenCvSharp.MatType.CV_8UC3, OpenCvSharp.Scalar.All(128));
        using var framed = HistoQuant.Output.DetectionFiles.WithBand(image, "title", 0.5, legend);
        Assert.Equal(300, framed.Cols);
        Assert.True(framed.Rows > 200 + HistoQuant.Output.DetectionFiles.BandHeight, $"{framed.Rows} rows: the band did not grow");
        int rows = framed.Rows, cols = framed.Cols;
        foreach (var (_, rgb) in legend)
        {
            bool found = false;
            for (int y = 200; y < rows && !found; y++)
                for (int x = 0; x < cols && !found; x++)
                    found = framed.At<OpenCvSharp.Vec3b>(y, x) is var p && p.Item2 == rgb[0] && p.Item1 == rgb[1] && p.Item0 == rgb[2];
            Assert.True(found, $"swatch {string.Join(",", rgb)} missing from the legend");
        }
    }
}
