using System.Globalization;
using System.Text.Json;
using HistoQuant.Cli;
using HistoQuant.Kernels;
using HistoQuant.Measures.Cells;
using HistoQuant.Stains;
using HistoQuant.Synth;

namespace HistoQuant.Tests;

public class CellTests
{
    private static readonly SynthOptions Macrophages = new() { Width = 2048, Height = 1536, Mpp = 0.5, Seed = 21, Cells = 120, NegativeNuclei = 200, FibresPositive = 0 };

    private static Dictionary<string, string> Quantify(TempDir tmp, string slide, params string[] extra) => QuantifyRun.Row(tmp, [slide, .. extra]);

    private static double D(Dictionary<string, string> row, string key) => QuantifyRun.Number(row, key);

    [Fact]
    public void PositiveCellsPerMm2MatchTheTruthAtTwoRegionSizes()
    {
        using var tmp = new TempDir();
        string path = tmp.File("macrophages.tif");
        var truth = SyntheticSlideWriter.Write(Macrophages, path);
        var small = Quantify(tmp, path, "--marker", "cd163", "--cell-tile", "128");
        var large = Quantify(tmp, path, "--marker", "cd163", "--cell-tile", "700");
        foreach (var row in new[] { small, large })
        {
            double density = D(row, "positive_cells_per_mm2");
            Assert.InRange(density / truth.PositiveCellsPerMm2, 0.95, 1.05);
            Assert.InRange(D(row, "total_cells"), 0.9 * (truth.PositiveCells + truth.NegativeNuclei), 1.1 * (truth.PositiveCells + truth.NegativeNuclei));
        }
        // Seams: a cell belongs to the region holding its centroid, so region size does not change the count.
        Assert.InRange(D(small, "total_cells") / D(large, "total_cells"), 0.99, 1.01);
        Assert.InRange(D(small, "positive_cells") / D(large, "positive_cells"), 0.99, 1.01);
    }

    [Fact]
    public void DenseInfiltratesOnAGeneratedSlideAreCountedWithinFivePercent()
    {
        // synth --clusters: twelve infiltrates of small cells 8–14 µm apart (never closer than 6 µm, so each truth
        // cell is one), two in five positive, through JPEG tiles, the tissue mask and the detection regions.
        using var tmp = new TempDir();
        string path = tmp.File("infiltrates.tif");
        var truth = SyntheticSlideWriter.Write(new SynthOptions { Width = 2048, Height = 2048, Mpp = 0.5, Seed = 3, Cells = 0, NegativeNuclei = 100, Clusters = 12, FibresPositive = 0 }, path);
        Assert.True(truth.PositiveCells > 120, $"only {truth.PositiveCells} positive cells generated");
        var row = Quantify(tmp, path, "--marker", "cd163");
        Assert.InRange(D(row, "positive_cells_per_mm2") / truth.PositiveCellsPerMm2, 0.95, 1.05);
        Assert.InRange(D(row, "total_cells"), 0.95 * (truth.PositiveCells + truth.NegativeNuclei), 1.05 * (truth.PositiveCells + truth.NegativeNuclei));
    }

