using OpenCvSharp;
using static HistoQuant.Measures.Planes;

namespace HistoQuant.Measures.Cells;

/// <summary>
/// Detects cells in one region from its deconvolved planes: nuclei are found at the detection pixel size by
/// <see cref="NucleusSegmenter"/> (QuPath's WatershedCellDetection), each nucleus grows into a cell of up to the
/// expansion distance without crossing into a neighbour's (nearest-nucleus assignment, as QuPath's watershed on
/// the distance from the nuclei), each cell's chromogen is measured in nucleus, cytoplasm and whole cell (mean and
/// maximum), and the classifying measurement decides its class against the thresholds. With the macrophage rule
/// on, chromogen-positive objects that hold no detected nucleus count as one positive object each.
/// </summary>
public sealed class CellDetector(CellSettings settings, CellMeasurement measurement, double weak, double moderate, double strong)
{
    public CellDetector(CellSettings settings, CellCompartment compartment, double weak, double moderate, double strong)
        : this(settings, new CellMeasurement(compartment, false), weak, moderate, strong) { }

    /// <param name="counterstain">Detection plane of the region (hematoxylin OD, or the OD sum), row-major, width × height.</param>
    /// <param name="chromogen">Chromogen (DAB) OD plane of the region.</param>
    /// <param name="mpp">Microns per pixel of the planes.</param>
    /// <param name="keep">Level-0 centroid filter (the region's core and the tissue mask).</param>
    /// <param name="toLevel0">Maps a plane pixel position to level-0 coordinates.</param>
    /// <param name="odSum">The counterstain plane is the OD sum (hematoxylin is then estimated as OD sum − DAB for excludeDAB).</param>
    public List<DetectedCell> Detect(float[] counterstain, float[] chromogen, int width, int height, double mpp,
        Func<double, double, bool> keep, Func<double, double, (double X, double Y)> toLevel0, bool outlines, bool odSum = false)
    {
        using var scratch = Scratch.Begin();
        // QuPath's requestedPixelSizeMicrons: a negative value is a multiple of the image's own pixel size.
        double target = settings.DetectionMicronsPerPixel < 0 ? mpp * -settings.DetectionMicronsPerPixel : settings.DetectionMicronsPerPixel;
        var (det, dab, w, h, px) = Resample(counterstain, chromogen, width, height, mpp, target);
        double px2 = px * px;
        double fx = w / (double)width, fy = h / (double)height;
        (double, double) ToLevel0(double x, double y) => toLevel0((x + 0.5) / fx - 0.5, (y + 0.5) / fy - 0.5);
        int n = w * h;
        float[] hem = det;
        if (settings.DetectOnHematoxylinPlusDab)
        {
            var sum = Scratch.Uninitialized<float>(n);
            for (int i = 0; i < n; i++)
                sum[i] = det[i] + dab[i];
            det = sum;
        }
        if (settings.ExcludeDab && odSum)
        {
            hem = Scratch.Uninitialized<float>(n);
            for (int i = 0; i < n; i++)
                hem[i] = det[i] - dab[i];
        }
        var lab = NucleusSegmenter.Segment(det, hem, dab, w, h, px, settings, out int count, out _);

        // Nucleus statistics.
        var area = new int[count + 1];
        var sx = new double[count + 1];
        var sy = new double[count + 1];
        var nucDab = new double[count + 1];
        var nucMax = new float[count + 1];
        Array.Fill(nucMax, float.MinValue);
        var nucleusBoxes = outlines ? EmptyBoxes(count + 1) : null;
        for (int yi = 0, i = 0; yi < h; yi++)
            for (int xi = 0; xi < w; xi++, i++)
            {
                int l = lab[i];
                if (l == 0)
                    continue;
                area[l]++;
                sx[l] += xi;
                sy[l] += yi;
                nucDab[l] += dab[i];
                if (dab[i] > nucMax[l])
                    nucMax[l] = dab[i];
                if (nucleusBoxes is not null)
                    nucleusBoxes[l] = Grow(nucleusBoxes[l], xi, yi);
            }

        // Grow nuclei into cells: every pixel within the expansion distance joins its nearest nucleus.
        var cellOf = Scratch.Zeroed<int>(n);
        if (count > 0)
            Expand(lab, cellOf, w, h, settings.CellExpansionMicrons / px);
        var cellArea = new int[count + 1];
        var cellDab = new double[count + 1];
        var cytoMax = new float[count + 1];
        var cellMax = new float[count + 1];
        Array.Fill(cytoMax, float.MinValue);
        Array.Fill(cellMax, float.MinValue);
        var boxes = outlines ? EmptyBoxes(count + 1) : null;
        for (int i = 0; i < n;)
        {
            int owner = cellOf[i];
            if (owner == 0)
            {
                i++;
                continue;
            }
            // A row run of one cell accumulates in registers (the same additions in the same order).
            int a = cellArea[owner];
            double s = cellDab[owner];
            float cm = cellMax[owner], ym = cytoMax[owner];
            do
            {
                float d = dab[i];
                a++;
                s += d;
                if (d > cm)
                    cm = d;
                if (lab[i] == 0 && d > ym)
                    ym = d;
                if (boxes is not null)
                    boxes[owner] = Grow(boxes[owner], i % w, i / w);
                i++;
            }
            while (i < n && cellOf[i] == owner);
            cellArea[owner] = a;
            cellDab[owner] = s;
            cellMax[owner] = cm;
            cytoMax[owner] = ym;
        }

        var cells = new List<DetectedCell>();
        for (int l = 1; l <= count; l++)
        {
            var (cx, cy) = ToLevel0(sx[l] / area[l], sy[l] / area[l]);
            if (!keep(cx, cy))
                continue;
            double nucleus = nucDab[l] / area[l];
            int cytoPixels = cellArea[l] - area[l];
            double cell = cellDab[l] / cellArea[l];
            double cytoplasm = cytoPixels > 0 ? (cellDab[l] - nucDab[l]) / cytoPixels : cell;
            double cytoplasmMax = cytoPixels > 0 ? cytoMax[l] : cellMax[l];
            double decisive = (measurement.Compartment, measurement.Max) switch
            {
                (CellCompartment.Nucleus, false) => nucleus,
                (CellCompartment.Nucleus, true) => nucMax[l],
                (CellCompartment.Cytoplasm, false) => cytoplasm,
                (CellCompartment.Cytoplasm, true) => cytoplasmMax,
                (_, false) => cell,
                _ => cellMax[l],
            };
            cells.Add(new DetectedCell(cx, cy, cellArea[l] * px2, area[l] * px2, nucleus, cytoplasm, cell, cellMax[l], Grade(decisive), true,
                boxes is not null ? Contour(cellOf, l, w, boxes[l], ToLevel0) : null)
            {
                NucleusMaxDab = nucMax[l],
                CytoplasmMaxDab = cytoplasmMax,
                NucleusOutline = nucleusBoxes is not null && settings.IncludeNuclei ? Contour(lab, l, w, nucleusBoxes[l], ToLevel0) : null,
                IncludeNucleus = settings.IncludeNuclei,
                SingleThreshold = settings.SingleThreshold && settings.QuPathMode,
            });
        }
        if (settings.StainedObjectsWithoutNucleus)
            cells.AddRange(StainedObjectsWithoutNucleus(dab, w, h, px, lab, keep, ToLevel0, outlines));
        return cells;
    }

