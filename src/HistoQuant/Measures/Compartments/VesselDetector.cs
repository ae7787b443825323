using OpenCvSharp;
using static HistoQuant.Measures.Planes;

namespace HistoQuant.Measures.Compartments;

/// <summary>
/// Finds vessel lumina larger than capillaries, stain-independently: at about 2 µm/px the summed OD (counterstain +
/// chromogen, σ 1 µm) below <see cref="CompartmentSettings.LumenFraction"/> × the region's median tissue OD, as 8-connected
/// holes that do not reach the region's edge, of <c>MinLumenMicrons2</c>–<c>MaxLumenMicrons2</c>, ringed by a wall: the
/// band 2–6 µm outside the hole has a mean OD of at least <see cref="CompartmentSettings.WallFraction"/> × the median.
/// Retraction spaces between fibres pass these tests too; <see cref="CompartmentMap"/> drops holes ringed by fibres.
/// </summary>
public sealed class VesselDetector(CompartmentSettings settings)
{
    public CompartmentSettings Settings => settings;

    public List<DetectedVessel> Detect(RegionPlanes region, double mpp)
    {
        using var hem = new Mat();
        using var dab = new Mat();
        double px = ResampleBoth(region.Counterstain, region.Chromogen, region.Width, region.Height, mpp, settings.MapMicronsPerPixel, hem, dab);
        int w = hem.Cols, h = hem.Rows, n = w * h;
        double fx = region.Width / (double)w, fy = region.Height / (double)h;
        using var sum = new Mat();
        Cv2.Add(hem, dab, sum);
        using var od = new Mat();
        Smooth(sum, 1 / px, od);
        var values = SpanF(od, n);
        var inTissue = new List<float>();
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                var (lx, ly) = region.ToLevel0((x + 0.5) * fx - 0.5, (y + 0.5) * fy - 0.5);
                if (region.Tissue.IsTissue(lx, ly))
                    inTissue.Add(values[i]);
            }
        if (inTissue.Count < 100)
            return [];
        inTissue.Sort();
        double median = inTissue[inTissue.Count / 2];
        using var pale = new Mat();
        Cv2.Threshold(od, pale, settings.LumenFraction * median, 255, ThresholdTypes.BinaryInv);
        using var pale8 = new Mat();
        pale.ConvertTo(pale8, MatType.CV_8UC1);
        using var labels = new Mat();
        using var stats = new Mat();
        using var centroids = new Mat();
        int count = Cv2.ConnectedComponentsWithStats(pale8, labels, stats, centroids, PixelConnectivity.Connectivity8, MatType.CV_32S);
        var found = new List<DetectedVessel>();
        double px2 = px * px;
        int inner = Math.Max(1, (int)Math.Round(2 / px)), outer = Math.Max(inner + 1, (int)Math.Round(6 / px));
        for (int l = 1; l < count; l++)
        {
            int left = stats.At<int>(l, (int)ConnectedComponentsTypes.Left), top = stats.At<int>(l, (int)ConnectedComponentsTypes.Top);
            int bw = stats.At<int>(l, (int)ConnectedComponentsTypes.Width), bh = stats.At<int>(l, (int)ConnectedComponentsTypes.Height);
            double area = stats.At<int>(l, (int)ConnectedComponentsTypes.Area) * px2;
            if (area < settings.MinLumenMicrons2 || area > settings.MaxLumenMicrons2)
                continue;
            // A hole, not glass reaching in from beyond the region or the section's edge.
            if (left == 0 || top == 0 || left + bw >= w || top + bh >= h)
                continue;
            var (cx, cy) = region.ToLevel0((centroids.At<double>(l, 0) + 0.5) * fx - 0.5, (centroids.At<double>(l, 1) + 0.5) * fy - 0.5);
            var core = region.Core;
            if (cx < core.X || cx >= core.X + core.Width || cy < core.Y || cy >= core.Y + core.Height || !(region.Regions?.Contains(cx, cy) ?? true))
                continue;
            var box = new Rect(Math.Max(0, left - outer - 1), Math.Max(0, top - outer - 1), 0, 0);
            box.Width = Math.Min(w, left + bw + outer + 1) - box.X;
            box.Height = Math.Min(h, top + bh + outer + 1) - box.Y;
            using var mine = new Mat();
            Cv2.Compare(new Mat(labels, box), new Scalar(l), mine, CmpTypes.EQ);
            double wall = WallOd(mine, new Mat(od, box), inner, outer, out bool glassInWall);
            if (glassInWall || wall < settings.WallFraction * median)
                continue;
            Cv2.FindContours(mine, out Point[][] contours, out _, RetrievalModes.External, ContourApproximationModes.ApproxSimple);
            if (contours.Length == 0)
                continue;
            var largest = contours.MaxBy(c => c.Length)!;
            // Lumina are roundish or oval; a branching pale line (endomysium at a junction of fibres) is not.
            double hull = Cv2.ContourArea(Cv2.ConvexHull(largest));
            if (hull > 0 && Cv2.ContourArea(largest) / hull < settings.MinLumenSolidity)
                continue;
            var outline = largest
                .Select(p => region.ToLevel0((box.X + p.X + 0.5) * fx - 0.5, (box.Y + p.Y + 0.5) * fy - 0.5)).ToList();
            found.Add(new DetectedVessel(cx, cy, area, wall, outline));
        }
        return found;
    }

    /// <summary>Mean OD of the band between <paramref name="inner"/> and <paramref name="outer"/> pixels outside the hole;
    /// flags a band that is partly pale itself (the hole opens onto glass or loose tissue, not into a wall).</summary>
    private static double WallOd(Mat hole, Mat od, int inner, int outer, out bool paleBand)
    {
        using var near = new Mat();
        using var far = new Mat();
        using var kNear = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * inner + 1, 2 * inner + 1));
        using var kFar = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * outer + 1, 2 * outer + 1));
        Cv2.Dilate(hole, near, kNear);
        Cv2.Dilate(hole, far, kFar);
        using var band = new Mat();
        Cv2.Subtract(far, near, band);
        int pixels = Cv2.CountNonZero(band);
        if (pixels == 0)
        {
            paleBand = true;
            return 0;
        }
        double mean = Cv2.Mean(od, band).Val0;
        using var low = new Mat();
        Cv2.Threshold(od, low, 1e-3, 255, ThresholdTypes.BinaryInv);
        using var low8 = new Mat();
        low.ConvertTo(low8, MatType.CV_8UC1);
        using var lowInBand = new Mat();
        Cv2.BitwiseAnd(low8, band, lowInBand);
        paleBand = Cv2.CountNonZero(lowInBand) > 0.2 * pixels;
        return mean;
    }
}
