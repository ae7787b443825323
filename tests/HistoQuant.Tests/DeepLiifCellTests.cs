using System.Text.Json;
using HistoQuant.Cli;
using OpenCvSharp;

namespace HistoQuant.Tests;

/// <summary>
/// Cells on real Ki-67 IHC with an objective reference (DeepLIIF: nuclei from co-registered immunofluorescence),
/// scored as `../shared/tools/score-real --only cells` scores them: --marker ki67 --mpp 0.25 --tissue all, centroids
/// matched one-to-one within 4 µm (here greedily, nearest pairs first), recall, precision and positive %.
/// The floors sit just below what the shipped ki67 model reaches: a regression in detection fails them.
/// </summary>
public class DeepLiifCellTests
{
    [Theory]
    // tile, recall ≥, precision ≥, |positive % − reference| ≤
    [InlineData("Bladder1", 0.77, 0.90, 3.0)]
    [InlineData("Lung1", 0.94, 0.74, 1.0)]
    public void KiSixtySevenNucleiAgainstTheImmunofluorescenceReference(string tile, double recall, double precision, double pctPoints)
    {
        var (r, p, pct, refPct) = Score(tile, "");
        Assert.True(r >= recall, $"{tile}: recall {r:F2} < {recall}");
        Assert.True(p >= precision, $"{tile}: precision {p:F2} < {precision}");
        Assert.True(Math.Abs(pct - refPct) <= pctPoints, $"{tile}: positive {pct:F1}% vs reference {refPct:F1}%");
    }

    /// <summary>
    /// The same tiles as a lab scanning at 20× or keeping JPEG files would bring them: area-resampled to 0.5 µm/px
    /// (detection runs at 0.5 µm/px anyway) and saved as JPEG at quality 75. Measured 2026-11-29: Bladder1
    /// 0.78–0.91 and 0.79–0.91 (recall–precision; positive 11.5% and 11.3%), Lung1 0.93–0.74 and 0.95–0.78 (18.2%,
    /// 18.9%), against 0.78–0.91 (10.8%) and 0.95–0.75 (18.2%) as scanned. A lighter or darker stain moves them along
    /// the threshold's trade-off, as it moves QuPath's (every OD × 0.7 against a 245 glass read 0.73–0.92 and
    /// 0.95–0.81, × 1.4 0.79–0.90 and 0.95–0.71): not asserted.
    /// </summary>
    [Theory]
    // tile, variant, recall ≥, precision ≥, |positive % − reference| ≤
    [InlineData("Bladder1", "0.5 um/px", 0.76, 0.89, 3.5)]
    [InlineData("Bladder1", "jpeg 75", 0.77, 0.89, 3.5)]
    [InlineData("Lung1", "0.5 um/px", 0.92, 0.72, 1.5)]
    [InlineData("Lung1", "jpeg 75", 0.93, 0.76, 1.5)]
    public void KiSixtySevenHoldsWhenScannedAtTwentyTimesOrSavedAsJpeg(string tile, string variant, double recall, double precision, double pctPoints)
    {
        var (r, p, pct, refPct) = Score(tile, variant);
        Assert.True(r >= recall, $"{tile} {variant}: recall {r:F2} < {recall}");
        Assert.True(p >= precision, $"{tile} {variant}: precision {p:F2} < {precision}");
        Assert.True(Math.Abs(pct - refPct) <= pctPoints, $"{tile} {variant}: positive {pct:F1}% vs reference {refPct:F1}%");
    }