    [Fact]
    public void GeneratedInfiltratesHoldNucleiEightToFourteenMicronsApart()
    {
        var options = new SynthOptions { Width = 2048, Height = 2048, Mpp = 0.5, Seed = 3, Cells = 0, NegativeNuclei = 0, Clusters = 12 };
        var scene = new SyntheticScene(options);
        var nuclei = scene.BlobsNear(0, 0, 1024, 1024).Where(b => b.Kind == BlobKind.Cell).ToList();
        Assert.Equal(scene.PositiveCells + scene.NegativeNuclei, nuclei.Count);
        Assert.InRange(scene.PositiveCells / (double)nuclei.Count, 0.3, 0.5);
        var nearest = nuclei.Select(a => nuclei.Where(b => b != a).Min(b => Math.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y)))).ToList();
        Assert.InRange(nearest.Min(), 8, 14);
        Assert.InRange(nearest.Max(), 8, 14);
        Assert.Equal(0, new SyntheticScene(options with { Clusters = 0 }).PositiveCells);
        Assert.NotNull((options with { Clusters = -1 }).Problem());
    }

    [Fact]
    public void NoCellColumnsUnlessTheModelOrTheUserAsks()
    {
        using var tmp = new TempDir();
        var row = Quantify(tmp, TestData.Wsi("OS-2-vsi.ome.tif"));
        Assert.Equal("", row["total_cells"]);
        Assert.Equal("", row["positive_cells_per_mm2"]);
    }

    [Fact]
    public void DetectionsAreQuPathGeoJsonAndAnOverlay()
    {
        using var tmp = new TempDir();
        string outDir = tmp.File("out");
        Assert.Equal(0, HistoQuantCli.Main(["quantify", TestData.Wsi("OS-2-vsi.ome.tif"), "--marker", "ki67", "--background", "auto", "--detections", "--out", outDir]));
        var row = File.ReadAllLines(Path.Combine(outDir, "results.csv"))[1].Split(',');
        var header = File.ReadAllLines(Path.Combine(outDir, "results.csv"))[0].Split(',');
        int total = int.Parse(row[Array.IndexOf(header, "total_cells")], CultureInfo.InvariantCulture);
        int positive = int.Parse(row[Array.IndexOf(header, "positive_cells")], CultureInfo.InvariantCulture);
        var geo = JsonDocument.Parse(File.ReadAllText(Path.Combine(DetectionOutput.Folder(outDir, "OS-2-vsi"), "detections.geojson"))).RootElement;
        Assert.Equal("FeatureCollection", geo.GetProperty("type").GetString());
        var all = geo.GetProperty("features").EnumerateArray().ToList();
        // What was measured comes first, as a locked annotation: the tissue outline.
        Assert.Equal("annotation", all[0].GetProperty("properties").GetProperty("objectType").GetString());
        Assert.Equal("Tissue", all[0].GetProperty("properties").GetProperty("classification").GetProperty("name").GetString());
        Assert.Equal(all.Count, all.Select(f => f.GetProperty("id").GetString()).Distinct().Count());
        var features = all.Where(f => f.GetProperty("properties").GetProperty("objectType").GetString() != "annotation").ToList();
        Assert.Equal(total, features.Count);
        Assert.Equal(positive, features.Count(f => f.GetProperty("properties").GetProperty("classification").GetProperty("name").GetString() != "Negative"));
        foreach (var f in features.Take(50))
        {
            var ring = f.GetProperty("geometry").GetProperty("coordinates")[0].EnumerateArray().ToList();
            Assert.True(ring.Count >= 4);
            Assert.Equal(ring[0].ToString(), ring[^1].ToString()); // closed
            Assert.True(f.GetProperty("properties").GetProperty("measurements").TryGetProperty("Nucleus: DAB OD mean", out _));
            // QuPath's cell format: "geometry" is the cell, "nucleusGeometry" its nucleus, inside it.
            Assert.Equal("cell", f.GetProperty("properties").GetProperty("objectType").GetString());
            var nucleus = f.GetProperty("nucleusGeometry").GetProperty("coordinates")[0].EnumerateArray().ToList();
            Assert.True(nucleus.Count >= 4);
            Assert.Equal(nucleus[0].ToString(), nucleus[^1].ToString());
        }
        Assert.True(new FileInfo(Path.Combine(DetectionOutput.Folder(outDir, "OS-2-vsi"), "overlay.png")).Length > 1000);
        // Plausible for a Ki-67 field: thousands of nuclei per mm² (dense tumour reaches ~11,000/mm²: the DeepLIIF
        // Bladder1 reference has 184 nuclei in 0.0164 mm²), a minority positive.
        double density = total / 0.2022;
        Assert.InRange(density, 1500, 12000);
        Assert.InRange(100.0 * positive / total, 5, 40);
    }

    private static (float[] H, float[] D) Blank(int w, int h) => (new float[w * h], new float[w * h]);

    private static void Disc(float[] plane, int w, double cx, double cy, double r, float value)
    {
        for (int i = 0; i < plane.Length; i++)
        {
            double x = i % w, y = i / w;
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
                plane[i] += value;
        }
    }

    [Fact]
    public void CompartmentDecidesTheClass()
    {
        // One nucleus (radius 4 µm at 0.5 µm/px) with DAB only in a ring of cytoplasm around it.
        int w = 80, h = 80;
        var (hem, dab) = Blank(w, h);
        Disc(hem, w, 40, 40, 8, 0.5f);
        Disc(dab, w, 40, 40, 18, 0.7f); // covers the whole cell: nucleus plus 5 µm
        Disc(dab, w, 40, 40, 8, -0.7f);
        List<DetectedCell> Run(CellCompartment c) => new CellDetector(new CellSettings(), c, 0.2, 0.4, 0.6)
            .Detect(hem, dab, w, h, 0.5, (_, _) => true, (x, y) => (x, y), outlines: false);
        var byNucleus = Assert.Single(Run(CellCompartment.Nucleus));
        Assert.Equal(0, byNucleus.Class);
        var byCytoplasm = Assert.Single(Run(CellCompartment.Cytoplasm));
        Assert.Equal(3, byCytoplasm.Class);
        Assert.Equal(40, byCytoplasm.X, 0.5);
        Assert.InRange(byCytoplasm.NucleusAreaMicrons2, 0.6 * Math.PI * 16, 1.6 * Math.PI * 16);
    }

    [Fact]
    public void TouchingNucleiAreSplitAndTinyOrHugeOnesDropped()
    {
        int w = 120, h = 60;
        var (hem, dab) = Blank(w, h);
        Disc(hem, w, 40, 30, 8, 0.5f);
        Disc(hem, w, 57, 30, 8, 0.5f);   // touches the first once smoothed: two nuclei, one blob
        Disc(hem, w, 100, 10, 1.5f, 0.5f); // 1.8 µm²: below the 10 µm² minimum
        var cells = new CellDetector(new CellSettings(), CellCompartment.Cell, 0.2, 0.4, 0.6)
            .Detect(hem, dab, w, h, 0.5, (_, _) => true, (x, y) => (x, y), outlines: false);
        Assert.Equal(2, cells.Count);
        Assert.All(cells, c => Assert.True(c.HasNucleus));
    }

    [Fact]
    public void StainedObjectWithoutANucleusCountsAsOnePositiveCell()
    {
        // A macrophage cut above its nucleus: DAB only. A thin DAB ring (a stained fibre border) is not a cell.
        int w = 200, h = 100;
        var (hem, dab) = Blank(w, h);
        Disc(dab, w, 40, 50, 14, 0.6f);
        Disc(dab, w, 140, 50, 40, 0.6f);
        Disc(dab, w, 140, 50, 36, -0.6f);
        var cells = new CellDetector(new CellSettings(), CellCompartment.Cell, 0.2, 0.4, 0.6)
            .Detect(hem, dab, w, h, 0.5, (_, _) => true, (x, y) => (x, y), outlines: false);
        var cell = Assert.Single(cells);
        Assert.False(cell.HasNucleus);
        Assert.Equal(2, cell.Class);
        Assert.Equal(40, cell.X, 1.0);
    }

    [Fact]
    public void DeconvolutionPlanesAgreeBetweenEngines()
    {
        var job = new TileJob(Enumerable.Range(0, 40 * 30 * 3 + 64).Select(i => (byte)(i * 37 % 251)).ToArray(), 40 * 3, 37, 30, TissueSpans.Full(37, 30));
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6, detectOnOdSum: true);
        var (h1, d1) = (new float[37 * 30], new float[37 * 30]);
        var (h2, d2) = (new float[37 * 30], new float[37 * 30]);
        new CpuPixelEngine().Deconvolve(job, model, h1, d1);
        using (var gpu = IlgpuPixelEngine.CreateCpuEmulator())
            gpu.Deconvolve(job, model, h2, d2);
        Assert.Equal(h1, h2);
        Assert.Equal(d1, d2);
        // OD sum plane: the three channel densities added.
        var od = StainPresets.HDab.OpticalDensityLut();
        Assert.Equal(od[job.Rgb[0]] + od[256 + job.Rgb[1]] + od[512 + job.Rgb[2]], h1[0], 6);
    }
}
