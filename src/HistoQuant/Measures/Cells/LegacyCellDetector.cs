using OpenCvSharp;
using static HistoQuant.Measures.Planes;

namespace HistoQuant.Measures.Cells;

/// <summary>
/// HistoQuant's first cell detector, kept unchanged for models without a "cells" section (and `--cells` /
/// `--detections` on them) so that their results do not move. Marker models with a "cells" section use
/// <see cref="CellDetector"/>.
/// Detects cells in one region from its deconvolved planes, QuPath-style: nuclei are found in the smoothed
/// counterstain (hematoxylin) at about 0.5 µm/px, touching nuclei are split by a watershed on the distance
/// transform, nuclei outside the size range are dropped, and each nucleus grows into a cell of up to 5 µm
/// without crossing into a neighbour's (nearest-nucleus assignment). Each cell's chromogen is measured in
/// nucleus, cytoplasm and whole cell, and the marker's compartment decides its class against the thresholds.
/// Chromogen-positive objects that hold no detected nucleus (a macrophage cut above its nucleus, a pale
/// nucleus hidden by dense DAB) count as one positive cell each, so DAB-rich cells are never lost.
/// </summary>
public sealed class LegacyCellDetector(CellSettings settings, CellCompartment compartment, double weak, double moderate, double strong)
{
    /// <param name="counterstain">Hematoxylin OD plane of the region, row-major, width × height.</param>
    /// <param name="chromogen">Chromogen (DAB) OD plane of the region.</param>
    /// <param name="mpp">Microns per pixel of the planes.</param>
    /// <param name="keep">Level-0 centroid filter (the region's core and the tissue mask).</param>
    /// <param name="toLevel0">Maps a plane pixel position to level-0 coordinates.</param>
    public List<DetectedCell> Detect(float[] counterstain, float[] chromogen, int width, int height, double mpp,
        Func<double, double, bool> keep, Func<double, double, (double X, double Y)> toLevel0, bool outlines)
    {
        using var hem = new Mat();
        using var dab = new Mat();
        double px = ResampleBoth(counterstain, chromogen, width, height, mpp, settings.DetectionMicronsPerPixel, hem, dab); // µm per detection pixel
        int w = hem.Cols, h = hem.Rows;
        double px2 = px * px;
        (double, double) ToLevel0(double x, double y) => toLevel0((x + 0.5) / (w / (double)width) - 0.5, (y + 0.5) / (h / (double)height) - 0.5);

        // `using` keeps the Mat alive while spans over its memory are in use (its finalizer would free it).
        using var labels = SegmentNuclei(hem, px, out int count);
        var n = w * h;
        var lab = Span32(labels, n);
        var hemSpan = SpanF(hem, n);
        var dabSpan = SpanF(dab, n);

        // Smoothing widens each object by about a sigma; pixels of the object that are themselves below the
        // threshold are cytoplasm, not nucleus (they join the cell through the expansion below).
        float threshold = (float)settings.NucleusThreshold;
        for (int i = 0; i < n; i++)
            if (lab[i] > 0 && hemSpan[i] < threshold)
                lab[i] = 0;

        // Nucleus statistics; drop nuclei outside the size range.
        var area = new int[count + 1];
        var sx = new double[count + 1];
        var sy = new double[count + 1];
        for (int i = 0; i < n; i++)
        {
            int l = lab[i];
            if (l <= 0 || l > count)
                continue;
            area[l]++;
            sx[l] += i % w;
            sy[l] += i / w;
        }
        var valid = new bool[count + 1];
        for (int l = 1; l <= count; l++)
            valid[l] = area[l] * px2 >= settings.MinNucleusArea && area[l] * px2 <= settings.MaxNucleusArea;

        // Grow nuclei into cells: every pixel within the expansion distance joins its nearest nucleus.
        using var notNucleus = new Mat(h, w, MatType.CV_8UC1, Scalar.All(255));
        var nn = Span8(notNucleus, n);
        for (int i = 0; i < n; i++)
            if (lab[i] > 0 && lab[i] <= count && valid[lab[i]])
                nn[i] = 0;
        using var dist = new Mat();
        using var nearest = new Mat();
        Cv2.DistanceTransformWithLabels(notNucleus, dist, nearest, DistanceTypes.L2, DistanceTransformMasks.Precise, DistanceTransformLabelTypes.Pixel);
        var near = Span32(nearest, n);
        var distSpan = SpanF(dist, n);
        var ownerOfSeed = new Dictionary<int, int>();
        for (int i = 0; i < n; i++)
            if (nn[i] == 0)
                ownerOfSeed[near[i]] = lab[i];
        var cellOf = outlines ? new int[n] : null; // only outlines need the per-pixel owner map
        double expansion = settings.CellExpansionMicrons / px;
        var cellArea = new int[count + 1];
        var cellDab = new double[count + 1];
        var nucDab = new double[count + 1];
        var maxDab = new float[count + 1];
        Array.Fill(maxDab, float.MinValue);
        var boxes = EmptyBoxes(count + 1);
        for (int i = 0; i < n; i++)
        {
            int owner = nn[i] == 0 ? lab[i] : distSpan[i] <= expansion && ownerOfSeed.TryGetValue(near[i], out var o) ? o : 0;
            if (cellOf is not null)
                cellOf[i] = owner;
            if (owner == 0)
                continue;
            cellArea[owner]++;
            cellDab[owner] += dabSpan[i];
            var bx = boxes[owner];
            int xi = i % w, yi = i / w;
            boxes[owner] = (Math.Min(bx.Item1, xi), Math.Min(bx.Item2, yi), Math.Max(bx.Item3, xi), Math.Max(bx.Item4, yi));
            if (nn[i] == 0)
                nucDab[owner] += dabSpan[i];
            maxDab[owner] = Math.Max(maxDab[owner], dabSpan[i]);
        }

        var cells = new List<DetectedCell>();
        for (int l = 1; l <= count; l++)
        {
            if (!valid[l])
                continue;
            var (cx, cy) = ToLevel0(sx[l] / area[l], sy[l] / area[l]);
            if (!keep(cx, cy))
                continue;
            double nucleus = nucDab[l] / area[l];
            int cytoPixels = cellArea[l] - area[l];
            double cell = cellDab[l] / cellArea[l];
            double cytoplasm = cytoPixels > 0 ? (cellDab[l] - nucDab[l]) / cytoPixels : cell;
            double decisive = compartment switch { CellCompartment.Nucleus => nucleus, CellCompartment.Cytoplasm => cytoplasm, _ => cell };
            cells.Add(new DetectedCell(cx, cy, cellArea[l] * px2, area[l] * px2, nucleus, cytoplasm, cell, maxDab[l], Grade(decisive), true,
                cellOf is not null ? Outline(cellOf, l, w, boxes[l], ToLevel0) : null) { Legacy = true });
        }
        cells.AddRange(StainedObjectsWithoutNucleus(dab, px, nn, keep, ToLevel0, outlines));
        return cells;
    }

