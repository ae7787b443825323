using HistoQuant.Kernels;
using HistoQuant.Measures.Cells;
using HistoQuant.Measures.Compartments;
using HistoQuant.Measures.Fibres;
using HistoQuant.Models;
using HistoQuant.Synth;

namespace HistoQuant.Tests;

/// <summary>
/// Compartments (fascicles, perimysium, perivascular zones), positive cells by compartment and the perifascicular
/// pattern: exactly on a drawn fibre map, and against the truth of generated slides with fascicles.
/// </summary>
public class CompartmentTests
{
    // Two fascicles of 5 × 5 square fibres (47 µm, 3 µm endomysium) at 1 µm/px, 63 µm of perimysium between them and
    // 143 µm below; 10–13 µm margins on the other sides (too thin to be a perimysial border, even where two meet).
    private const int Pitch = 50, Side = 47, Rows = 5;
    private static readonly int[] FascicleLeft = [10, 320];

    private static List<DetectedFibre> Fibres(Func<int, int, int, bool> positive, Func<int, int, int, double> minFeret)
    {
        var fibres = new List<DetectedFibre>();
        for (int f = 0; f < FascicleLeft.Length; f++)
            for (int c = 0; c < Rows; c++)
                for (int r = 0; r < Rows; r++)
                {
                    double x0 = FascicleLeft[f] + c * Pitch, y0 = 10 + r * Pitch;
                    var outline = new List<(double, double)> { (x0, y0), (x0 + Side, y0), (x0 + Side, y0 + Side), (x0, y0 + Side) };
                    fibres.Add(new DetectedFibre(x0 + Side / 2.0, y0 + Side / 2.0, Side * Side, 1, 0, 0, 0, positive(f, c, r), false, outline,
                        MinFeretMicrons: minFeret(f, c, r)));
                }
        return fibres;
    }

    private static DetectedCell Cell(double x, double y, int cls = 1) => new(x, y, 150, 30, 0.1, 0.5, 0.5, 0.8, cls, true, null);

    private static List<(double, double)> Circle(double cx, double cy, double r) =>
        Enumerable.Range(0, 36).Select(k => (cx + r * Math.Cos(k * Math.PI / 18), cy + r * Math.Sin(k * Math.PI / 18))).ToList();

    private static CompartmentResult Build(List<DetectedFibre> fibres, List<DetectedCell> cells, List<DetectedVessel> vessels) =>
        CompartmentMap.Build(fibres, cells, vessels, new TissueMask(1, 1, 580, 400, null, null), 1.0, new CompartmentSettings());

    [Fact]
    public void FasciclesDepthsAndCellPlacesFollowTheDrawnMap()
    {
        // Fibres in the outer two layers are positive and thinner. The first fascicle's border is its right column and
        // bottom row, the second's its left column and bottom row.
        static int Layers(int f, int c, int r) => Math.Min(f == 0 ? Rows - 1 - c : c, Rows - 1 - r);
        static bool Outer(int f, int c, int r) => Layers(f, c, r) <= 1;
        var fibres = Fibres(Outer, (f, c, r) => Outer(f, c, r) ? 30 : 45);
        var vessel = new DetectedVessel(288, 330, Math.PI * 144, 0.3, Circle(288, 330, 12));
        var cells = new List<DetectedCell>
        {
            Cell(10 + Side / 2.0, 10 + Side / 2.0),     // inside fibre (0, 0): invading
            Cell(10 + Side + 1.5, 35),                  // on the endomysium between (0, 0) and (1, 0)
            Cell(10 + Side + 1.5, 85),
            Cell(288, 150),                             // in the septum, far from the vessel
            Cell(288 + 12 + 10, 330),                   // beside the vessel
            Cell(288, 150, cls: 0),                     // negative cells are not counted anywhere
        };
        var r = Build(fibres, cells, [vessel]);

        Assert.Equal(2, r.Fascicles);
        Assert.Single(r.Vessels);
        // 2 × 247 × 247 µm of fascicle (the closing adds no more than its rounding).
        Assert.InRange(r.FascicleAreaMm2, 2 * 0.247 * 0.247 * 0.97, 2 * 0.247 * 0.247 * 1.03);
        Assert.InRange(r.PerivascularAreaMm2, 0.8 * PerivascularArea(12, 30), 1.2 * PerivascularArea(12, 30));
        Assert.Equal(1, r.PositiveCells[CellPlace.Invading]);
        Assert.Equal(2, r.PositiveCells[CellPlace.Endomysial]);
        Assert.Equal(1, r.PositiveCells[CellPlace.Perimysial]);
        Assert.Equal(1, r.PositiveCells[CellPlace.Perivascular]);

        // Depth = 1 + fibre layers to a border column or row (both face broad perimysium).
        for (int f = 0; f < 2; f++)
            for (int c = 0; c < Rows; c++)
                for (int row = 0; row < Rows; row++)
                    Assert.Equal(1 + Layers(f, c, row), r.Fibres[f * Rows * Rows + c * Rows + row].Depth);

        var p = PerifascicularPattern.From(r.Fibres, 2);
        Assert.Equal((32, 18), (p.Perifascicular, p.Central));
        Assert.Equal((100.0, 0.0), (p.PositivePctPerifascicular, p.PositivePctCentral));
        Assert.Equal((30.0, 45.0), (p.MinFeretPerifascicular, p.MinFeretCentral));
    }