    public int Grade(double od) => od >= strong ? 3 : od >= moderate ? 2 : od >= weak ? 1 : 0;

    private static (int, int, int, int) Grow((int X0, int Y0, int X1, int Y1) b, int x, int y) =>
        (Math.Min(b.X0, x), Math.Min(b.Y0, y), Math.Max(b.X1, x), Math.Max(b.Y1, y));

    private List<(double X, double Y)> Contour(int[] labels, int label, int w, (int, int, int, int) box, Func<double, double, (double, double)> toLevel0)
    {
        var points = Outline(labels, label, w, box, toLevel0);
        return settings.SmoothBoundaries ? SmoothOutline(points) : points;
    }

    /// <summary>A closed outline smoothed by a three-point running mean (the corners of pixel steps rounded off).</summary>
    public static List<(double X, double Y)> SmoothOutline(List<(double X, double Y)> points)
    {
        int m = points.Count;
        if (m < 5)
            return points;
        var smooth = new List<(double X, double Y)>(m);
        for (int i = 0; i < m; i++)
        {
            var (a, b, c) = (points[(i + m - 1) % m], points[i], points[(i + 1) % m]);
            smooth.Add(((a.X + b.X + c.X) / 3, (a.Y + b.Y + c.Y) / 3));
        }
        return smooth;
    }