    private const double SplitDistanceMicrons = 4;

    public int Grade(double od) => od >= strong ? 3 : od >= moderate ? 2 : od >= weak ? 1 : 0;

    /// <summary>Nuclei labels (1..count) from the counterstain: smooth, threshold, split by watershed.</summary>
    private Mat SegmentNuclei(Mat hem, double px, out int count)
    {
        using var smooth = new Mat();
        double sigma = settings.SmoothSigmaMicrons / px;
        Smooth(hem, sigma, smooth);
        if (settings.BackgroundRadiusMicrons > 0)
        {
            // Subtract the local background (an opening larger than any nucleus), as QuPath's background radius:
            // stained cytoplasm between crowded nuclei would otherwise join them into one object.
            // The background is smooth, so it is estimated at a quarter of the resolution (an opening with a large
            // disc is the costliest step at full resolution) and scaled back up.
            const int factor = 4;
            using var small = new Mat();
            Cv2.Resize(smooth, small, new Size(Math.Max(1, smooth.Cols / factor), Math.Max(1, smooth.Rows / factor)), 0, 0, InterpolationFlags.Area);
            int d = 2 * Math.Max(1, (int)Math.Round(settings.BackgroundRadiusMicrons / (px * factor))) + 1;
            using var disc = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(d, d));
            using var opened = new Mat();
            Cv2.MorphologyEx(small, opened, MorphTypes.Open, disc);
            using var background = new Mat();
            Cv2.Resize(opened, background, smooth.Size(), 0, 0, InterpolationFlags.Linear);
            Cv2.Subtract(smooth, background, smooth);
        }
        using var mask = Binary(smooth, settings.NucleusThreshold);
        // Split on the distance map of the object as a lightly smoothed image sees it (σ/3): full smoothing
        // fills the neck between touching nuclei, none at all lets chromatin texture punch holes in pale nuclei.
        using var light = new Mat();
        Cv2.GaussianBlur(hem, light, new Size(0, 0), Math.Max(0.3, sigma / 3), Math.Max(0.3, sigma / 3), BorderTypes.Reflect101);
        using var raw = Binary(light, settings.NucleusThreshold);
        Cv2.BitwiseAnd(raw, mask, raw);
        using var dist = new Mat();
        Cv2.DistanceTransform(raw, dist, DistanceTypes.L2, DistanceTransformMasks.Precise);

