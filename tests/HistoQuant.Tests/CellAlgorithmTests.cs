using HistoQuant.Measures.Cells;
using HistoQuant.Models;

namespace HistoQuant.Tests;

/// <summary>The nucleus detector's steps on tiny images whose answer is known (QuPath's documented behaviour).</summary>
public class CellAlgorithmTests
{
    [Fact]
    public void ReconstructionRaisesTheMarkerUnderTheMaskOnlyWhereConnected()
    {
        // One row repeated three times: a peak (5) whose marker is only 2, a plateau (4) seeded at one pixel.
        float[] row = [1, 5, 1, 4, 4, 4, 1];
        float[] seed = [0, 2, 0, 0, 4, 0, 0];
        var mask = row.Concat(row).Concat(row).ToArray();
        var marker = seed.Concat(seed).Concat(seed).ToArray();
        Morphology.ReconstructByDilation(marker, mask, 7, 3);
        Assert.Equal([1, 2, 1, 4, 4, 4, 1], marker[7..14]);
    }

    [Fact]
    public void ReconstructionEqualsRepeatedGeodesicDilation()
    {
        var rnd = new Random(7);
        int w = 23, h = 17, n = w * h;
        var mask = Enumerable.Range(0, n).Select(_ => (float)rnd.NextDouble()).ToArray();
        var marker = mask.Select(v => v - (float)rnd.NextDouble() * 0.8f).ToArray();
        var naive = (float[])marker.Clone();
        for (int i = 0; i < n; i++)
            naive[i] = Math.Min(naive[i], mask[i]);
        for (bool changed = true; changed;)
        {
            changed = false;
            var next = (float[])naive.Clone();
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    float m = naive[y * w + x];
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++)
                            if (x + dx >= 0 && x + dx < w && y + dy >= 0 && y + dy < h)
                                m = Math.Max(m, naive[(y + dy) * w + x + dx]);
                    m = Math.Min(m, mask[y * w + x]);
                    if (m != next[y * w + x])
                    {
                        next[y * w + x] = m;
                        changed = true;
                    }
                }
            naive = next;
        }
        Morphology.ReconstructByDilation(marker, mask, w, h);
        Assert.Equal(naive, marker);
    }

    [Fact]
    public void OpeningByReconstructionRemovesNucleiSmallerThanTheRadiusAndKeepsTheRest()
    {
        // A gentle ramp (background), a nucleus (radius 4 px) and a wide bright region (radius 20 px).
        int w = 100, h = 60, n = w * h;
        var image = new float[n];
        for (int i = 0; i < n; i++)
            image[i] = 0.05f + 0.001f * (i % w);
        CellTestImages.Disc(image, w, 20, 30, 4, 0.5f);
        CellTestImages.Disc(image, w, 70, 30, 20, 0.3f);
        var background = NucleusSegmenter.Background(image, w, h, 8, byReconstruction: true, maxBackground: 2, out var masked);
        Assert.Null(masked);
        Assert.All(Enumerable.Range(0, n), i => Assert.True(background[i] <= image[i]));
        // The nucleus is gone from the background: there it is the ramp's value at the nucleus's rim (0.066–0.075).
        Assert.InRange(background[30 * w + 20], 0.066f, 0.0751f);
        Assert.Equal(image[30 * w + 70], background[30 * w + 70], 5);  // the wide region is background, exactly
        // maxBackground: where the background exceeds it, the surroundings (twice the radius) are masked.
        NucleusSegmenter.Background(image, w, h, 8, byReconstruction: true, maxBackground: 0.2, out masked);
        Assert.NotNull(masked);
        Assert.Equal(255, masked![30 * w + 70]);
        Assert.Equal(0, masked[30 * w + 20]);
    }

    [Fact]
    public void DistanceMapIsTheExactEuclideanDistanceToTheNearestZeroPixel()
    {
        var rnd = new Random(3);
        int w = 31, h = 19, n = w * h;
        var mask = Enumerable.Range(0, n).Select(_ => rnd.Next(9) == 0 ? (byte)0 : (byte)255).ToArray();
        var d = Morphology.DistanceToZero(mask, w, h);
        for (int i = 0; i < n; i++)
        {
            double best = double.PositiveInfinity;
            for (int j = 0; j < n; j++)
                if (mask[j] == 0)
                    best = Math.Min(best, Math.Sqrt(Math.Pow(i % w - j % w, 2) + Math.Pow(i / w - j / w, 2)));
            Assert.Equal(best, d[i], 4);
        }
    }

    [Fact]
    public void HMaximaKeepPeaksThatStandHigherThanTheToleranceAboveTheirSaddle()
    {
        // Two peaks (5 and 4.6) with a saddle at 4.2 between them.
        float[] row = [0, 3, 5, 4.2f, 4.6f, 3, 0];
        var plane = row.Concat(row).Concat(row).ToArray();
        int Peaks(float tolerance)
        {
            var mask = Morphology.HMaxima(plane, 7, 3, tolerance, 0);
            Flooding.Components(mask, 7, 3, out int count);
            return count;
        }
        Assert.Equal(2, Peaks(0.3f));
        Assert.Equal(1, Peaks(0.5f));
    }

    [Fact]
    public void ShapeSplitCutsTwoTouchingDiscsButNotOneDiscOrAnEllipse()
    {
        int w = 80, h = 40;
        int Objects(Action<byte[]> draw)
        {
            var mask = new byte[w * h];
            draw(mask);
            NucleusSegmenter.SplitByShape(mask, w, h, 0.5f);
            Flooding.Components(mask, w, h, out int count);
            return count;
        }
        Assert.Equal(2, Objects(m => { CellTestImages.Disc(m, w, 25, 20, 8); CellTestImages.Disc(m, w, 39, 20, 8); }));
        Assert.Equal(1, Objects(m => CellTestImages.Disc(m, w, 40, 20, 12)));
        Assert.Equal(1, Objects(m =>
        {
            for (int i = 0; i < m.Length; i++)
            {
                double x = (i % w - 40) / 25.0, y = (i / w - 20) / 9.0;
                if (x * x + y * y <= 1)
                    m[i] = 255;
            }
        }));
    }

    [Fact]
    public void FloodingWithLinesSeparatesBasinsAndWithoutLinesFillsEveryPixelAboveTheFloor()
    {
        int w = 30, h = 10, n = w * h;
        var plane = new float[n];
        for (int i = 0; i < n; i++)
        {
            int x = i % w;
            plane[i] = 10 - Math.Min(Math.Abs(x - 7), Math.Abs(x - 22)); // two ridges, a valley at x = 14.5
        }
        int[] Seeds()
        {
            var s = new int[n];
            s[5 * w + 7] = 1;
            s[5 * w + 22] = 2;
            return s;
        }
        var lines = Seeds();
        Flooding.Flood(plane, lines, w, h, 0, lines: true);
        Assert.Equal(1, lines[5 * w + 3]);
        Assert.Equal(2, lines[5 * w + 27]);
        Assert.Contains(Flooding.Line, lines);
        Assert.All(Enumerable.Range(0, h), y => Assert.DoesNotContain(lines[(y * w)..(y * w + 14)], l => l == 2));
        var full = Seeds();
        Flooding.Flood(plane, full, w, h, 0, lines: false);
        Assert.All(full, l => Assert.InRange(l, 1, 2));
    }

    [Fact]
    public void SteepestAscentGivesOneBasinPerPeak()
    {
        int w = 40, h = 20, n = w * h;
        var plane = new float[n];
        for (int i = 0; i < n; i++)
        {
            double x = i % w, y = i / w;
            plane[i] = (float)(Math.Exp(-((x - 10) * (x - 10) + (y - 10) * (y - 10)) / 20) + Math.Exp(-((x - 30) * (x - 30) + (y - 10) * (y - 10)) / 20) - 0.01);
        }
        var basins = Flooding.SteepestAscentBasins(plane, w, h, 0, out int count);
        Assert.Equal(2, count);
        Assert.NotEqual(basins[10 * w + 10], basins[10 * w + 30]);
        Assert.Equal(basins[10 * w + 10], basins[12 * w + 13]);
        Assert.All(Enumerable.Range(0, n), i => Assert.Equal(plane[i] > 0, basins[i] > 0));
    }

    [Fact]
    public void HolesAreFilledButNotBaysOpenToTheEdge()
    {
        int w = 20, h = 20;
        var mask = new byte[w * h];
        CellTestImages.Disc(mask, w, 8, 8, 6);
        mask[8 * w + 8] = 0; // a hole
        for (int y = 0; y < 6; y++)
            mask[y * w + 8] = 0; // a bay from the top edge into the disc
        Morphology.FillHoles(mask, w, h);
        Assert.Equal(255, mask[8 * w + 8]);
        Assert.Equal(0, mask[3 * w + 8]);
    }

    [Fact]
    public void OverSplitNucleiMergeAcrossBoundariesWithoutAValley()
    {
        int w = 60, h = 30, n = w * h;
        var labels = new int[n];
        var smooth = new float[n];
        // One nucleus cut by a one-pixel line (same intensity across), and two nuclei separated by a faint valley.
        for (int i = 0; i < n; i++)
        {
            int x = i % w, y = i / w;
            if (y < 5 || y > 24)
                continue;
            if (x >= 2 && x <= 25)
            {
                smooth[i] = 0.5f;
                labels[i] = x < 13 ? 1 : x > 13 ? 2 : 0;
            }
            if (x >= 30 && x <= 57)
            {
                smooth[i] = x == 43 ? 0.1f : 0.5f;
                labels[i] = x < 43 ? 3 : x > 43 ? 4 : 0;
            }
        }
        int count = NucleusSegmenter.MergeWithoutValley(labels, 4, smooth, w, h, 0.8f, minSolidity: 0.7);
        Assert.Equal(3, count);
        Assert.Equal(labels[15 * w + 5], labels[15 * w + 20]);
        Assert.Equal(labels[15 * w + 5], labels[15 * w + 13]); // the line joins the merged nucleus
        Assert.NotEqual(labels[15 * w + 35], labels[15 * w + 50]);
    }

    [Fact]
    public void NucleiOutsideTheAreaLimitsAreDropped()
    {
        // At 0.5 µm/px: radius 1.5 px ≈ 7 µm² (< 10), radius 8 px ≈ 200 µm², radius 26 px ≈ 2100 µm² (> 400).
        int w = 160, h = 80;
        var hem = new float[w * h];
        CellTestImages.Disc(hem, w, 20, 20, 1.5, 0.5f);
        CellTestImages.Disc(hem, w, 20, 55, 8, 0.5f);
        CellTestImages.Disc(hem, w, 110, 40, 26, 0.5f);
        var settings = new CellSettings { BackgroundRadiusMicrons = 0 };
        var labels = NucleusSegmenter.Segment(hem, hem, new float[w * h], w, h, 0.5, settings, out int count, out _);
        Assert.Equal(1, count);
        Assert.True(labels[55 * w + 20] > 0);
    }

    [Fact]
    public void DenseClustersOfPositiveCellsAreCountedWithinFivePercent()
    {
        // Generated dense infiltrates: nuclei (radius 3–4 µm) on a jittered grid 8–14 µm apart, two in five CD163-like
        // positive (DAB in a 2 µm band around the nucleus), at 0.5 µm/px, detected with the shipped cd163 model.
        var rnd = new Random(11);
        int w = 600, h = 600, n = w * h;
        var hem = new float[n];
        var dab = new float[n];
        for (int i = 0; i < n; i++)
            hem[i] = 0.04f + 0.02f * (float)rnd.NextDouble();
        int positive = 0, total = 0;
        var centres = new List<(double X, double Y)>();
        for (double gy = 20; gy < h - 20; gy += 20)
            for (double gx = 20; gx < w - 20; gx += 20)
            {
                // Grid step 10 µm; jitter keeps neighbours 8–14 µm apart (centres < 6 µm apart never occur).
                double x = gx + rnd.NextDouble() * 4 - 2, y = gy + rnd.NextDouble() * 4 - 2;
                if (centres.Any(c => Math.Abs(c.X - x) < 16 && Math.Abs(c.Y - y) < 16 && Math.Pow(c.X - x, 2) + Math.Pow(c.Y - y, 2) < 16 * 16))
                    continue;
                centres.Add((x, y));
                double r = 6 + rnd.NextDouble() * 2;
                CellTestImages.Disc(hem, w, x, y, r, 0.25f + 0.2f * (float)rnd.NextDouble());
                total++;
                if (rnd.Next(5) < 2)
                {
                    positive++;
                    CellTestImages.Disc(dab, w, x, y, r + 4, 0.5f);
                }
            }
        var model = MarkerCatalog.Resolve("cd163");
        var cells = new CellDetector(model.Cells, CellCompartment.Cell, model.Thresholds.Weak, model.Thresholds.Moderate, model.Thresholds.Strong)
            .Detect(hem, dab, w, h, 0.5, (x, y) => x >= 10 && y >= 10 && x < w - 10 && y < h - 10, (x, y) => (x, y), outlines: false);
        int found = cells.Count(c => c.Class > 0);
        Assert.InRange(found, 0.95 * positive, 1.05 * positive);
        Assert.InRange(cells.Count(c => c.HasNucleus), 0.95 * total, 1.05 * total);
    }

    [Fact]
    public void DabObjectsWithoutANucleusAreDetectionsOfTheirOwnClassNotCells()
    {
        // A nucleus with DAB around it (a positive cell) and a compact DAB object with no hematoxylin under it (a
        // macrophage cut above its nucleus), at 0.5 µm/px, with outlines as --detections asks for them.
        int w = 160, h = 80;
        var hem = new float[w * h];
        var dab = new float[w * h];
        CellTestImages.Disc(hem, w, 40, 40, 7, 0.5f);
        CellTestImages.Disc(dab, w, 40, 40, 12, 0.6f);
        CellTestImages.Disc(dab, w, 120, 40, 10, 0.6f);
        var settings = new CellSettings { BackgroundRadiusMicrons = 0 };
        var cells = new CellDetector(settings, CellCompartment.Cell, 0.2, 0.4, 0.6)
            .Detect(hem, dab, w, h, 0.5, (_, _) => true, (x, y) => (x, y), outlines: true);
        Assert.Equal(2, cells.Count);
        var features = new CellsMeasure().Features(cells).OrderBy(f => f.X).ToList();

        var cell = features[0];
        Assert.Equal("cell", cell.ObjectType);
        Assert.NotNull(cell.NucleusOutline);
        Assert.True(cell.Measurements["Nucleus: Area µm^2"] > 20);

        var loose = features[1];
        Assert.Equal(("detection", CellsMeasure.NoNucleusClass), (loose.ObjectType, loose.ClassName));
        Assert.Equal(120, loose.X, 1.0);
        Assert.Null(loose.NucleusOutline);
        Assert.DoesNotContain(loose.Measurements.Keys, k => k.StartsWith("Nucleus:"));
        Assert.True(loose.Measurements["DAB grade"] >= 1);
        Assert.True(loose.Outline is { Count: >= 4 });

        // The rule off: the nucleus-less object is not reported at all.
        var without = new CellDetector(settings with { StainedObjectsWithoutNucleus = false }, CellCompartment.Cell, 0.2, 0.4, 0.6)
            .Detect(hem, dab, w, h, 0.5, (_, _) => true, (x, y) => (x, y), outlines: false);
        Assert.True(Assert.Single(without).HasNucleus);
    }
}