    /// <summary>The band 0–width µm outside a lumen of radius r (a whole annulus inside the slide).</summary>
    private static double PerivascularArea(double r, double width) => Math.PI * ((r + width) * (r + width) - r * r) * 1e-6;

    [Fact]
    public void AHoleRingedByFibresIsNotAVesselAndFibresWithoutAPerimysialBorderHaveNoDepth()
    {
        // One fascicle filling the slide but for 10–13 µm margins: no broad perimysium, so no border and no depths.
        var fibres = Fibres((_, _, _) => false, (_, _, _) => 40).Take(Rows * Rows).ToList();
        var gap = new DetectedVessel(10 + Side + 1.5, 35, 200, 0.3, Circle(10 + Side + 1.5, 35, 8));
        var r = CompartmentMap.Build(fibres, null, [gap], new TissueMask(1, 1, 270, 270, null, null), 1.0, new CompartmentSettings());
        Assert.Empty(r.Vessels);
        Assert.Equal(1, r.Fascicles);
        Assert.All(r.Fibres, f => Assert.Null(f.Depth));
    }

    [Fact]
    public void TheCompartmentModelsAskForFibresCellsAndCompartments()
    {
        var m = MarkerCatalog.Load(TestData.RepoFile("models/cd163-compartments.json"));
        Assert.Contains("compartments", m.Measures);
        Assert.Contains("fibre_morphometry", m.Measures);
        Assert.Equal(30, m.SettingsOf<CompartmentSettings>("compartments")!.PerivascularMicrons);
        var bad = File.ReadAllText(TestData.RepoFile("models/cd163-compartments.json")).Replace("\"perivascular_um\"", "\"perivascular\"");
        var e = Assert.Throws<FormatException>(() => MarkerCatalog.Parse(bad, "x.json"));
        Assert.Contains("compartments.perivascular", e.Message);
        var noFibres = File.ReadAllText(TestData.RepoFile("models/cd163-compartments.json")).Replace("\"fibre_morphometry\",", "");
        Assert.Contains("add \"fibre_morphometry\"", Assert.Throws<FormatException>(() => MarkerCatalog.Parse(noFibres, "x.json")).Message);
    }

    // Fascicles about 800 µm apart with 60 µm of perimysium, 8 vessels; the first two fibre layers shrink by 20% of the
    // fibre diameter. A CD163-like slide (positive cells placed by compartment, no stain on fibres) and an MHC class I-like
    // one (80% ring-positive perifascicular fibres against 10% central ones).
    private static SynthOptions Fascicular(int seed) => new()
    {
        Width = 4096, Height = 3072, Mpp = 0.5, Seed = seed, FascicleMicrons = 800, Vessels = 8, NegativeNuclei = 300, PerifascicularAtrophy = 0.2,
    };

    private static SynthOptions Cd163Like(int seed) => Fascicular(seed) with
    {
        EndomysialCells = 60, PerimysialCells = 25, PerivascularCells = 40, InvadingCells = 15, FibresPositive = 0, PerifascicularPositive = 0,
    };

    private static SynthOptions Mhc1Like(int seed) => Fascicular(seed) with { FibresPositive = 0.1, PerifascicularPositive = 0.8 };

    [Fact]
    public void SynthPlacesWhatItWasAskedForAndItsTruthShowsThePattern()
    {
        using var tmp = new TempDir();
        var truth = SyntheticSlideWriter.Write(Cd163Like(7), tmp.File("c.tif")).Compartments!;
        Assert.Equal((60, 25, 40, 15), (truth.EndomysialCells, truth.PerimysialCells, truth.PerivascularCells, truth.InvadingCells));
        Assert.Equal(8, truth.Vessels);
        Assert.True(truth.Fascicles >= 4);
        Assert.InRange(truth.FibreMinFeretMedianUmPerifascicular / truth.FibreMinFeretMedianUmCentral, 0.7, 0.9);
        var mhc = SyntheticSlideWriter.Write(Mhc1Like(7), tmp.File("m.tif")).Compartments!;
        Assert.InRange(mhc.PositiveFibresPctPerifascicular, 70, 90);
        Assert.InRange(mhc.PositiveFibresPctCentral, 3, 17);
    }