        // Markers: the part of each object's distance ridge above 60% of the local maximum (window of the split
        // radius). One convex nucleus keeps one connected ridge however elongated; two touching round nuclei
        // meet at a neck far below their centres and get a marker each.
        int k = 2 * Math.Max(1, (int)Math.Round(SplitDistanceMicrons / px)) + 1;
        using var kernel = Cv2.GetStructuringElement(MorphShapes.Rect, new Size(k, k)); // separable: fast
        using var dilated = new Mat();
        Cv2.Dilate(dist, dilated, kernel);
        using var scaled = new Mat();
        Cv2.Multiply(dilated, Scalar.All(0.6), scaled);
        using var peaks = new Mat();
        Cv2.Compare(dist, scaled, peaks, CmpTypes.GE);
        using var deep = Binary(dist, 1.0 / px); // at least 1 µm from the edge
        Cv2.BitwiseAnd(peaks, deep, peaks);
        var markers = new Mat();
        int peaksCount = Cv2.ConnectedComponents(peaks, markers, PixelConnectivity.Connectivity8, MatType.CV_32S) - 1;
        // Background gets its own marker so the watershed does not flood it.
        int w = mask.Cols, h = mask.Rows, n = w * h;
        var m = Span32(markers, n);
        var inside = Span8(mask, n);
        for (int i = 0; i < n; i++)
            if (inside[i] == 0)
                m[i] = peaksCount + 1;
        using var topography = new Mat();
        Cv2.Normalize(dist, topography, 0, 255, NormTypes.MinMax);
        using var inverted = new Mat();
        topography.ConvertTo(inverted, MatType.CV_8UC1, -1, 255);
        using var color = new Mat();
        Cv2.CvtColor(inverted, color, ColorConversionCodes.GRAY2BGR);
        Cv2.Watershed(color, markers);
        // Watershed lines (-1) inside nuclei go to the neighbouring label so areas stay whole.
        for (int i = 0; i < n; i++)
        {
            if (m[i] == peaksCount + 1)
                m[i] = 0;
            else if (m[i] < 0)
                m[i] = inside[i] != 0 ? NeighbourLabel(m, i, w, h, peaksCount) : 0;
        }
        count = peaksCount;
        return markers;
    }

    private static int NeighbourLabel(Span<int> m, int i, int w, int h, int count)
    {
        int x = i % w, y = i / w;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
            {
                int xx = x + dx, yy = y + dy;
                if (xx < 0 || yy < 0 || xx >= w || yy >= h)
                    continue;
                int v = m[yy * w + xx];
                if (v > 0 && v <= count)
                    return v;
            }
        return 0;
    }

    private List<DetectedCell> StainedObjectsWithoutNucleus(Mat dab, double px, Span<byte> notNucleus,
        Func<double, double, bool> keep, Func<double, double, (double, double)> toLevel0, bool outlines)
    {
        using var smooth = new Mat();
        Cv2.GaussianBlur(dab, smooth, new Size(0, 0), 1.0 / px, 1.0 / px, BorderTypes.Reflect101);
        using var mask = Binary(smooth, Math.Max(weak, 0.05));
        using var labels = new Mat();
        using var stats = new Mat();
        using var centroids = new Mat();
        int count = Cv2.ConnectedComponentsWithStats(mask, labels, stats, centroids, PixelConnectivity.Connectivity8, MatType.CV_32S);
        int w = mask.Cols, n = w * mask.Rows;
        var lab = Span32(labels, n);
        var dabSpan = SpanF(dab, n);
        var hasNucleus = new bool[count];
        var sum = new double[count];
        var max = new float[count];
        for (int i = 0; i < n; i++)
        {
            int l = lab[i];
            if (l == 0)
                continue;
            if (notNucleus[i] == 0)
                hasNucleus[l] = true;
            sum[l] += dabSpan[i];
            max[l] = Math.Max(max[l], dabSpan[i]);
        }
        var found = new List<DetectedCell>();
        double px2 = px * px;
        for (int l = 1; l < count; l++)
        {
            double a = stats.At<int>(l, (int)ConnectedComponentsTypes.Area) * px2;
            if (hasNucleus[l] || a < settings.MinStainedObjectArea || a > settings.MaxStainedObjectArea)
                continue;
            // Cells are compact; a sarcolemmal ring or a stained vessel wall fills little of its bounding box.
            double extent = stats.At<int>(l, (int)ConnectedComponentsTypes.Area)
                / (double)(stats.At<int>(l, (int)ConnectedComponentsTypes.Width) * stats.At<int>(l, (int)ConnectedComponentsTypes.Height));
            if (extent < 0.5)
                continue;
            var (cx, cy) = toLevel0(centroids.At<double>(l, 0), centroids.At<double>(l, 1));
            if (!keep(cx, cy))
                continue;
            double mean = sum[l] / stats.At<int>(l, (int)ConnectedComponentsTypes.Area);
            int left = stats.At<int>(l, (int)ConnectedComponentsTypes.Left), top = stats.At<int>(l, (int)ConnectedComponentsTypes.Top);
            var box = (left, top, left + stats.At<int>(l, (int)ConnectedComponentsTypes.Width) - 1, top + stats.At<int>(l, (int)ConnectedComponentsTypes.Height) - 1);
            found.Add(new DetectedCell(cx, cy, a, 0, 0, mean, mean, max[l], Math.Max(1, Grade(mean)), false,
                outlines ? Outline(lab, l, w, box, toLevel0) : null) { Legacy = true });
        }
        return found;
    }
}
