using OpenCvSharp;
using static HistoQuant.Measures.Planes;

namespace HistoQuant.Measures.Capillaries;

/// <summary>
/// Capillary-like object parameters (the marker model's "capillaries" section). Lengths in µm, areas in µm².
/// </summary>
public sealed record CapillarySettings(
    double DetectionMicronsPerPixel = 0.5,
    double SmoothSigmaMicrons = 0.5,
    double MinAreaMicrons2 = 8,
    double MaxAreaMicrons2 = 300,
    // Long axis / short axis (from second moments) at or above which an object counts as a vessel cut along its length.
    double MinElongation = 3,
    // A ring counts when it encloses at least this much lumen...
    double MinLumenMicrons2 = 2,
    // ...and the lumen is pale: mean counterstain below this (a stained cell around its nucleus is not a vessel).
    double MaxLumenCounterstain = 0.15,
    double CoreMicrons = 512,
    double MarginMicrons = 25);

/// <summary>One capillary-like DAB object, in level-0 pixel coordinates.</summary>
public sealed record DetectedCapillary(double X, double Y, double AreaMicrons2, double Elongation, double LumenMicrons2, double MeanDab, bool Ring, double ReachMicrons)
{
    /// <summary>The object's outer outline in level-0 pixels (only when detection files are written).</summary>
    public IReadOnlyList<(double X, double Y)>? Outline { get; init; }

    /// <summary>
    /// Cells that are part of a capillary (its endothelium, or its wall taken for a DAB object without a
    /// nucleus) are not infiltrating cells: drops every cell whose centroid lies within a capillary's reach
    /// (half its long axis) plus <paramref name="slackMicrons"/>.
    /// </summary>
    public static List<Cells.DetectedCell> CellsOffCapillaries(IReadOnlyList<Cells.DetectedCell> cells, IReadOnlyList<DetectedCapillary> capillaries,
        double mpp, double slackMicrons = 2)
    {
        const double bucket = 64; // µm
        var grid = new Dictionary<(long, long), List<DetectedCapillary>>();
        foreach (var c in capillaries)
        {
            var key = ((long)Math.Floor(c.X * mpp / bucket), (long)Math.Floor(c.Y * mpp / bucket));
            if (!grid.TryGetValue(key, out var list))
                grid[key] = list = [];
            list.Add(c);
        }
        bool OnCapillary(Cells.DetectedCell cell)
        {
            double x = cell.X * mpp, y = cell.Y * mpp;
            long bx = (long)Math.Floor(x / bucket), by = (long)Math.Floor(y / bucket);
            for (long i = bx - 1; i <= bx + 1; i++)
                for (long j = by - 1; j <= by + 1; j++)
                    if (grid.TryGetValue((i, j), out var list))
                        foreach (var c in list)
                        {
                            double dx = c.X * mpp - x, dy = c.Y * mpp - y, r = c.ReachMicrons + slackMicrons;
                            if (dx * dx + dy * dy <= r * r)
                                return true;
                        }
            return false;
        }
        return cells.Where(c => !OnCapillary(c)).ToList();
    }
}

/// <summary>
/// Finds small DAB objects shaped like capillaries (IL-1α stains endothelium): connected DAB ≥ weak at about
/// 0.5 µm/px (σ 0.5 µm), 8–300 µm², that are either elongated (axis ratio ≥ 3: a vessel cut along its length)
/// or rings around a pale lumen (≥ 2 µm² of enclosed pixels with mean counterstain &lt; 0.15: a vessel cut
/// across). Compact blobs, rings filled by a nucleus, and sarcolemmal rings (far above 300 µm²) do not count.
/// </summary>
public sealed class CapillaryDetector(CapillarySettings settings, double weak, bool outlines = false)
{
    public CapillarySettings Settings => settings;

    public List<DetectedCapillary> Detect(RegionPlanes region, double mpp)
    {
        using var hem = new Mat();
        using var dab = new Mat();
        double px = ResampleBoth(region.Counterstain, region.Chromogen, region.Width, region.Height, mpp, settings.DetectionMicronsPerPixel, hem, dab);
        int w = dab.Cols, h = dab.Rows, n = w * h;
        double fx = region.Width / (double)w, fy = region.Height / (double)h;
        using var smooth = new Mat();
        Smooth(dab, settings.SmoothSigmaMicrons / px, smooth);
        using var mask = Binary(smooth, weak);
        using var labels = new Mat();
        using var stats = new Mat();
        using var centroids = new Mat();
        int count = Cv2.ConnectedComponentsWithStats(mask, labels, stats, centroids, PixelConnectivity.Connectivity8, MatType.CV_32S);
        var lab = Span32(labels, n);
        var dabSpan = SpanF(dab, n);
        var hemSpan = SpanF(hem, n);

        // Second moments and DAB sums per object in one pass.
        var sxx = new double[count];
        var syy = new double[count];
        var sxy = new double[count];
        var sum = new double[count];
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int l = lab[i];
                if (l == 0)
                    continue;
                double dx = x - centroids.At<double>(l, 0), dy = y - centroids.At<double>(l, 1);
                sxx[l] += dx * dx;
                syy[l] += dy * dy;
                sxy[l] += dx * dy;
                sum[l] += dabSpan[i];
            }