    /// <summary>
    /// Macrophages inside fibres (wider than the dark-line opening) once hollowed their fibre or cut it through the
    /// cell, so they were never counted as invading and the fibre count rose. Only invading cells here. A cell near its
    /// fibre's edge, whose ring clips the endomysium in one stretch, is inside too (23 of 30 before, 25 after).
    /// </summary>
    [Fact]
    public void CellsInsideFibresNeitherHollowNorCutThem()
    {
        using var tmp = new TempDir();
        string path = tmp.File("inv.tif");
        var truth = SyntheticSlideWriter.Write(Fascicular(11) with { InvadingCells = 30, FibresPositive = 0, PerifascicularPositive = 0 }, path);
        var row = QuantifyRun.Row(tmp, path, "--marker", "cd163-compartments");
        Assert.InRange(QuantifyRun.Number(row, "positive_cells_invading"), 24, 30);
        Assert.InRange(QuantifyRun.Number(row, "fibres") / truth.Fibres, 0.9, 1.15);
    }

    /// <summary>
    /// End to end on generated slides, with the tolerances: compartment densities within 10% of the truth (seed
    /// 10's endomysial density was 12.7% low while `cd163` grew cells 5 µm around the nucleus: the fibre pixels in that ring
    /// diluted squeezed endomysial macrophages under the threshold), perifascicular and central % positive within 5 points
    /// (seed 8 was 6.7 points low while a corner contact between fibres, or a fibre near the perimysium only behind
    /// another, skipped a layer, and fibres cut by the section's edge were counted), medians of minimal Feret within 10%.
    /// </summary>
    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(10)]
    public void OnGeneratedSlidesTheCompartmentMeasuresFollowTheTruth(int seed)
    {
        using var tmp = new TempDir();
        string mhcPath = tmp.File("m.tif"), cdPath = tmp.File("c.tif");
        var mhcTruth = SyntheticSlideWriter.Write(Mhc1Like(seed), mhcPath).Compartments!;
        var mhc = QuantifyRun.Row(tmp, mhcPath, "--marker", "mhc1-compartments");
        Assert.InRange(QuantifyRun.Number(mhc, "positive_fibres_pct_perifascicular"), mhcTruth.PositiveFibresPctPerifascicular - 5, mhcTruth.PositiveFibresPctPerifascicular + 5);
        Assert.InRange(QuantifyRun.Number(mhc, "positive_fibres_pct_central"), mhcTruth.PositiveFibresPctCentral - 5, mhcTruth.PositiveFibresPctCentral + 5);
        Assert.True(QuantifyRun.Number(mhc, "positive_fibres_perifascicular_excess_pct") > 50);
        Within(QuantifyRun.Number(mhc, "fibre_min_feret_median_um_perifascicular"), mhcTruth.FibreMinFeretMedianUmPerifascicular, 0.10);
        Within(QuantifyRun.Number(mhc, "fibre_min_feret_median_um_central"), mhcTruth.FibreMinFeretMedianUmCentral, 0.10);
        Assert.InRange(QuantifyRun.Number(mhc, "vessels"), mhcTruth.Vessels - 1, mhcTruth.Vessels + 1);

        var cdTruth = SyntheticSlideWriter.Write(Cd163Like(seed), cdPath).Compartments!;
        var cd = QuantifyRun.Row(tmp, cdPath, "--marker", "cd163-compartments");
        Within(QuantifyRun.Number(cd, "positive_cells_per_mm2_endomysial"), cdTruth.PositiveCellsPerMm2Endomysial, 0.10);
        Within(QuantifyRun.Number(cd, "positive_cells_per_mm2_perimysial"), cdTruth.PositiveCellsPerMm2Perimysial, 0.10);
        Within(QuantifyRun.Number(cd, "positive_cells_per_mm2_perivascular"), cdTruth.PositiveCellsPerMm2Perivascular, 0.10);
        Assert.InRange(QuantifyRun.Number(cd, "positive_cells_invading"), cdTruth.InvadingCells * 0.6, cdTruth.InvadingCells * 1.4);
        double total = cdTruth.FascicleAreaMm2 + cdTruth.PerimysiumAreaMm2 + cdTruth.PerivascularAreaMm2;
        Assert.InRange(QuantifyRun.Number(cd, "fascicle_area_pct"), 100 * cdTruth.FascicleAreaMm2 / total - 3, 100 * cdTruth.FascicleAreaMm2 / total + 3);
    }

    private static void Within(double measured, double truth, double fraction) =>
        Assert.InRange(measured, truth * (1 - fraction), truth * (1 + fraction));
}