    /// <summary>
    /// Every pixel within <paramref name="expansion"/> px of a nucleus joins the nearest one (nucleus pixels keep
    /// their own): the Voronoi partition QuPath's watershed on the distance from the nuclei approximates. Found by
    /// propagating, from the nuclei outwards, each pixel's nearest nucleus pixel to its neighbours (a pixel is
    /// taken again when a neighbour offers a nearer one), so the cost follows the cells, not the image.
    /// </summary>
    private static void Expand(int[] lab, int[] cellOf, int w, int h, double expansion)
    {
        int n = w * h;
        Array.Copy(lab, cellOf, n);
        if (expansion <= 0)
            return;
        float limit = (float)(expansion * expansion);
        var source = Scratch.Zeroed<int>(n);
        var best = Scratch.Uninitialized<float>(n);
        best.AsSpan(0, n).Fill(float.PositiveInfinity);
        var queue = Scratch.Uninitialized<int>(Math.Max(64, n / 8));
        int head = 0, tail = 0;
        void Push(int q)
        {
            if (tail == queue.Length)
                Morphology.Grow(ref queue, ref head, ref tail);
            queue[tail++] = q;
        }
        for (int i = 0; i < n; i++)
            if (lab[i] != 0)
            {
                source[i] = i;
                best[i] = 0;
                int x = i % w;
                // Only nucleus pixels on the nucleus border start the propagation.
                if ((x > 0 && lab[i - 1] == 0) || (x < w - 1 && lab[i + 1] == 0) || (i >= w && lab[i - w] == 0) || (i < n - w && lab[i + w] == 0))
                    Push(i);
            }
        while (head < tail)
        {
            int p = queue[head++];
            int src = source[p], sx = src % w, sy = src / w;
            int py = p / w, px = p - py * w;
            int y0 = py > 0 ? -1 : 0, y1 = py < h - 1 ? 1 : 0, x0 = px > 0 ? -1 : 0, x1 = px < w - 1 ? 1 : 0;
            for (int dy = y0; dy <= y1; dy++)
                for (int dx = x0; dx <= x1; dx++)
                {
                    int q = p + dy * w + dx;
                    if (lab[q] != 0)
                        continue;
                    float ex = px + dx - sx, ey = py + dy - sy, d = ex * ex + ey * ey;
                    if (d <= limit && d < best[q])
                    {
                        best[q] = d;
                        source[q] = src;
                        cellOf[q] = lab[src];
                        Push(q);
                    }
                }
        }
        Scratch.Release(source);
        Scratch.Release(best);
        Scratch.Release(queue);
    }