        var found = new List<DetectedCapillary>();
        double px2 = px * px;
        for (int l = 1; l < count; l++)
        {
            int pixels = stats.At<int>(l, (int)ConnectedComponentsTypes.Area);
            double area = pixels * px2;
            if (area < settings.MinAreaMicrons2 || area > settings.MaxAreaMicrons2)
                continue;
            double a = sxx[l] / pixels, b = syy[l] / pixels, c = sxy[l] / pixels;
            double root = Math.Sqrt((a - b) * (a - b) / 4 + c * c);
            double major = (a + b) / 2 + root, minor = Math.Max((a + b) / 2 - root, 1.0 / 12); // a one-pixel-wide line has variance 1/12
            double elongation = Math.Sqrt(major / minor);
            var (lumenPixels, lumenCounterstain) = Lumen(lab, hemSpan, l, w, h, stats);
            double lumen = lumenPixels * px2;
            bool ring = lumen >= settings.MinLumenMicrons2 && lumenCounterstain < settings.MaxLumenCounterstain;
            if (!ring && elongation < settings.MinElongation)
                continue;
            var (cx, cy) = region.ToLevel0((centroids.At<double>(l, 0) + 0.5) * fx - 0.5, (centroids.At<double>(l, 1) + 0.5) * fy - 0.5);
            if (!region.Owns(cx, cy))
                continue;
            // A segment of length L has variance L²/12 along its axis, a ring of radius r has r²/2: √(3·major) covers both.
            found.Add(new DetectedCapillary(cx, cy, area, elongation, lumen, sum[l] / pixels, ring, Math.Min(Math.Sqrt(3 * major) * px, 32))
            {
                Outline = outlines ? Outline(labels, l, stats, fx, fy, region) : null,
            });
        }
        return found;
    }

    /// <summary>The outer contour of object <paramref name="label"/> (its lumen is inside it), in level-0 pixels.</summary>
    private static List<(double X, double Y)>? Outline(Mat labels, int label, Mat stats, double fx, double fy, RegionPlanes region)
    {
        var box = new Rect(stats.At<int>(label, (int)ConnectedComponentsTypes.Left), stats.At<int>(label, (int)ConnectedComponentsTypes.Top),
            stats.At<int>(label, (int)ConnectedComponentsTypes.Width), stats.At<int>(label, (int)ConnectedComponentsTypes.Height));
        using var crop = new Mat(labels, box);
        using var mine = new Mat();
        Cv2.Compare(crop, new Scalar(label), mine, CmpTypes.EQ);
        Cv2.FindContours(mine, out Point[][] contours, out _, RetrievalModes.External, ContourApproximationModes.ApproxSimple);
        if (contours.Length == 0)
            return null;
        var largest = contours.MaxBy(c => c.Length)!;
        return largest.Select(p => region.ToLevel0((box.X + p.X + 0.5) * fx - 0.5, (box.Y + p.Y + 0.5) * fy - 0.5)).ToList();
    }

    /// <summary>Pixels enclosed by the object (not reachable from outside its bounding box) and their mean counterstain.</summary>
    private static (int Pixels, double MeanCounterstain) Lumen(Span<int> lab, Span<float> hem, int label, int w, int h, Mat stats)
    {
        int left = stats.At<int>(label, (int)ConnectedComponentsTypes.Left), top = stats.At<int>(label, (int)ConnectedComponentsTypes.Top);
        int bw = stats.At<int>(label, (int)ConnectedComponentsTypes.Width), bh = stats.At<int>(label, (int)ConnectedComponentsTypes.Height);
        // The box with a one-pixel frame: everything the frame reaches without crossing the object is outside.
        int fw = bw + 2, fh = bh + 2;
        var outside = new bool[fw * fh];
        var stack = new Stack<int>();
        stack.Push(0);
        outside[0] = true;
        while (stack.Count > 0)
        {
            int p = stack.Pop();
            int x = p % fw, y = p / fw;
            foreach (var (nx, ny) in new[] { (x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1) })
            {
                if (nx < 0 || ny < 0 || nx >= fw || ny >= fh || outside[ny * fw + nx])
                    continue;
                int gx = left + nx - 1, gy = top + ny - 1;
                bool inObject = gx >= 0 && gy >= 0 && gx < w && gy < h && lab[gy * w + gx] == label;
                if (inObject)
                    continue;
                outside[ny * fw + nx] = true;
                stack.Push(ny * fw + nx);
            }
        }
        int pixels = 0;
        double counterstain = 0;
        for (int y = 1; y <= bh; y++)
            for (int x = 1; x <= bw; x++)
            {
                int gx = left + x - 1, gy = top + y - 1;
                if (outside[y * fw + x] || lab[gy * w + gx] == label)
                    continue;
                pixels++;
                counterstain += hem[gy * w + gx];
            }
        return (pixels, pixels > 0 ? counterstain / pixels : 0);
    }
}
