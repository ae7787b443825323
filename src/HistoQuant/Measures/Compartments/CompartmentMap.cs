using HistoQuant.Kernels;
using HistoQuant.Measures.Cells;
using HistoQuant.Measures.Fibres;
using OpenCvSharp;
using static HistoQuant.Measures.Planes;

namespace HistoQuant.Measures.Compartments;

/// <summary>
/// A slide's compartments, built once every detector has run: fascicles, perimysium, perivascular zones, where each
/// positive cell lies and each fibre's depth in fibre layers from its fascicle's border. Outlines are in level-0 pixels.
/// </summary>
public sealed record CompartmentResult(
    int Fascicles,
    double FascicleAreaMm2,
    double PerimysiumAreaMm2,
    double PerivascularAreaMm2,
    IReadOnlyList<DetectedVessel> Vessels,
    IReadOnlyList<FascicleOutline> FascicleOutlines,
    IReadOnlyList<IReadOnlyList<(double X, double Y)>> PerivascularOutlines,
    IReadOnlyList<FibreDepth> Fibres,
    IReadOnlyDictionary<CellPlace, int> PositiveCells,
    int Layers = 2)
{
    public static CompartmentResult Empty { get; } = new(0, 0, 0, 0, [], [], [], [], new Dictionary<CellPlace, int>());
}

public sealed record FascicleOutline(IReadOnlyList<(double X, double Y)> Outline, double X, double Y, double AreaMicrons2, int Fibres);

/// <summary>One fibre and its depth: 1 for fibres touching the fascicle's border, null outside fascicles or where
/// the fascicle has no perimysial border on the section.</summary>
public sealed record FibreDepth(DetectedFibre Fibre, int? Depth);

/// <summary>
/// Builds <see cref="CompartmentResult"/> on a raster of the slide at <see cref="CompartmentSettings.MapMicronsPerPixel"/>:
/// fibres are filled from their outlines, closed with a disk of radius FascicleGap/2 and their holes up to
/// FillHoles filled: the fascicles (groups of at least MinFascicleFibres fibres). Tissue outside fascicles is
/// perimysium; the perivascular zone (tissue within Perivascular µm of a vessel lumen, lumen excluded) takes precedence
/// over both. Fibre adjacency: fibres whose territories (fascicle pixels nearest to them, up to FascicleGap/2 away) meet;
/// border fibres: within FascicleGap/2 of perimysium that is itself at least FascicleGap wide (the thin rim the tissue
/// mask leaves along a cut edge is not a border).
/// </summary>
public static class CompartmentMap
{
    private const long MaxPixels = 64_000_000;
    // A lumen at least this fraction of the "fibre" holding it makes that fibre a vessel wall.
    private const double WallLumenFraction = 0.2;
    // A "fibre" less than this many times the area of the positive cell at its centre is the cell.
    private const double CellFibreRatio = 3;
    // A fibre this close to glass is cut by the section's edge (a fragment with no depth of its own).
    private const double CutMicrons = 4;

    public static CompartmentResult Build(IReadOnlyList<DetectedFibre> fibres, IReadOnlyList<DetectedCell>? cells, IReadOnlyList<DetectedVessel> candidates,
        TissueMask tissue, double mpp, CompartmentSettings s)
    {
        double mapMpp = s.MapMicronsPerPixel;
        double widthUm = tissue.Level0Width * mpp, heightUm = tissue.Level0Height * mpp;
        while (widthUm / mapMpp * (heightUm / mapMpp) > MaxPixels)
            mapMpp *= 1.5;
        double k = mpp / mapMpp; // map pixels per level-0 pixel
        int w = Math.Max(1, (int)Math.Ceiling(tissue.Level0Width * k)), h = Math.Max(1, (int)Math.Ceiling(tissue.Level0Height * k)), n = w * h;
        double px2 = mapMpp * mapMpp * 1e-6; // mm² per map pixel
        Point ToMap(double x, double y) => new((int)Math.Round((x + 0.5) * k - 0.5), (int)Math.Round((y + 0.5) * k - 0.5));
        (double, double) ToLevel0(double x, double y) => ((x + 0.5) / k - 0.5, (y + 0.5) / k - 0.5);

        using var labels = new Mat(h, w, MatType.CV_32SC1, Scalar.All(0));
        for (int i = 0; i < fibres.Count; i++)
        {
            var f = fibres[i];
            if (f.Outline is { Count: >= 3 } outline)
                Cv2.FillPoly(labels, [outline.Select(p => ToMap(p.X, p.Y)).ToArray()], new Scalar(i + 1));
            else
                Cv2.Circle(labels, ToMap(f.X, f.Y), (int)Math.Round(Math.Sqrt(f.AreaMicrons2 / Math.PI) / mapMpp), new Scalar(i + 1), -1);
        }
        var lab = Span32(labels, n).ToArray();
        var inTissue = new byte[n];
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                var (lx, ly) = ToLevel0(x, y);
                inTissue[i] = (byte)(tissue.IsTissue(lx, ly) || lab[i] > 0 ? 1 : 0);
            }

