using OpenCvSharp;
using static HistoQuant.Measures.Planes;

namespace HistoQuant.Measures.Fibres;

/// <summary>
/// Segments muscle fibres in one region and scores their DAB. Fibres are large, evenly stained regions;
/// what separates them is paler endomysium, nuclei and (on positive fibres) the stained sarcolemma itself.
/// <list type="number">
/// <item>At about 1 µm/px, smooth the OD sum, DAB and counterstain planes (σ 0.5 µm).</item>
/// <item>Boundary = endomysium (OD sum below half the region's median tissue OD, or a thin line 20% paler than the
///   fibres either side), DAB ≥ weak, or a nucleus.</item>
/// <item>Seeds = connected parts of the non-boundary tissue at least 4 µm from any boundary.</item>
/// <item>Grow the seeds over all tissue breadth-first, first through everything but pale endomysium, then through
///   it, so the lines between fibres run through the endomysium and a stained sarcolemma stays with the fibre it lines.</item>
/// <item>Drop fibres outside 200–20 000 µm², less solid than 0.8 (area / convex hull), or cut by the region edge.</item>
/// <item>Sarcolemmal band = the fibre's pixels within 4 µm of its boundary: positive when ≥ 30% of it is DAB ≥ weak;
///   sarcoplasmic positive when the rest of the fibre has mean DAB ≥ weak.</item>
/// </list>
/// </summary>
public sealed class FibreDetector(FibreSettings settings, double weak)
{
    public FibreSettings Settings => settings;

    public List<DetectedFibre> Detect(RegionPlanes region, double mpp, int slideWidth, int slideHeight, bool outlines)
    {
        using var hem = new Mat();
        using var dab = new Mat();
        double px = ResampleBoth(region.Counterstain, region.Chromogen, region.Width, region.Height, mpp, settings.DetectionMicronsPerPixel, hem, dab);
        int w = hem.Cols, h = hem.Rows, n = w * h;
        double fx = region.Width / (double)w, fy = region.Height / (double)h;
        (double X, double Y) ToLevel0(double x, double y) => region.ToLevel0((x + 0.5) * fx - 0.5, (y + 0.5) * fy - 0.5);

        var tissue = new bool[n];
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                var (lx, ly) = ToLevel0(x, y);
                tissue[i] = region.Tissue.IsTissue(lx, ly);
            }

        double sigma = Math.Max(0.3, settings.SmoothSigmaMicrons / px);
        using var sum = new Mat();
        Cv2.Add(hem, dab, sum);
        using var odSmooth = Blur(sum, sigma);
        using var dabSmooth = Blur(dab, sigma);
        using var hemSmooth = Blur(hem, sigma);
        var od = SpanF(odSmooth, n);
        var ds = SpanF(dabSmooth, n);
        var hs = SpanF(hemSmooth, n);
        var dabRaw = SpanF(dab, n);

        float? median = MedianInTissue(od, tissue);
        if (median is null)
            return [];
        var pale = Endomysium(odSmooth, od, tissue, median.Value, px);

