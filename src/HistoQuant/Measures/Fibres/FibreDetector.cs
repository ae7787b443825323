using OpenCvSharp;
using static HistoQuant.Measures.Planes;

namespace HistoQuant.Measures.Fibres;

/// <summary>
/// Segments muscle fibres in one region from their shape, then measures them and (for models that grade fibres)
/// scores their chromogen. Fibres are large, smooth, roughly convex regions separated by thin lines (endomysium,
/// sarcolemma, cracks) that may be paler or darker than the fibre; the chromogen never decides where a fibre is.
/// <list type="number">
/// <item>At about 1 µm/px, the stain-independent OD (counterstain + chromogen concentration) smoothed (σ 0.5 µm).</item>
/// <item>Lines: clearly pale tissue (below half the region's median OD), or pixels at least 20% paler than the local
///   fibre level (grey closing over 3 µm) or 25% darker than it (grey opening over 3 µm); pieces under 25 µm² dropped.</item>
/// <item>Seeds: the h-maxima (dynamic 2.5 µm, depth ≥ 3 µm) of the distance to the nearest line or glass.</item>
/// <item>A marker watershed on the inverted distance map, lines on top, grows the seeds over the tissue; pale pixels
///   are then taken out and each fibre keeps the part connected to its seed.</item>
/// <item>Fibres outside 100–20 000 µm², less solid than 0.8 (area / convex hull), or cut by the region edge are dropped.</item>
/// <item>Per fibre: area, minimal Feret diameter (rotating calipers on the convex hull of the pixel outline, as
///   ImageJ's MinFeret), an internal nucleus (counterstain ≥ 0.25 at least 4 µm inside the outline on ≥ 6 µm²);
///   sarcolemmal band = fibre pixels within 4 µm of its borders with other tissue: positive when ≥ 30% of it is
///   DAB ≥ weak; sarcoplasmic when the rest of the fibre has mean DAB ≥ weak.</item>
/// </list>
/// </summary>
public sealed class FibreDetector(FibreSettings settings, double weak, bool score = true)
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
        var od = SpanF(odSmooth, n);

        float? median = MedianInTissue(od, tissue);
        if (median is null)
            return [];
        var (line, pale, blob) = Lines(odSmooth, od, tissue, median.Value, px);

        using var open = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var o = Span8(open, n);
        for (int i = 0; i < n; i++)
            if (tissue[i] && !line[i])
                o[i] = 255;
        using var distMat = new Mat();
        Cv2.DistanceTransform(open, distMat, DistanceTypes.L2, DistanceTransformMasks.Precise);
        var dist = SpanF(distMat, n).ToArray();

        var (label, count) = Seeds(dist, w, h, px);
        if (count == 0)
            return [];
        var seeded = (int[])label.Clone();
        Flood(label, dist, line, tissue, w, h);
        var fibre = KeepSeedConnected(label, seeded, pale, w, h);
        fibre = Tidy(fibre, seeded, w, h, px);
        MergeUnsupportedCuts(fibre, seeded, count, line, w, h);

        using var hemSmooth = Blur(hem, sigma);
        var hs = SpanF(hemSmooth, n).ToArray();
        var dabRaw = SpanF(dab, n).ToArray();
        return Score(fibre, count, tissue, blob, dabRaw, hs, w, h, px, region, slideWidth, slideHeight, ToLevel0, outlines);
    }

    /// <summary>
    /// Boundary lines of either polarity on the stain-independent OD. Pale: below GapFraction of the median tissue OD
    /// (wide interstitium), or ValleyContrast below the local fibre level, the OD grey-closed over LineMicrons (capped
    /// at 1.5 × the median first, or the closing would fill the fibre between two nuclei up to their darkness). Dark:
    /// RidgeContrast above the local level, the OD grey-opened over LineMicrons (floored at the pale cut, so the
    /// edge of a fibre against glass or wide interstitium is not a dark line). Pieces under MinLineMicrons2 are dropped.
    /// Returns the lines and, of them, the pale ones (which belong to no fibre).
    /// </summary>
    private (bool[] Line, bool[] Pale, bool[] Blob) Lines(Mat odSmooth, Span<float> od, bool[] tissue, float median, double px)
    {
        int n = od.Length;
        float gap = (float)(settings.GapFraction * median);
        int r = Math.Max(1, (int)Math.Round(settings.LineMicrons / px));
        using var shape = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * r + 1, 2 * r + 1));
        // The local fibre level: dark lines and nuclei opened away, then pale lines closed over.
        using var capped = new Mat();
        using var opened = new Mat();
        using var level = new Mat();
        Cv2.Min(odSmooth, (double)(CapOverMedian * median), capped);
        Cv2.MorphologyEx(capped, opened, MorphTypes.Open, shape, borderType: BorderTypes.Replicate);
        Cv2.MorphologyEx(opened, level, MorphTypes.Close, shape, borderType: BorderTypes.Replicate);
        var lv = SpanF(level, n);
        var (lmax, lmin) = Curvatures(odSmooth, px, median);
        float paleK = (float)(1 - settings.ValleyContrast), darkK = (float)(1 + settings.RidgeContrast);
        float faintPale = (float)(1 - settings.LineContrast), faintDark = (float)(1 + settings.LineContrast);
        float valleyCurv = (float)settings.ValleyCurvature, ridgeCurv = (float)settings.RidgeCurvature;
        bool valleys = settings.ValleyContrast > 0, ridges = settings.RidgeContrast > 0;

        using var lineMat = new Mat(odSmooth.Rows, odSmooth.Cols, MatType.CV_8UC1, Scalar.All(0));
        var lm = Span8(lineMat, n);
        var pale = new bool[n];
        for (int i = 0; i < n; i++)
        {
            if (!tissue[i])
                continue;
            float v = od[i];
            if (v < gap || (valleys && (v < paleK * lv[i] || (lmax[i] > valleyCurv && v < faintPale * lv[i]))))
            {
                pale[i] = true;
                lm[i] = 1;
            }
            else if (ridges && (v > darkK * lv[i] || (lmin[i] < -ridgeCurv && lmax[i] > 0.5f * lmin[i] && v > faintDark * lv[i])))
                lm[i] = 2;
        }
        var blob = DropInteriorBlobs(lineMat, pale, px);
        using (var any = new Mat())
        {
            Cv2.Threshold(lineMat, any, 0, 1, ThresholdTypes.Binary);
            RemoveSmallComponents(any, (int)Math.Ceiling(settings.MinLineMicrons2 / (px * px)), value: 1);
            Cv2.Multiply(lineMat, any, lineMat);
        }
        var line = new bool[n];
        for (int i = 0; i < n; i++)
        {
            line[i] = lm[i] != 0;
            pale[i] &= line[i];
        }
        return (line, pale, blob);
    }

    private const float CapOverMedian = 1.5f;

    /// <summary>
    /// Dark blobs are nuclei and cells, not boundaries: the thick parts of the dark lines (what an opening by a disk
    /// of BlobMicrons leaves) smaller than MaxBlobMicrons2 are taken out of the lines, so they neither cut a fibre nor
    /// hollow its distance map. Dark lines (a membrane, a stained sarcolemma, two touching rings) are thinner than
    /// the disk and stay.
    /// </summary>
    private static bool[] DropInteriorBlobs(Mat lineMat, bool[] pale, double px)
    {
        var blob = new bool[pale.Length];
        int n = pale.Length;
        using var dark = new Mat();
        Cv2.Compare(lineMat, Scalar.All(2), dark, CmpTypes.EQ);
        int r = Math.Max(1, (int)Math.Round(BlobMicrons / px));
        using var disk = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * r + 1, 2 * r + 1));
        using var thick = new Mat();
        Cv2.MorphologyEx(dark, thick, MorphTypes.Open, disk);
        using var labels = new Mat();
        using var stats = new Mat();
        using var centroids = new Mat();
        int count = Cv2.ConnectedComponentsWithStats(thick, labels, stats, centroids, PixelConnectivity.Connectivity8, MatType.CV_32S);
        if (count <= 1)
            return blob;
        var lab = Span32(labels, n);
        var small = new bool[count];
        int maxBlob = (int)Math.Ceiling(MaxBlobMicrons2 / (px * px));
        for (int k = 1; k < count; k++)
            small[k] = stats.At<int>(k, (int)ConnectedComponentsTypes.Area) < maxBlob;
        var lm = Span8(lineMat, n);
        for (int i = 0; i < n; i++)
            if (lab[i] > 0 && small[lab[i]])
            {
                lm[i] = 0;
                blob[i] = true;
            }
        return blob;
    }

    private const double BlobMicrons = 2.5;
    private const double MaxBlobMicrons2 = 400;

    /// <summary>
    /// The two eigenvalues of the Hessian of the OD at the scale of the endomysium (Gaussian σ = LineMicrons / 3),
    /// scale-normalised (× σ²) and relative to the median tissue OD: a thin pale line has a large positive λmax across
    /// it, a thin dark line a large negative λmin with λmax near 0 (a dark blob, a nucleus, has both negative). The
    /// curvature sees lines a pixel wide that a grey closing or opening at this resolution blurs below its contrast.
    /// </summary>
    private (float[] Max, float[] Min) Curvatures(Mat odSmooth, double px, float median)
    {
        int n = odSmooth.Rows * odSmooth.Cols;
        double sigma = Math.Max(0.5, settings.LineMicrons / 3 / px);
        using var b = new Mat();
        Cv2.GaussianBlur(odSmooth, b, new Size(0, 0), sigma, sigma, BorderTypes.Reflect101);
        using var dxx = new Mat();
        using var dyy = new Mat();
        using var dxy = new Mat();
        // Sobel 3×3 second derivatives carry a weight of 4 across the derivative direction.
        Cv2.Sobel(b, dxx, MatType.CV_32F, 2, 0, 3, 0.25, 0, BorderTypes.Reflect101);
        Cv2.Sobel(b, dyy, MatType.CV_32F, 0, 2, 3, 0.25, 0, BorderTypes.Reflect101);
        Cv2.Sobel(b, dxy, MatType.CV_32F, 1, 1, 3, 0.25, 0, BorderTypes.Reflect101);
        var xx = SpanF(dxx, n);
        var yy = SpanF(dyy, n);
        var xy = SpanF(dxy, n);
        var max = new float[n];
        var min = new float[n];
        float k = (float)(sigma * sigma / Math.Max(1e-3, median));
        for (int i = 0; i < n; i++)
        {
            float mean = (xx[i] + yy[i]) / 2, half = (xx[i] - yy[i]) / 2;
            float root = MathF.Sqrt(half * half + xy[i] * xy[i]);
            max[i] = (mean + root) * k;
            min[i] = (mean - root) * k;
        }
        return (max, min);
    }

    /// <summary>
    /// Seeds: the regional maxima of the distance map whose dynamic (height over the saddle to a higher maximum) is at
    /// least SeedDynamicMicrons (h-maxima: the distance's caps above its reconstruction by dilation from distance − h),
    /// at least MarkerDepthMicrons deep. Labelled 1..count (8-connected).
    /// </summary>
    private (int[] Label, int Count) Seeds(float[] dist, int w, int h, double px)
    {
        int n = w * h;
        float dyn = (float)(settings.SeedDynamicMicrons / px), depth = (float)(settings.MarkerDepthMicrons / px);
        var marker = new float[n];
        for (int i = 0; i < n; i++)
            marker[i] = Math.Max(0, dist[i] - dyn);
        ReconstructByDilation(marker, dist, w, h);
        // The h-maxima of a dome are its cap above the reconstruction (there the reconstruction is flat at the peak
        // − h); a cap counts when its peak stands the full h above it. Caps of lesser maxima (dynamic < h) never do.
        using var caps = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var c = Span8(caps, n);
        for (int i = 0; i < n; i++)
            if (dist[i] >= depth && dist[i] > marker[i] + 1e-4f)
                c[i] = 255;
        using var labels = new Mat();
        int found = Cv2.ConnectedComponents(caps, labels, PixelConnectivity.Connectivity8, MatType.CV_32S);
        var lab = Span32(labels, n);
        var full = new bool[found];
        for (int i = 0; i < n; i++)
            if (lab[i] > 0 && dist[i] - marker[i] >= dyn - 1e-3f)
                full[lab[i]] = true;
        var renumber = new int[found];
        int count = 0;
        for (int k = 1; k < found; k++)
            if (full[k])
                renumber[k] = ++count;
        var seeds = new int[n];
        for (int i = 0; i < n; i++)
            seeds[i] = renumber[lab[i]];
        return (seeds, count);
    }

    /// <summary>
    /// Grey reconstruction by dilation of <paramref name="f"/> under <paramref name="g"/> (f ≤ g), 8-connected, in
    /// place: Vincent's hybrid algorithm (1993), a forward and a backward raster scan and then a FIFO queue. Written
    /// here because OpenCV has no morphological reconstruction, and iterating Cv2.Dilate to convergence costs one pass
    /// per pixel of the widest fibre.
    /// </summary>
    internal static void ReconstructByDilation(float[] f, float[] g, int w, int h)
    {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                float v = f[i];
                if (x > 0) v = Math.Max(v, f[i - 1]);
                if (y > 0)
                {
                    v = Math.Max(v, f[i - w]);
                    if (x > 0) v = Math.Max(v, f[i - w - 1]);
                    if (x < w - 1) v = Math.Max(v, f[i - w + 1]);
                }
                f[i] = Math.Min(v, g[i]);
            }
        var queue = new Queue<int>();
        for (int y = h - 1; y >= 0; y--)
            for (int x = w - 1; x >= 0; x--)
            {
                int i = y * w + x;
                float v = f[i];
                if (x < w - 1) v = Math.Max(v, f[i + 1]);
                if (y < h - 1)
                {
                    v = Math.Max(v, f[i + w]);
                    if (x < w - 1) v = Math.Max(v, f[i + w + 1]);
                    if (x > 0) v = Math.Max(v, f[i + w - 1]);
                }
                f[i] = v = Math.Min(v, g[i]);
                if ((x < w - 1 && f[i + 1] < v && f[i + 1] < g[i + 1])
                    || (y < h - 1 && ((f[i + w] < v && f[i + w] < g[i + w])
                        || (x < w - 1 && f[i + w + 1] < v && f[i + w + 1] < g[i + w + 1])
                        || (x > 0 && f[i + w - 1] < v && f[i + w - 1] < g[i + w - 1]))))
                    queue.Enqueue(i);
            }
        while (queue.TryDequeue(out int i))
        {
            int x = i % w, y = i / w;
            float v = f[i];
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                {
                    int qx = x + dx, qy = y + dy;
                    if ((dx == 0 && dy == 0) || qx < 0 || qy < 0 || qx >= w || qy >= h)
                        continue;
                    int q = qy * w + qx;
                    if (f[q] < v && f[q] != g[q])
                    {
                        f[q] = Math.Min(v, g[q]);
                        queue.Enqueue(q);
                    }
                }
        }
    }

    /// <summary>
    /// Marker watershed by flooding, 4-connected, over the tissue: the relief is the inverted distance to the nearest
    /// line (quantised to ¼ px), with every line pixel on top, so each fibre fills its own interior first, a neck
    /// without a visible line is cut at its narrowest, and two fibres meet in the middle of the line between them
    /// (the top level is flooded first in, first out from all sides). A bucket queue of linked lists keeps it
    /// O(pixels); OpenCV's watershed floods by colour difference between neighbours, not by a relief.
    /// </summary>
    private static void Flood(int[] label, float[] dist, bool[] line, bool[] tissue, int w, int h)
    {
        int n = label.Length;
        float maxD = 0;
        for (int i = 0; i < n; i++)
            maxD = Math.Max(maxD, dist[i]);
        int top = (int)(maxD * 4) + 1;
        int Level(int i) => line[i] ? top : Math.Clamp((int)((maxD - dist[i]) * 4), 0, top - 1);
        var head = new int[top + 1];
        var tail = new int[top + 1];
        Array.Fill(head, -1);
        var next = new int[n];
        void Push(int i, int level)
        {
            next[i] = -1;
            if (head[level] < 0)
                head[level] = i;
            else
                next[tail[level]] = i;
            tail[level] = i;
        }
        for (int i = 0; i < n; i++)
            if (label[i] > 0)
                Push(i, Level(i));
        Span<int> neighbours = stackalloc int[4];
        for (int level = 0; level <= top; level++)
        {
            while (head[level] >= 0)
            {
                int i = head[level];
                head[level] = next[i];
                int x = i % w, y = i / w, k = 0;
                if (x > 0) neighbours[k++] = i - 1;
                if (x < w - 1) neighbours[k++] = i + 1;
                if (y > 0) neighbours[k++] = i - w;
                if (y < h - 1) neighbours[k++] = i + w;
                foreach (int j in neighbours[..k])
                {
                    if (label[j] != 0 || !tissue[j])
                        continue;
                    label[j] = label[i];
                    Push(j, Math.Max(level, Level(j)));
                }
            }
        }
    }

    /// <summary>
    /// Pale lines belong to no fibre; of the rest of what a seed flooded, the fibre is the part connected to the seed
    /// (4-connected), so interstitial cells beyond a pale gap do not join it.
    /// </summary>
    private static int[] KeepSeedConnected(int[] flooded, int[] seeds, bool[] pale, int w, int h)
    {
        int n = flooded.Length;
        var fibre = new int[n];
        var queue = new Queue<int>();
        for (int i = 0; i < n; i++)
            if (seeds[i] > 0 && !pale[i])
            {
                fibre[i] = seeds[i];
                queue.Enqueue(i);
            }
        while (queue.TryDequeue(out int i))
        {
            int x = i % w, y = i / w, l = fibre[i];
            void Visit(int j)
            {
                if (fibre[j] == 0 && flooded[j] == l && !pale[j])
                {
                    fibre[j] = l;
                    queue.Enqueue(j);
                }
            }
            if (x > 0) Visit(i - 1);
            if (x < w - 1) Visit(i + 1);
            if (y > 0) Visit(i - w);
            if (y < h - 1) Visit(i + w);
        }
        return fibre;
    }

    /// <summary>
    /// The distance map cuts a fibre in two where its outline has a waist; a cut that no line supports is undone
    /// when the two halves together are as convex as a fibre. Two fibres that touch are merged when fewer than
    /// <see cref="MinCutSupport"/> of the pixel pairs across their common border lie on a line and the union's
    /// solidity is at least <see cref="MergedSolidity"/>; relabels <paramref name="fibre"/> and
    /// <paramref name="seeds"/> in place.
    /// </summary>
    private static void MergeUnsupportedCuts(int[] fibre, int[] seeds, int count, bool[] line, int w, int h)
    {
        int n = fibre.Length;
        var border = new Dictionary<(int, int), (int All, int Line)>();
        var points = new List<Point>?[count + 1];
        var area = new int[count + 1];
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int a = fibre[i];
                if (a <= 0)
                    continue;
                area[a]++;
                bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1
                    || fibre[i - 1] != a || fibre[i + 1] != a || fibre[i - w] != a || fibre[i + w] != a;
                if (edge)
                    (points[a] ??= []).Add(new Point(x, y));
                foreach (int j in (ReadOnlySpan<int>)[x < w - 1 ? i + 1 : -1, y < h - 1 ? i + w : -1])
                {
                    if (j < 0 || fibre[j] <= 0 || fibre[j] == a)
                        continue;
                    var key = a < fibre[j] ? (a, fibre[j]) : (fibre[j], a);
                    var c = border.GetValueOrDefault(key);
                    border[key] = (c.All + 1, c.Line + (line[i] || line[j] ? 1 : 0));
                }
            }
        if (border.Count == 0)
            return;
        var hulls = new Point[]?[count + 1];
        Point[] Hull(int l) => hulls[l] ??= points[l] is { Count: >= 3 } p ? Cv2.ConvexHull(p) : points[l]?.ToArray() ?? [];
        var root = Enumerable.Range(0, count + 1).ToArray();
        int Find(int l) => root[l] == l ? l : root[l] = Find(root[l]);
        foreach (var ((a, b), c) in border.OrderBy(kv => (double)kv.Value.Line / kv.Value.All))
        {
            if (c.Line >= MinCutSupport * c.All || c.All < 3)
                continue;
            int ra = Find(a), rb = Find(b);
            if (ra == rb)
                continue;
            var union = Cv2.ConvexHull(Hull(ra).Concat(Hull(rb)));
            double hullPixels = Cv2.ContourArea(union) + Cv2.ArcLength(union, true) / 2 + 1;
            if ((area[ra] + area[rb]) / hullPixels < MergedSolidity)
                continue;
            root[rb] = ra;
            area[ra] += area[rb];
            hulls[ra] = union;
        }
        for (int i = 0; i < n; i++)
        {
            if (fibre[i] > 0)
                fibre[i] = Find(fibre[i]);
            if (seeds[i] > 0)
                seeds[i] = Find(seeds[i]);
        }
    }

    private const double MinCutSupport = 0.5, MergedSolidity = 0.9;

    /// <summary>
    /// Smooths the fibres: holes enclosed by one fibre (a vacuole, a pale speck) become part of it, then an opening by
    /// a disk of SmoothMicrons takes off thin attachments (interstitial cells touching a fibre, a ragged edge), and each
    /// fibre again keeps the part connected to its seed.
    /// </summary>
    private int[] Tidy(int[] fibre, int[] seeds, int w, int h, double px)
    {
        int n = fibre.Length;
        using var empty = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var e = Span8(empty, n);
        for (int i = 0; i < n; i++)
            if (fibre[i] == 0)
                e[i] = 255;
        using var holes = new Mat();
        int count = Cv2.ConnectedComponents(empty, holes, PixelConnectivity.Connectivity4, MatType.CV_32S);
        var hl = Span32(holes, n);
        var owner = new int[count]; // 0 unknown, -1 open (touches the frame or two fibres), else the one fibre around it
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int k = hl[i];
                if (k == 0 || owner[k] < 0)
                    continue;
                if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
                {
                    owner[k] = -1;
                    continue;
                }
                foreach (int j in (ReadOnlySpan<int>)[i - 1, i + 1, i - w, i + w])
                {
                    int l = fibre[j];
                    if (l == 0)
                        continue;
                    if (owner[k] == 0)
                        owner[k] = l;
                    else if (owner[k] != l)
                        owner[k] = -1;
                }
            }
        var filled = (int[])fibre.Clone();
        for (int i = 0; i < n; i++)
            if (hl[i] > 0 && owner[hl[i]] > 0)
                filled[i] = owner[hl[i]];

        double r = settings.SmoothMicrons / px;
        if (r < 0.5)
            return filled;
        using var inner = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var inn = Span8(inner, n);
        for (int y = 1; y < h - 1; y++)
            for (int x = 1; x < w - 1; x++)
            {
                int i = y * w + x, l = filled[i];
                if (l > 0 && filled[i - 1] == l && filled[i + 1] == l && filled[i - w] == l && filled[i + w] == l)
                    inn[i] = 255;
            }
        using var depth = new Mat();
        Cv2.DistanceTransform(inner, depth, DistanceTypes.L2, DistanceTransformMasks.Precise);
        var d = SpanF(depth, n);
        using var notEroded = new Mat(h, w, MatType.CV_8UC1, Scalar.All(255));
        var ne = Span8(notEroded, n);
        for (int i = 0; i < n; i++)
            if (d[i] > r - 1)
                ne[i] = 0;
        using var toEroded = new Mat();
        Cv2.DistanceTransform(notEroded, toEroded, DistanceTypes.L2, DistanceTransformMasks.Precise);
        var te = SpanF(toEroded, n);
        var opened = new int[n];
        for (int i = 0; i < n; i++)
            if (filled[i] > 0 && te[i] <= r)
                opened[i] = filled[i];
        return KeepSeedConnected(opened, seeds, new bool[n], w, h);
    }

    private List<DetectedFibre> Score(int[] label, int count, bool[] tissue, bool[] blob, float[] dab, float[] hem, int w, int h, double px,
        RegionPlanes region, int slideWidth, int slideHeight, Func<double, double, (double X, double Y)> toLevel0, bool outlines)
    {
        int n = w * h;
        // notEdge: 0 on a fibre's borders with other tissue (another fibre, endomysium), from which the sarcolemmal band
        // is measured; a side cut by the tissue edge has no sarcolemma. notOutside: 0 on every border of a fibre, from
        // which the depth of a nucleus inside it is measured.
        using var notEdge = new Mat(h, w, MatType.CV_8UC1, Scalar.All(255));
        using var notOutside = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var ne = Span8(notEdge, n);
        var no = Span8(notOutside, n);
        var edgePoints = new List<Point>?[count + 1];
        var cut = new bool[count + 1];
        var atSlideEdge = new bool[count + 1];
        var (atLeft, atTop, atRight, atBottom) = region.AtSlideEdge(slideWidth, slideHeight);
        bool Membrane(int j, int l) => tissue[j] && label[j] != l;
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int l = label[i];
                if (l <= 0)
                    continue;
                bool frame = x == 0 || y == 0 || x == w - 1 || y == h - 1;
                if (!frame && label[i - 1] == l && label[i + 1] == l && label[i - w] == l && label[i + w] == l)
                {
                    no[i] = 255;
                    continue;
                }
                (edgePoints[l] ??= []).Add(new Point(x, y));
                if (frame || Membrane(i - 1, l) || Membrane(i + 1, l) || Membrane(i - w, l) || Membrane(i + w, l))
                    ne[i] = 0;
                bool left = x == 0, topRow = y == 0, right = x == w - 1, bottom = y == h - 1;
                if ((left && !atLeft) || (topRow && !atTop) || (right && !atRight) || (bottom && !atBottom))
                    cut[l] = true;
                else if (left || topRow || right || bottom)
                    atSlideEdge[l] = true;
            }
        using var toEdge = new Mat();
        Cv2.DistanceTransform(notEdge, toEdge, DistanceTypes.L2, DistanceTransformMasks.Precise);
        var de = SpanF(toEdge, n);
        using var depthMat = new Mat();
        Cv2.DistanceTransform(notOutside, depthMat, DistanceTypes.L2, DistanceTransformMasks.Precise);
        var depth = SpanF(depthMat, n);
        float band = (float)(settings.BandMicrons / px);
        // A pixel's distance to the outline runs from pixel centre to the centre of the first outside pixel.
        float internalDepth = (float)(settings.InternalNucleusMicrons / px + 0.5);
        float nucleusOd = (float)settings.NucleusOd;

        var area = new int[count + 1];
        var sx = new double[count + 1];
        var sy = new double[count + 1];
        var bandN = new int[count + 1];
        var bandPositive = new int[count + 1];
        var bandSum = new double[count + 1];
        var innerN = new int[count + 1];
        var innerSum = new double[count + 1];
        var internalNucleus = new int[count + 1];
        var blobN = new int[count + 1];
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
                if (hem[i] >= nucleusOd && depth[i] >= internalDepth)
                    internalNucleus[l]++;
                if (blob[i])
                    blobN[l]++;
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
        int nucleusPixels = Math.Max(1, (int)Math.Ceiling(settings.NucleusMicrons2 / px2));
        for (int l = 1; l <= count; l++)
        {
            double a = area[l] * px2;
            // Mostly dark blob: a cell or a cluster of nuclei between fibres, not a fibre.
            if (cut[l] || a < settings.MinAreaMicrons2 || a > settings.MaxAreaMicrons2 || 2 * blobN[l] > area[l] || edgePoints[l] is not { Count: >= 3 } points)
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
                score && bandFraction >= settings.RingFraction, score && inner >= weak,
                outlines ? PixelOutline(label, l, w, boxes[l], toLevel0) : null,
                MinFeret(hullPoints) * px, internalNucleus[l] >= nucleusPixels, !atSlideEdge[l], score));
        }
        return fibres;
    }

    /// <summary>
    /// The minimal Feret diameter (smallest caliper width) of a set of pixels given by the convex hull of their
    /// centres, in pixels: the pixels' own extent is added as ImageJ does, whose outline runs along pixel edges
    /// (the hull of all pixel corners). Rotating calipers: the minimum over hull edges of the largest distance of a
    /// hull vertex from the edge's line.
    /// </summary>
    internal static double MinFeret(Point[] hullCentres)
    {
        var corners = new List<Point2f>(hullCentres.Length * 4);
        foreach (var p in hullCentres)
        {
            corners.Add(new Point2f(p.X - 0.5f, p.Y - 0.5f));
            corners.Add(new Point2f(p.X + 0.5f, p.Y - 0.5f));
            corners.Add(new Point2f(p.X + 0.5f, p.Y + 0.5f));
            corners.Add(new Point2f(p.X - 0.5f, p.Y + 0.5f));
        }
        var hull = Cv2.ConvexHull(corners);
        int m = hull.Length;
        double best = double.MaxValue;
        for (int a = 0; a < m; a++)
        {
            var p = hull[a];
            var q = hull[(a + 1) % m];
            double ex = q.X - p.X, ey = q.Y - p.Y, len = Math.Sqrt(ex * ex + ey * ey);
            if (len < 1e-9)
                continue;
            double far = 0;
            foreach (var r in hull)
                far = Math.Max(far, Math.Abs((r.X - p.X) * ey - (r.Y - p.Y) * ex) / len);
            best = Math.Min(best, far);
        }
        return best == double.MaxValue ? 1 : best;
    }

    /// <summary>
    /// The outer outline of one labelled fibre along its pixels' outer edges (the pixel-centre contour moved out by
    /// half a pixel, mitred at corners), so the polygon's area matches the pixel count, in level-0 coordinates.
    /// </summary>
    private static List<(double X, double Y)> PixelOutline(int[] labels, int label, int w, (int X0, int Y0, int X1, int Y1) box,
        Func<double, double, (double, double)> toLevel0)
    {
        var points = new List<(double, double)>();
        var (x0, y0, x1, y1) = box;
        using var sub = new Mat(y1 - y0 + 3, x1 - x0 + 3, MatType.CV_8UC1, Scalar.All(0));
        var s = Span8(sub, sub.Rows * sub.Cols);
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
                if (labels[y * w + x] == label)
                    s[(y - y0 + 1) * sub.Cols + x - x0 + 1] = 255;
        Cv2.FindContours(sub, out Point[][] contours, out _, RetrievalModes.External, ContourApproximationModes.ApproxSimple);
        var c = contours.OrderByDescending(k => k.Length).FirstOrDefault();
        if (c is null || c.Length < 3)
            return points;
        // Orientation: the outward normal of edge (dx, dy) is (dy, -dx) for a positive signed area in image axes.
        double signed = 0;
        for (int k = 0; k < c.Length; k++)
        {
            var a = c[k];
            var b = c[(k + 1) % c.Length];
            signed += (double)a.X * b.Y - (double)b.X * a.Y;
        }
        double sign = signed >= 0 ? 1 : -1;
        (double X, double Y) Normal(Point a, Point b)
        {
            double dx = b.X - a.X, dy = b.Y - a.Y, len = Math.Sqrt(dx * dx + dy * dy);
            return len < 1e-9 ? (0, 0) : (sign * dy / len, -sign * dx / len);
        }
        for (int k = 0; k < c.Length; k++)
        {
            var prev = c[(k + c.Length - 1) % c.Length];
            var cur = c[k];
            var nxt = c[(k + 1) % c.Length];
            var n1 = Normal(prev, cur);
            var n2 = Normal(cur, nxt);
            double mx = n1.X + n2.X, my = n1.Y + n2.Y, dot = n1.X * n2.X + n1.Y * n2.Y;
            // Mitre: offset d·(n1 + n2)/(1 + n1·n2), at most 2d long (sharp spikes).
            double scale = 0.5 / Math.Max(0.125, 1 + dot);
            double ox = mx * scale, oy = my * scale;
            points.Add(toLevel0(cur.X + x0 - 1 + ox, cur.Y + y0 - 1 + oy));
        }
        return points;
    }

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