        // Vessels: lumen candidates not ringed by fibres.
        using var lumen = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var vessels = new List<DetectedVessel>();
        var notFibre = new HashSet<int>();
        int ringIn = Math.Max(1, (int)Math.Round(2 / mapMpp)), ringOut = Math.Max(ringIn + 1, (int)Math.Round(6 / mapMpp));
        foreach (var v in candidates)
        {
            var poly = v.Outline.Select(p => ToMap(p.X, p.Y)).ToArray();
            var box = Cv2.BoundingRect(poly);
            var roi = new Rect(box.X - ringOut - 1, box.Y - ringOut - 1, box.Width + 2 * ringOut + 2, box.Height + 2 * ringOut + 2)
                .Intersect(new Rect(0, 0, w, h));
            if (roi.Width <= 0 || roi.Height <= 0)
                continue;
            using var one = new Mat(roi.Height, roi.Width, MatType.CV_8UC1, Scalar.All(0));
            Cv2.FillPoly(one, [poly.Select(p => new Point(p.X - roi.X, p.Y - roi.Y)).ToArray()], Scalar.All(1));
            using var far = new Mat();
            using var near = new Mat();
            Cv2.Dilate(one, far, Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * ringOut + 1, 2 * ringOut + 1)));
            Cv2.Dilate(one, near, Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * ringIn + 1, 2 * ringIn + 1)));
            int ring = 0, onFibre = 0, insideFibre = 0, lumenPixels = 0;
            for (int y = 0; y < roi.Height; y++)
                for (int x = 0; x < roi.Width; x++)
                {
                    bool isFibre = lab[(y + roi.Y) * w + x + roi.X] > 0;
                    if (one.At<byte>(y, x) != 0)
                    {
                        lumenPixels++;
                        insideFibre += isFibre ? 1 : 0;
                    }
                    else if (far.At<byte>(y, x) != 0 && near.At<byte>(y, x) == 0)
                    {
                        ring++;
                        onFibre += isFibre ? 1 : 0;
                    }
                }
            // A lumen inside a "fibre" that it fills a good part of: the fibre is the vessel's wall (hole filled by the
            // segmentation), so the vessel stays and that fibre leaves the map. Elsewhere a lumen ringed by fibres is a
            // retraction space.
            var centre = ToMap(v.X, v.Y);
            int host = centre.X >= 0 && centre.Y >= 0 && centre.X < w && centre.Y < h ? lab[centre.Y * w + centre.X] : 0;
            bool wall = host > 0 && v.LumenMicrons2 >= WallLumenFraction * fibres[host - 1].AreaMicrons2;
            if (!wall && (ring == 0 || onFibre > s.MaxWallFibreFraction * ring || insideFibre > 0.5 * lumenPixels))
                continue;
            if (wall)
                notFibre.Add(host - 1);
            vessels.Add(v);
            using var target = new Mat(lumen, roi);
            Cv2.BitwiseOr(target, one, target);
        }

        // A "fibre" hardly larger than the positive cell at its centre is that cell (a round macrophage passes the fibre
        // size and shape tests): it leaves the map, and the cell is not invading anything.
        foreach (var c in cells ?? [])
        {
            var p = ToMap(c.X, c.Y);
            if (c.Class < 1 || p.X < 0 || p.Y < 0 || p.X >= w || p.Y >= h || lab[p.Y * w + p.X] is not (> 0 and var host))
                continue;
            if (fibres[host - 1].AreaMicrons2 < CellFibreRatio * Math.Max(c.AreaMicrons2, 1))
                notFibre.Add(host - 1);
        }
        if (notFibre.Count > 0)
            for (int i = 0; i < n; i++)
                if (lab[i] > 0 && notFibre.Contains(lab[i] - 1))
                    lab[i] = 0;

        // Fascicles: the fibre map closed across endomysium, holes filled, groups of too few fibres dropped.
        int gap = Math.Max(1, (int)Math.Round(s.FascicleGapMicrons / 2 / mapMpp));
        using var disk = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * gap + 1, 2 * gap + 1));
        using var fibreMask = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var fm = Span8(fibreMask, n);
        for (int i = 0; i < n; i++)
            fm[i] = (byte)(lab[i] > 0 ? 1 : 0);
        using var closed = new Mat();
        // A frame as wide as the disk keeps the closing from gluing fibres to the image's edge.
        using (var framed = new Mat())
        {
            Cv2.CopyMakeBorder(fibreMask, framed, gap + 1, gap + 1, gap + 1, gap + 1, BorderTypes.Constant, Scalar.All(0));
            using var c = new Mat();
            Cv2.MorphologyEx(framed, c, MorphTypes.Close, disk);
            new Mat(c, new Rect(gap + 1, gap + 1, w, h)).CopyTo(closed);
        }
        FillHoles(closed, (int)Math.Ceiling(s.FillHolesMicrons2 / (mapMpp * mapMpp)));
        var fascicle = Span8(closed, n).ToArray();
        // Not cut by the tissue mask: pale endomysium between atrophic fibres may fall below the tissue threshold.
        for (int i = 0; i < n; i++)
            if (fascicle[i] != 0)
                inTissue[i] = 1;
        using var fascicleMat = Mat.FromPixelData(h, w, MatType.CV_8UC1, fascicle);
        using var fascicleLabels = new Mat();
        int components = Cv2.ConnectedComponents(fascicleMat, fascicleLabels, PixelConnectivity.Connectivity8, MatType.CV_32S);
        var fl = Span32(fascicleLabels, n).ToArray();
        var fibresIn = new int[components];
        var fibreFascicle = new int[fibres.Count];
        for (int i = 0; i < fibres.Count; i++)
        {
            var p = ToMap(fibres[i].X, fibres[i].Y);
            if (!notFibre.Contains(i) && p.X >= 0 && p.Y >= 0 && p.X < w && p.Y < h)
                fibresIn[fibreFascicle[i] = fl[p.Y * w + p.X]]++;
        }
        var keep = new bool[components];
        for (int c = 1; c < components; c++)
            keep[c] = fibresIn[c] >= s.MinFascicleFibres;
        for (int i = 0; i < n; i++)
            if (!keep[fl[i]])
            {
                fl[i] = 0;
                fascicle[i] = 0;
            }
        for (int i = 0; i < fibres.Count; i++)
            if (!keep[fibreFascicle[i]])
                fibreFascicle[i] = 0;

        // The perivascular zone: within Perivascular µm of a lumen, in tissue, outside the lumen.
        var lm = Span8(lumen, n).ToArray();
        var perivascular = new byte[n];
        if (vessels.Count > 0)
        {
            using var notLumen = new Mat();
            Cv2.Compare(lumen, Scalar.All(0), notLumen, CmpTypes.EQ);
            using var dist = new Mat();
            Cv2.DistanceTransform(notLumen, dist, DistanceTypes.L2, DistanceTransformMasks.Precise);
            var d = SpanF(dist, n);
            double reach = s.PerivascularMicrons / mapMpp;
            for (int i = 0; i < n; i++)
                perivascular[i] = (byte)(lm[i] == 0 && inTissue[i] != 0 && d[i] <= reach ? 1 : 0);
        }

        long fasciclePixels = 0, perimysiumPixels = 0, perivascularPixels = 0;
        var place = new CellPlace[n];
        for (int i = 0; i < n; i++)
        {
            if (perivascular[i] != 0)
            {
                place[i] = CellPlace.Perivascular;
                perivascularPixels++;
            }
            else if (fascicle[i] != 0)
            {
                place[i] = CellPlace.Endomysial;
                fasciclePixels++;
            }
            else if (inTissue[i] != 0 && lm[i] == 0)
            {
                place[i] = CellPlace.Perimysial;
                perimysiumPixels++;
            }
        }

        var depths = FibreDepths(fibres, notFibre, fibreFascicle, lab, fascicle, inTissue, lm, w, h, gap, mapMpp);
        var counts = CountCells(cells, fibres, lab, place, w, h, ToMap, mpp, s.InvadingMicrons);

        var outlines = new List<FascicleOutline>();
        using (var kept = Mat.FromPixelData(h, w, MatType.CV_8UC1, fascicle))
        {
            Cv2.FindContours(kept, out Point[][] contours, out _, RetrievalModes.External, ContourApproximationModes.ApproxSimple);
            foreach (var c in contours.Where(c => c.Length >= 3))
            {
                var m = Cv2.Moments(c);
                double area = Math.Abs(Cv2.ContourArea(c)) * mapMpp * mapMpp;
                var (cx, cy) = m.M00 > 0 ? ToLevel0(m.M10 / m.M00, m.M01 / m.M00) : ToLevel0(c[0].X, c[0].Y);
                int label = fl[c[0].Y * w + c[0].X];
                outlines.Add(new FascicleOutline(c.Select(p => ToLevel0(p.X, p.Y)).ToList(), cx, cy, area, label > 0 ? fibresIn[label] : 0));
            }
        }
        var zones = new List<IReadOnlyList<(double X, double Y)>>();
        using (var band = Mat.FromPixelData(h, w, MatType.CV_8UC1, perivascular))
        {
            Cv2.FindContours(band, out Point[][] contours, out _, RetrievalModes.External, ContourApproximationModes.ApproxSimple);
            zones.AddRange(contours.Where(c => c.Length >= 3).Select(c => (IReadOnlyList<(double X, double Y)>)c.Select(p => ToLevel0(p.X, p.Y)).ToList()));
        }
        return new CompartmentResult(keep.Count(x => x), fasciclePixels * px2, perimysiumPixels * px2, perivascularPixels * px2, vessels, outlines, zones,
            depths, counts, s.PerifascicularLayers);
    }

    /// <summary>Fills the holes of a 0/1 mask smaller than <paramref name="maxPixels"/>: gaps that reach the map's edge are
    /// not holes (the section or the image goes on beyond them).</summary>
    private static void FillHoles(Mat mask, int maxPixels)
    {
        int w = mask.Cols, h = mask.Rows, n = w * h;
        using var gaps = new Mat();
        Cv2.Compare(mask, Scalar.All(0), gaps, CmpTypes.EQ);
        using var labels = new Mat();
        using var stats = new Mat();
        using var centroids = new Mat();
        int count = Cv2.ConnectedComponentsWithStats(gaps, labels, stats, centroids, PixelConnectivity.Connectivity4, MatType.CV_32S);
        var fill = new bool[count];
        for (int l = 1; l < count; l++)
        {
            int x = stats.At<int>(l, (int)ConnectedComponentsTypes.Left), y = stats.At<int>(l, (int)ConnectedComponentsTypes.Top);
            int bw = stats.At<int>(l, (int)ConnectedComponentsTypes.Width), bh = stats.At<int>(l, (int)ConnectedComponentsTypes.Height);
            fill[l] = stats.At<int>(l, (int)ConnectedComponentsTypes.Area) < maxPixels && x > 0 && y > 0 && x + bw < w && y + bh < h;
        }
        var lab = Span32(labels, n);
        var m = Span8(mask, n);
        for (int i = 0; i < n; i++)
            if (fill[lab[i]])
                m[i] = 1;
    }

    /// <summary>Depth in fibre layers: breadth-first over fibre adjacency from the fibres on a fascicle's perimysial border.</summary>
    private static List<FibreDepth> FibreDepths(IReadOnlyList<DetectedFibre> fibres, HashSet<int> notFibre, int[] fibreFascicle, int[] lab, byte[] fascicle, byte[] inTissue, byte[] lumen,
        int w, int h, int gap, double mapMpp)
    {
        int n = w * h;
        // Broad perimysium: tissue (or lumen) outside fascicles, opened by the closing's disk.
        using var peri = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var pm = Span8(peri, n);
        for (int i = 0; i < n; i++)
            pm[i] = (byte)(fascicle[i] == 0 && (inTissue[i] != 0 || lumen[i] != 0) && lab[i] == 0 ? 1 : 0);
        using var disk = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * gap + 1, 2 * gap + 1));
        // Opened by distances (exact disks; the slide's edge counts as the end of the perimysium): pixels at least gap
        // from anything else are its core, and the broad perimysium lies within gap of a core pixel.
        using var broad = new Mat();
        using (var framed = new Mat())
        {
            Cv2.CopyMakeBorder(peri, framed, 1, 1, 1, 1, BorderTypes.Constant, Scalar.All(0));
            using var inside = new Mat();
            Cv2.DistanceTransform(framed, inside, DistanceTypes.L2, DistanceTransformMasks.Precise);
            using var notCore = new Mat();
            Cv2.Threshold(inside, notCore, gap, 255, ThresholdTypes.BinaryInv);
            using var notCore8 = new Mat();
            notCore.ConvertTo(notCore8, MatType.CV_8UC1);
            using var toCore = new Mat();
            Cv2.DistanceTransform(notCore8, toCore, DistanceTypes.L2, DistanceTransformMasks.Precise);
            using var within = new Mat();
            Cv2.Threshold(toCore, within, gap, 255, ThresholdTypes.BinaryInv);
            using var within8 = new Mat();
            within.ConvertTo(within8, MatType.CV_8UC1);
            new Mat(within8, new Rect(1, 1, w, h)).CopyTo(broad);
            Cv2.BitwiseAnd(broad, peri, broad);
        }
        var wide = Span8(broad, n);

        // Territories: the pixels of the fascicle and of the perimysium take the label of the nearest fibre, up to gap
        // pixels away (breadth-first). Fibres whose territories meet inside the fascicle are neighbours; a fibre whose
        // territory reaches the broad perimysium faces it (one that only comes near it behind another fibre does not).
        var territory = (int[])lab.Clone();
        var frontier = new List<int>();
        for (int i = 0; i < n; i++)
            if (lab[i] > 0)
                frontier.Add(i);
        for (int step = 0; step < gap && frontier.Count > 0; step++)
        {
            var next = new List<int>();
            foreach (int i in frontier)
            {
                int x = i % w, y = i / w;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int nx = x + dx, ny = y + dy;
                        if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                            continue;
                        int j = ny * w + nx;
                        if (territory[j] == 0 && (fascicle[j] != 0 || pm[j] != 0))
                        {
                            territory[j] = territory[i];
                            next.Add(j);
                        }
                    }
            }
            frontier = next;
        }
        var neighbours = new HashSet<int>[fibres.Count];
        for (int i = 0; i < fibres.Count; i++)
            neighbours[i] = [];
        var border = new bool[fibres.Count];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x, a = territory[i];
                if (a == 0)
                    continue;
                if (wide[i] != 0)
                    border[a - 1] = true;
                if (fascicle[i] == 0)
                    continue;
                if (x + 1 < w && territory[i + 1] is var b && b > 0 && b != a && fascicle[i + 1] != 0)
                {
                    neighbours[a - 1].Add(b - 1);
                    neighbours[b - 1].Add(a - 1);
                }
                if (y + 1 < h && territory[i + w] is var c && c > 0 && c != a && fascicle[i + w] != 0)
                {
                    neighbours[a - 1].Add(c - 1);
                    neighbours[c - 1].Add(a - 1);
                }
            }
        FacingOnly(neighbours, lab, w, h);
        var depth = new int?[fibres.Count];
        var queue = new Queue<int>();
        for (int i = 0; i < fibres.Count; i++)
            if (border[i] && fibreFascicle[i] > 0)
            {
                depth[i] = 1;
                queue.Enqueue(i);
            }
        while (queue.Count > 0)
        {
            int i = queue.Dequeue();
            foreach (int j in neighbours[i])
                if (depth[j] is null && fibreFascicle[j] > 0)
                {
                    depth[j] = depth[i] + 1;
                    queue.Enqueue(j);
                }
        }
        // A fibre cut by the section's or the slide's edge is a fragment: its layer cannot be told (the fascicle may go on
        // beyond the cut), and the cut is where staining artefacts lie. It keeps its place in the layer count but gets
        // no depth of its own.
        var cut = CutBySectionEdge(lab, inTissue, lumen, w, h, fibres.Count, Math.Max(1, (int)Math.Round(CutMicrons / mapMpp)));
        for (int i = 0; i < fibres.Count; i++)
            if (cut[i] || !fibres[i].Whole)
                depth[i] = null;
        return fibres.Select((f, i) => new FibreDepth(f, depth[i])).Where((_, i) => !notFibre.Contains(i)).ToList();
    }

    /// <summary>Fibres with a pixel within <paramref name="reach"/> map pixels of glass: neither tissue nor lumen.</summary>
    private static bool[] CutBySectionEdge(int[] lab, byte[] inTissue, byte[] lumen, int w, int h, int count, int reach)
    {
        int n = w * h;
        using var glass = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var g = Span8(glass, n);
        for (int i = 0; i < n; i++)
            g[i] = (byte)(inTissue[i] == 0 && lumen[i] == 0 ? 1 : 0);
        using var near = new Mat();
        Cv2.Dilate(glass, near, Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * reach + 1, 2 * reach + 1)));
        var r = Span8(near, n);
        var cut = new bool[count];
        for (int i = 0; i < n; i++)
            if (lab[i] > 0 && r[i] != 0)
                cut[lab[i] - 1] = true;
        return cut;
    }

    /// <summary>
    /// Keeps the neighbours that face each other: a pair whose territories meet only at a junction of several fibres
    /// (a third fibre's centre lies inside the circle on the two centres as diameter: the Gabriel graph of the centres)
    /// is a corner contact, and a layer count that crossed it would skip a layer on the way in.
    /// </summary>
    private static void FacingOnly(HashSet<int>[] neighbours, int[] lab, int w, int h)
    {
        int count = neighbours.Length;
        var sx = new double[count];
        var sy = new double[count];
        var pixels = new int[count];
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
                if (lab[i] > 0)
                {
                    sx[lab[i] - 1] += x;
                    sy[lab[i] - 1] += y;
                    pixels[lab[i] - 1]++;
                }
        for (int a = 0; a < count; a++)
            if (pixels[a] > 0)
            {
                sx[a] /= pixels[a];
                sy[a] /= pixels[a];
            }
        var corner = new List<(int A, int B)>();
        for (int a = 0; a < count; a++)
            foreach (int b in neighbours[a])
            {
                if (b < a || pixels[a] == 0 || pixels[b] == 0)
                    continue;
                double mx = (sx[a] + sx[b]) / 2, my = (sy[a] + sy[b]) / 2;
                double r2 = ((sx[a] - sx[b]) * (sx[a] - sx[b]) + (sy[a] - sy[b]) * (sy[a] - sy[b])) / 4;
                // A fibre between the two touches both of their territories: their neighbours are the candidates.
                if (neighbours[a].Concat(neighbours[b]).Any(c => c != a && c != b && pixels[c] > 0
                        && (sx[c] - mx) * (sx[c] - mx) + (sy[c] - my) * (sy[c] - my) < r2))
                    corner.Add((a, b));
            }
        foreach (var (a, b) in corner)
        {
            neighbours[a].Remove(b);
            neighbours[b].Remove(a);
        }
    }

    /// <summary>Positive cells (class 1+) by the compartment at their centroid; invading when at least
    /// <paramref name="invadingMicrons"/> inside a fibre's outline.</summary>
    private static Dictionary<CellPlace, int> CountCells(IReadOnlyList<DetectedCell>? cells, IReadOnlyList<DetectedFibre> fibres, int[] lab, CellPlace[] place,
        int w, int h, Func<double, double, Point> toMap, double mpp, double invadingMicrons)
    {
        var counts = Enum.GetValues<CellPlace>().ToDictionary(p => p, _ => 0);
        foreach (var c in cells ?? [])
        {
            if (c.Class < 1)
                continue;
            var p = toMap(c.X, c.Y);
            if (p.X < 0 || p.Y < 0 || p.X >= w || p.Y >= h)
                continue;
            int i = p.Y * w + p.X;
            var where = place[i];
            // The fibre under the cell on the map; how deep inside it is measured on its outline (the map is coarser).
            if (lab[i] > 0 && fibres[lab[i] - 1].Outline is { Count: >= 3 } outline)
            {
                var contour = outline.Select(q => new Point2f((float)q.X, (float)q.Y)).ToArray();
                if (Cv2.PointPolygonTest(contour, new Point2f((float)c.X, (float)c.Y), true) * mpp >= invadingMicrons)
                    where = CellPlace.Invading;
            }
            counts[where]++;
        }
        return counts;
    }
}