        using var interior = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var inside = Span8(interior, n);
        for (int i = 0; i < n; i++)
            if (tissue[i] && !pale[i] && ds[i] < weak && hs[i] < settings.NucleusOd)
                inside[i] = 255;
        using var dist = new Mat();
        Cv2.DistanceTransform(interior, dist, DistanceTypes.L2, DistanceTransformMasks.Precise);
        using var seeds = Binary(dist, settings.MarkerDepthMicrons / px);
        using var markers = new Mat();
        int count = Cv2.ConnectedComponents(seeds, markers, PixelConnectivity.Connectivity8, MatType.CV_32S) - 1;
        if (count <= 0)
            return [];
        var label = Span32(markers, n).ToArray();
        Flood(label, tissue, pale, w, h);
        return Score(label, count, tissue, dabRaw, w, h, px, region, slideWidth, slideHeight, ToLevel0, outlines);
    }

    private List<DetectedFibre> Score(int[] label, int count, bool[] tissue, Span<float> dab, int w, int h, double px,
        RegionPlanes region, int slideWidth, int slideHeight, Func<double, double, (double X, double Y)> toLevel0, bool outlines)
    {
        int n = w * h;
        // Boundary pixels: a 4-neighbour belongs to another fibre or to no fibre. Where a fibre meets glass (cut at
        // the tissue edge) there is no sarcolemma, so that side is not part of the band; it still counts for the hull.
        using var notEdge = new Mat(h, w, MatType.CV_8UC1, Scalar.All(255));
        var ne = Span8(notEdge, n);
        var edgePoints = new List<Point>?[count + 1];
        var cut = new bool[count + 1];
        var (atLeft, atTop, atRight, atBottom) = region.AtSlideEdge(slideWidth, slideHeight);
        // A neighbour across a membrane: tissue that is not this fibre (another fibre, endomysium, a dropped object).
        bool Membrane(int j, int l) => tissue[j] && label[j] != l;
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int l = label[i];
                if (l <= 0)
                    continue;
                bool frame = x == 0 || y == 0 || x == w - 1 || y == h - 1;
                if (!frame && label[i - 1] == l && label[i + 1] == l && label[i - w] == l && label[i + w] == l)
                    continue;
                (edgePoints[l] ??= []).Add(new Point(x, y));
                if (frame || Membrane(i - 1, l) || Membrane(i + 1, l) || Membrane(i - w, l) || Membrane(i + w, l))
                    ne[i] = 0;
                if ((x == 0 && !atLeft) || (y == 0 && !atTop) || (x == w - 1 && !atRight) || (y == h - 1 && !atBottom))
                    cut[l] = true;
            }
        using var toEdge = new Mat();
        Cv2.DistanceTransform(notEdge, toEdge, DistanceTypes.L2, DistanceTransformMasks.Precise);
        var de = SpanF(toEdge, n);
        float band = (float)(settings.BandMicrons / px);

        var area = new int[count + 1];
        var sx = new double[count + 1];
        var sy = new double[count + 1];
        var bandN = new int[count + 1];
        var bandPositive = new int[count + 1];
        var bandSum = new double[count + 1];
        var innerN = new int[count + 1];
        var innerSum = new double[count + 1];
        var boxes = EmptyBoxes(count + 1);
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int l = label[i];
                if (l <= 0)
                    continue;
                area[l]++;
                sx[l] += x;
                sy[l] += y;
                var b = boxes[l];
                boxes[l] = (Math.Min(b.Item1, x), Math.Min(b.Item2, y), Math.Max(b.Item3, x), Math.Max(b.Item4, y));
                if (de[i] <= band)
                {
                    bandN[l]++;
                    bandSum[l] += dab[i];
                    if (dab[i] >= weak)
                        bandPositive[l]++;
                }
                else
                {
                    innerN[l]++;
                    innerSum[l] += dab[i];
                }
            }

        var fibres = new List<DetectedFibre>();
        double px2 = px * px;
        for (int l = 1; l <= count; l++)
        {
            double a = area[l] * px2;
            if (cut[l] || a < settings.MinAreaMicrons2 || a > settings.MaxAreaMicrons2 || edgePoints[l] is not { Count: >= 3 } points)
                continue;
            var hullPoints = Cv2.ConvexHull(points);
            // Pixels inside a hull through pixel centres ≈ its area + half its perimeter + 1 (Pick's theorem).
            double hullPixels = Cv2.ContourArea(hullPoints) + Cv2.ArcLength(hullPoints, true) / 2 + 1;
            double solidity = Math.Min(1, area[l] / hullPixels);
            if (solidity < settings.MinSolidity)
                continue;
            var (cx, cy) = toLevel0(sx[l] / area[l], sy[l] / area[l]);
            if (!region.Owns(cx, cy))
                continue;
            double bandFraction = bandN[l] > 0 ? (double)bandPositive[l] / bandN[l] : 0;
            double inner = innerN[l] > 0 ? innerSum[l] / innerN[l] : bandN[l] > 0 ? bandSum[l] / bandN[l] : 0;
            fibres.Add(new DetectedFibre(cx, cy, a, solidity, bandN[l] > 0 ? bandSum[l] / bandN[l] : 0, bandFraction, inner,
                bandFraction >= settings.RingFraction, inner >= weak,
                outlines ? Outline(label, l, w, boxes[l], toLevel0) : null));
        }
        return fibres;
    }

    /// <summary>
    /// Grows the seeds over tissue in two breadth-first waves. The first crosses only pixels at least as dark
    /// as the endomysium threshold, so fibre, stained sarcolemma and nuclei go to the nearest seed along a
    /// path that stays inside the fibre: a stained sarcolemma is adjacent to its own fibre's interior and far
    /// from any other seed. The second wave then shares the pale endomysium between the fibres on either side,
    /// so they meet in its middle. (A flood ordered by darkness instead lets one seed run along every connected
    /// stained ring before its neighbours move.)
    /// </summary>
    private static void Flood(int[] label, bool[] tissue, bool[] pale, int w, int h)
    {
        var dark = new Queue<int>();
        var later = new Queue<int>();
        for (int i = 0; i < label.Length; i++)
            if (label[i] > 0)
                dark.Enqueue(i);
        Span<int> neighbours = stackalloc int[4];
        foreach (var (queue, crossPale) in new[] { (dark, false), (later, true) })
        {
            while (queue.TryDequeue(out int i))
            {
                int x = i % w, y = i / w, k = 0;
                if (x > 0) neighbours[k++] = i - 1;
                if (x < w - 1) neighbours[k++] = i + 1;
                if (y > 0) neighbours[k++] = i - w;
                if (y < h - 1) neighbours[k++] = i + w;
                foreach (int j in neighbours[..k])
                {
                    if (label[j] != 0 || !tissue[j])
                        continue;
                    if (pale[j] && !crossPale)
                    {
                        // Claimed now, spread later: the endomysium next to this fibre is this fibre's side of the gap.
                        label[j] = label[i];
                        later.Enqueue(j);
                        continue;
                    }
                    label[j] = label[i];
                    queue.Enqueue(j);
                }
            }
        }
    }

    /// <summary>
    /// Endomysium: tissue paler than GapFraction of the median tissue OD (clearly pale interstitium), or a thin
    /// line at least ValleyContrast paler than the fibres on either side. A grey closing carries the fibre level
    /// across lines up to 2 × ValleyMicrons wide, so a faint line counts while a fibre pale all over does not. The
    /// OD is capped near the median first: without the cap, the closing would fill the fibre between two nuclei or
    /// stained sarcolemma segments up to their darkness and call it a valley.
    /// </summary>
    private bool[] Endomysium(Mat odSmooth, Span<float> od, bool[] tissue, float median, double px)
    {
        int n = od.Length;
        float gap = (float)(settings.GapFraction * median);
        var pale = new bool[n];
        for (int i = 0; i < n; i++)
            pale[i] = tissue[i] && od[i] < gap;
        if (settings.ValleyContrast <= 0)
            return pale;
        int r = Math.Max(1, (int)Math.Round(settings.ValleyMicrons / px));
        using var capped = new Mat();
        Cv2.Min(odSmooth, (double)(CapOverMedian * median), capped);
        using var shape = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * r + 1, 2 * r + 1));
        using var level = new Mat();
        Cv2.MorphologyEx(capped, level, MorphTypes.Close, shape, borderType: BorderTypes.Replicate);
        var lv = SpanF(level, n);
        using var valley = new Mat(odSmooth.Rows, odSmooth.Cols, MatType.CV_8UC1, Scalar.All(0));
        var v = Span8(valley, n);
        float keep = (float)(1 - settings.ValleyContrast);
        for (int i = 0; i < n; i++)
            if (tissue[i] && od[i] < keep * lv[i])
                v[i] = 1;
        // Endomysium is a network of lines; specks of noise inside a fibre are not.
        RemoveSmallComponents(valley, (int)Math.Ceiling(MinValleyMicrons2 / (px * px)), value: 1);
        for (int i = 0; i < n; i++)
            pale[i] |= v[i] != 0;
        return pale;
    }

    private const float CapOverMedian = 1.5f;
    private const double MinValleyMicrons2 = 25;

    private static float? MedianInTissue(Span<float> values, bool[] tissue)
    {
        var sample = new List<float>();
        for (int i = 0; i < values.Length; i += 3)
            if (tissue[i])
                sample.Add(values[i]);
        if (sample.Count < 100)
            return null;
        sample.Sort();
        return sample[sample.Count / 2];
    }

    private static Mat Blur(Mat plane, double sigma)
    {
        var smooth = new Mat();
        Cv2.GaussianBlur(plane, smooth, new Size(0, 0), sigma, sigma, BorderTypes.Reflect101);
        return smooth;
    }
}