    /// <summary>Both planes at the detection pixel size (area averaging); QuPath never goes finer than the image.</summary>
    private static unsafe (float[] Det, float[] Dab, int W, int H, double Px) Resample(float[] counterstain, float[] chromogen, int width, int height, double mpp, double target)
    {
        if (target <= mpp * 1.001)
            return (Exact(counterstain, width * height), Exact(chromogen, width * height), width, height, mpp);
        double scale = mpp / target;
        int w = Math.Max(1, (int)Math.Round(width * scale)), h = Math.Max(1, (int)Math.Round(height * scale));
        float[] One(float[] plane)
        {
            var result = Scratch.Uninitialized<float>(w * h);
            fixed (float* s = plane, d = result)
            {
                using var src = Mat.FromPixelData(height, width, MatType.CV_32FC1, (IntPtr)s);
                using var dst = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)d);
                Cv2.Resize(src, dst, new Size(w, h), 0, 0, InterpolationFlags.Area);
            }
            return result;
        }
        return (One(counterstain), One(chromogen), w, h, mpp * width / w);
    }

    // Everything downstream reads the first n values only: a longer (pooled) plane needs no copy.
    private static float[] Exact(float[] plane, int n) => plane.Length >= n ? plane : throw new ArgumentException("plane smaller than its size");

    private List<DetectedCell> StainedObjectsWithoutNucleus(float[] dab, int w, int h, double px, int[] nucleus,
        Func<double, double, bool> keep, Func<double, double, (double, double)> toLevel0, bool outlines)
    {
        using var dabMat = Mat.FromPixelData(h, w, MatType.CV_32FC1, dab);
        using var smooth = new Mat();
        Cv2.GaussianBlur(dabMat, smooth, new Size(0, 0), 1.0 / px, 1.0 / px, BorderTypes.Reflect101);
        using var mask = Binary(smooth, Math.Max(weak, 0.05));
        using var labels = new Mat();
        using var stats = new Mat();
        using var centroids = new Mat();
        int count = Cv2.ConnectedComponentsWithStats(mask, labels, stats, centroids, PixelConnectivity.Connectivity8, MatType.CV_32S);
        int n = w * h;
        var lab = Span32(labels, n);
        var hasNucleus = new bool[count];
        var sum = new double[count];
        var max = new float[count];
        for (int i = 0; i < n;)
        {
            int l = lab[i];
            if (l == 0)
            {
                i++;
                continue;
            }
            // A row run of one object accumulates in registers (the same additions in the same order).
            bool held = hasNucleus[l];
            double s = sum[l];
            float m = max[l];
            do
            {
                if (nucleus[i] != 0)
                    held = true;
                s += dab[i];
                m = Math.Max(m, dab[i]);
                i++;
            }
            while (i < n && lab[i] == l);
            hasNucleus[l] = held;
            sum[l] = s;
            max[l] = m;
        }
        var found = new List<DetectedCell>();
        double px2 = px * px;
        for (int l = 1; l < count; l++)
        {
            int pixels = stats.At<int>(l, (int)ConnectedComponentsTypes.Area);
            double a = pixels * px2;
            if (hasNucleus[l] || a < settings.MinStainedObjectArea || a > settings.MaxStainedObjectArea)
                continue;
            // Cells are compact; a sarcolemmal ring or a stained vessel wall fills little of its bounding box.
            int bw = stats.At<int>(l, (int)ConnectedComponentsTypes.Width), bh = stats.At<int>(l, (int)ConnectedComponentsTypes.Height);
            if (pixels / (double)(bw * bh) < 0.5)
                continue;
            var (cx, cy) = toLevel0(centroids.At<double>(l, 0), centroids.At<double>(l, 1));
            if (!keep(cx, cy))
                continue;
            double mean = sum[l] / pixels;
            int left = stats.At<int>(l, (int)ConnectedComponentsTypes.Left), top = stats.At<int>(l, (int)ConnectedComponentsTypes.Top);
            var box = (left, top, left + bw - 1, top + bh - 1);
            found.Add(new DetectedCell(cx, cy, a, 0, 0, mean, mean, max[l], Math.Max(1, Grade(mean)), false,
                outlines ? Outline(lab, l, w, box, toLevel0) : null) { CytoplasmMaxDab = max[l] });
        }
        return found;
    }
}