    /// <summary>Recall, precision, positive % found and in the reference for a tile, as scanned or as a variant.</summary>
    private static (double Recall, double Precision, double Pct, double RefPct) Score(string tile, string variant)
    {
        using var tmp = new TempDir();
        using var strip = Cv2.ImRead(TestData.Ihc(Path.Combine("deepliif", tile + ".png")), ImreadModes.Color);
        string image = tmp.File(tile + (variant == "jpeg 75" ? ".jpg" : ".png"));
        double mpp = 0.25;
        using (var ihc = new Mat(strip, new Rect(0, 0, 512, 512)))
            switch (variant)
            {
                case "0.5 um/px":
                    mpp = 0.5;
                    using (var small = new Mat())
                    {
                        Cv2.Resize(ihc, small, new Size(256, 256), 0, 0, InterpolationFlags.Area);
                        Cv2.ImWrite(image, small);
                    }
                    break;
                case "jpeg 75":
                    Cv2.ImWrite(image, ihc, new ImageEncodingParam(ImwriteFlags.JpegQuality, 75));
                    break;
                default:
                    Cv2.ImWrite(image, ihc);
                    break;
            }
        var reference = Reference(new Mat(strip, new Rect(2560, 0, 512, 512)));

        string outDir = tmp.File("out");
        Assert.Equal(0, HistoQuantCli.Main(["quantify", image, "--out", outDir, "--marker", "ki67",
            "--mpp", mpp.ToString(System.Globalization.CultureInfo.InvariantCulture), "--tissue", "all", "--detections"]));
        double scale = mpp / 0.25;
        var found = JsonDocument.Parse(File.ReadAllText(Path.Combine(DetectionOutput.Folder(outDir, tile), "detections.geojson"))).RootElement
            .GetProperty("features").EnumerateArray()
            .Where(f => f.GetProperty("properties").GetProperty("objectType").GetString() == "cell")
            .Select(f =>
            {
                var m = f.GetProperty("properties").GetProperty("measurements");
                return (X: m.GetProperty("Centroid X px").GetDouble() * scale, Y: m.GetProperty("Centroid Y px").GetDouble() * scale,
                    Positive: f.GetProperty("properties").GetProperty("classification").GetProperty("name").GetString() != "Negative");
            }).ToList();

        int matched = MatchOneToOne(found.Select(f => (f.X, f.Y)).ToList(), reference.Select(r => (r.X, r.Y)).ToList(), 4 / 0.25);
        double pct = 100.0 * found.Count(f => f.Positive) / Math.Max(1, found.Count), refPct = 100.0 * reference.Count(c => c.Positive) / reference.Count;
        return (matched / (double)reference.Count, matched / (double)Math.Max(1, found.Count), pct, refPct);
    }

    /// <summary>Reference nuclei: 4-connected red (positive) and blue (negative) regions of at least 10 px.</summary>
    private static List<(double X, double Y, bool Positive)> Reference(Mat segmentation)
    {
        var nuclei = new List<(double, double, bool)>();
        foreach (var (bgr, positive) in new[] { (new Scalar(0, 0, 255), true), (new Scalar(255, 0, 0), false) })
        {
            using var mask = new Mat();
            Cv2.InRange(segmentation, bgr, bgr, mask);
            using var labels = new Mat();
            using var stats = new Mat();
            using var centroids = new Mat();
            int count = Cv2.ConnectedComponentsWithStats(mask, labels, stats, centroids, PixelConnectivity.Connectivity4);
            for (int l = 1; l < count; l++)
                if (stats.At<int>(l, (int)ConnectedComponentsTypes.Area) >= 10)
                    nuclei.Add((centroids.At<double>(l, 0), centroids.At<double>(l, 1), positive));
        }
        return nuclei;
    }

    private static int MatchOneToOne(List<(double X, double Y)> found, List<(double X, double Y)> reference, double radius)
    {
        var pairs = new List<(double D, int F, int R)>();
        for (int f = 0; f < found.Count; f++)
            for (int r = 0; r < reference.Count; r++)
            {
                double d = Math.Sqrt(Math.Pow(found[f].X - reference[r].X, 2) + Math.Pow(found[f].Y - reference[r].Y, 2));
                if (d <= radius)
                    pairs.Add((d, f, r));
            }
        var usedF = new bool[found.Count];
        var usedR = new bool[reference.Count];
        int matched = 0;
        foreach (var (_, f, r) in pairs.OrderBy(p => p.D))
            if (!usedF[f] && !usedR[r])
            {
                usedF[f] = usedR[r] = true;
                matched++;
            }
        return matched;
    }
}
