using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
/// <item>Seeds: the maxima of the distance to the nearest line or glass whose dynamic (height over the saddle to a higher
///   maximum) is at least 2 µm, 22% of their own height and either 22% of a large fibre's height or 65% of their own;
///   at least 3 µm deep.</item>
/// <item>A marker watershed on the inverted distance map, lines on top, grows the seeds over the tissue; pale pixels
///   are then taken out and each fibre keeps the part connected to its seed.</item>
/// <item>A fibre less solid than 0.8 (area / convex hull) loses its tail when an opening by 0.3 × its radius leaves a
///   solid part with 70% of it; fibres outside 100–20 000 µm², still less solid than 0.8, or cut by the region edge are
///   dropped.</item>
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
        using var hemFull = new Mat();
        using var dabFull = new Mat();
        double px = ResampleBoth(region.Counterstain, region.Chromogen, region.Width, region.Height, mpp, settings.DetectionMicronsPerPixel, hemFull, dabFull);
        int fw = hemFull.Cols, fh = hemFull.Rows;
        double fx = region.Width / (double)fw, fy = region.Height / (double)fh;
        var inTissue = InTissue(region, fw, fh, fx, fy);
        int bx0 = fw, by0 = fh, bx1 = -1, by1 = -1;
        for (int y = 0, i = 0; y < fh; y++)
            for (int x = 0; x < fw; x++, i++)
                if (inTissue[i])
                {
                    bx0 = Math.Min(bx0, x); by0 = Math.Min(by0, y);
                    bx1 = Math.Max(bx1, x); by1 = Math.Max(by1, y);
                }
        if (bx1 < 0)
            return [];
        // Work on the tissue's bounding box (plus a few pixels of glass): at a tissue edge much of a region is glass.
        // A crop side other than the region's own lies on glass, so no fibre touches it.
        int ox = Math.Max(0, bx0 - CropPad), oy = Math.Max(0, by0 - CropPad);
        int w = Math.Min(fw, bx1 + CropPad + 1) - ox, h = Math.Min(fh, by1 + CropPad + 1) - oy, n = w * h;
        var box = new Rect(ox, oy, w, h);
        using var hem = hemFull[box].Clone();
        using var dab = dabFull[box].Clone();
        var tissue = new bool[n];
        for (int y = 0; y < h; y++)
            Array.Copy(inTissue, (y + oy) * fw + ox, tissue, y * w, w);
        (double X, double Y) ToLevel0(double x, double y) => region.ToLevel0((x + ox + 0.5) * fx - 0.5, (y + oy + 0.5) * fy - 0.5);
        var stained = (bool[])tissue.Clone();
        FillTissueHoles(tissue, w, h, px);
        var (atLeft, atTop, atRight, atBottom) = region.AtSlideEdge(slideWidth, slideHeight);
        var slideEdge = (atLeft && ox == 0, atTop && oy == 0, atRight && ox + w == fw, atBottom && oy + h == fh);

        double sigma = Math.Max(0.3, settings.SmoothSigmaMicrons / px);
        using var sum = new Mat();
        Cv2.Add(hem, dab, sum);
        using var odSmooth = Blur(sum, sigma);
        var od = SpanF(odSmooth, n);

        float? median = MedianInTissue(od, tissue);
        if (median is null)
            return [];
        using var hemSmooth = Blur(hem, sigma);
        var hs = SpanF(hemSmooth, n).ToArray();
        // On a slide whose chromogen grades fibres (IHC), an unstained fibre among many diffusely stained ones lies far
        // under the median OD sum: clearly pale tissue must be pale in the counterstain too. On H&E the "chromogen"
        // (eosin) is what fibres are made of, and interstitium is not paler in hematoxylin than the fibres.
        float counterGap = score ? (float)(settings.GapFraction * (MedianInTissue(hs, tissue) ?? 0)) : float.MaxValue;
        var (line, pale, blob, texture) = Lines(odSmooth, od, tissue, median.Value, px, hs, counterGap);

        var dist = DistanceToLines(tissue, line, w, h);

        var (label, count) = Seeds(dist, w, h, px);
        if (score)
            count = SeedsInClosedRings(label, count, line, pale, blob, stained, w, h, px);
        if (count == 0)
            return [];
        var seeded = (int[])label.Clone();
        var sides = Sides(w, h);
        Flood(label, dist, line, pale, tissue, sides, w);
        var borders = FloodBorders(label, line, w, h);
        var fibre = KeepSeedConnected(label, seeded, pale, sides, w);
        if (settings.OwnLevelFraction > 0)
            TrimToOwnLevel(fibre, seeded, od, count, (float)settings.OwnLevelFraction, median.Value);
        fibre = Tidy(fibre, seeded, sides, w, h, px);
        MergeUnsupportedCuts(fibre, seeded, count, borders, w, h);
        if (settings.FaintSplitFactor > 0)
            count = SplitOversized(fibre, count, odSmooth, hs, counterGap, tissue, median.Value, texture, w, h, px);
        if (settings.NeckRatio > 0)
            count = SplitAtNecks(fibre, count, od, w, h, px);
        DropPaleRegions(fibre, od, count, median.Value, px);
        count = AddLightFibres(fibre, count, od, pale, tissue, w, h, px);

        var dabRaw = SpanF(dab, n).ToArray();
        var scored = Score(fibre, count, tissue, stained, blob, dabRaw, hs, w, h, px, region, slideEdge, ToLevel0, outlines);
        return scored;
    }

    /// <summary>
    /// Which detection pixels lie on tissue (TissueMask.IsTissue at their level-0 centres). Without regions of
    /// interest the mask lookup is separable (ToLevel0 shifts x and y apart; IsTissue maps x and y to a mask column
    /// and row apart), so the columns and rows are mapped once each, with IsTissue's own arithmetic.
    /// </summary>
    private static bool[] InTissue(RegionPlanes region, int fw, int fh, double fx, double fy)
    {
        var inTissue = new bool[fw * fh];
        var t = region.Tissue;
        if (t.Region is not null)
        {
            for (int y = 0, i = 0; y < fh; y++)
                for (int x = 0; x < fw; x++, i++)
                {
                    var (lx, ly) = region.ToLevel0((x + 0.5) * fx - 0.5, (y + 0.5) * fy - 0.5);
                    inTissue[i] = t.IsTissue(lx, ly);
                }
            return inTissue;
        }
        if (t.Mask is not { } mask)
        {
            Array.Fill(inTissue, true);
            return inTissue;
        }
        var column = new int[fw];
        for (int x = 0; x < fw; x++)
        {
            double lx = region.ToLevel0((x + 0.5) * fx - 0.5, 0).X;
            column[x] = Math.Clamp((int)(lx * t.Width / t.Level0Width), 0, t.Width - 1);
        }
        for (int y = 0, i = 0; y < fh; y++)
        {
            double ly = region.ToLevel0(0, (y + 0.5) * fy - 0.5).Y;
            int row = Math.Clamp((int)(ly * t.Height / t.Level0Height), 0, t.Height - 1) * t.Width;
            for (int x = 0; x < fw; x++, i++)
                inTissue[i] = mask[row + column[x]] != 0;
        }
        return inTissue;
    }

    /// <summary>
    /// The tissue mask closed over a fibre's radius (FillMicrons): an unstained fibre on a pale section (little
    /// counterstain, no chromogen) can read as glass to the tissue detector, and a fibre must not need stain to be
    /// found. What the closing adds that really is glass is pale, so no fibre grows into it.
    /// </summary>
    private static void FillTissueHoles(bool[] tissue, int w, int h, double px)
    {
        int n = tissue.Length, r = Math.Max(1, (int)Math.Round(FillMicrons / px));
        // A closing only adds glass pixels, and what it makes of one depends on the mask within 2r of it: so it is
        // worked out on the glass's bounding box grown by 2r (OpenCV reads the real pixels around a sub-matrix), and
        // not at all inside a section (the 61 px square over a whole region cost ~3% of the pass).
        int gx0 = w, gy0 = h, gx1 = -1, gy1 = -1;
        using var mask = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var m = Span8(mask, n);
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
                if (tissue[i])
                    m[i] = 255;
                else
                {
                    gx0 = Math.Min(gx0, x); gy0 = Math.Min(gy0, y);
                    gx1 = Math.Max(gx1, x); gy1 = Math.Max(gy1, y);
                }
        if (gx1 < 0)
            return;
        int bx0 = Math.Max(0, gx0 - 2 * r), by0 = Math.Max(0, gy0 - 2 * r);
        var box = new Rect(bx0, by0, Math.Min(w, gx1 + 2 * r + 1) - bx0, Math.Min(h, gy1 + 2 * r + 1) - by0);
        using var square = Cv2.GetStructuringElement(MorphShapes.Rect, new Size(2 * r + 1, 2 * r + 1));
        using var part = mask[box];
        using var closed = new Mat();
        Cv2.MorphologyEx(part, closed, MorphTypes.Close, square, borderType: BorderTypes.Replicate);
        var c = Span8(closed, box.Width * box.Height);
        for (int y = 0, j = 0; y < box.Height; y++)
            for (int x = 0, i = (y + box.Y) * w + box.X; x < box.Width; x++, i++, j++)
                tissue[i] = c[j] != 0;
    }

    private const double FillMicrons = 30;

    /// <summary>
    /// Boundary lines of either polarity on the stain-independent OD. Pale: below GapFraction of the median tissue OD
    /// (wide interstitium), or ValleyContrast below the local fibre level, the OD grey-closed over LineMicrons (capped
    /// at 1.5 × the median first, or the closing would fill the fibre between two nuclei up to their darkness). Dark:
    /// RidgeContrast above the local level, the OD grey-opened over LineMicrons (floored at the pale cut, so the
    /// edge of a fibre against glass or wide interstitium is not a dark line). Pieces under MinLineMicrons2 are dropped.
    /// Returns the lines and, of them, the pale ones (which belong to no fibre).
    /// </summary>
    private (bool[] Line, bool[] Pale, bool[] Blob, float Texture) Lines(Mat odSmooth, Span<float> od, bool[] tissue, float median, double px, float[] counter, float counterGap)
    {
        int n = od.Length;
        float gap = (float)(settings.GapFraction * median);
        int r = Math.Max(1, (int)Math.Round(settings.LineMicrons / px));
        // Square structuring elements: OpenCV runs them as two 1-D passes, several times faster than a disk.
        using var shape = Cv2.GetStructuringElement(MorphShapes.Rect, new Size(2 * r + 1, 2 * r + 1));
        // The local fibre level: dark lines and nuclei opened away, then pale lines closed over.
        using var opened = new Mat();
        using var level = new Mat();
        // Dark lines are opened away over a wider square: endomysium darker than the fibres is often wider than the
        // pale lines between touching fibres.
        int rd = Math.Max(1, (int)Math.Round(settings.DarkLineMicrons / px));
        using var wide = Cv2.GetStructuringElement(MorphShapes.Rect, new Size(2 * rd + 1, 2 * rd + 1));
        Cv2.MorphologyEx(odSmooth, opened, MorphTypes.Open, wide, borderType: BorderTypes.Replicate);
        Cv2.MorphologyEx(opened, level, MorphTypes.Close, shape, borderType: BorderTypes.Replicate);
        var lv = SpanF(level, n);
        var cells = LevelUnderCells(od, SpanF(opened, n), lv, tissue, odSmooth.Cols, odSmooth.Rows, median, px);
        using var curvature = Curvatures(odSmooth, px, median, out float k);
        var xx = SpanF(curvature.Xx, n);
        var yy = SpanF(curvature.Yy, n);
        var xy = SpanF(curvature.Xy, n);
        float paleK = (float)(1 - settings.ValleyContrast), darkK = (float)(1 + settings.RidgeContrast);
        float faintPale = (float)(1 - settings.LineContrast), faintDark = (float)(1 + settings.LineContrast);
        float valleyCurv = (float)settings.ValleyCurvature, ridgeCurv = (float)settings.RidgeCurvature;
        bool valleys = settings.ValleyContrast > 0, ridges = settings.RidgeContrast > 0;
        // Between these multiples of the level no test below can find a line (whatever the model's settings).
        float quietLow = Math.Max(paleK, faintPale), quietHigh = Math.Min(darkK, faintDark);

        float texture = Texture(od, lv, tissue, xx, yy, k, gap);
        using var lineMat = new Mat(odSmooth.Rows, odSmooth.Cols, MatType.CV_8UC1, Scalar.All(0));
        var lm = Span8(lineMat, n);
        var pale = new bool[n];
        for (int i = 0; i < n; i++)
        {
            if (!tissue[i])
                continue;
            float v = od[i], l = lv[i];
            // Most fibre pixels lie within the faint contrast of their level: no test can call them a line, so the
            // Hessian's eigenvalues (a square root) are worked out only for the others.
            bool paler = v < faintPale * l, darker = v > faintDark * l;
            bool clear = v < gap && counter[i] < counterGap;
            if (!clear && v >= quietLow * l && v <= quietHigh * l)
                continue;
            float lmax = 0, lmin = 0;
            if (!clear)
            {
                // The Hessian's eigenvalues, scale-normalised and relative to the median (see Curvatures).
                float mean = (xx[i] + yy[i]) / 2, half = (xx[i] - yy[i]) / 2;
                float root = MathF.Sqrt(half * half + xy[i] * xy[i]);
                lmax = (mean + root) * k;
                lmin = (mean - root) * k;
            }
            float lev = Math.Min(1, Math.Max(l, gap) / median);
            if (clear || (valleys && (v < paleK * l || (lmax > valleyCurv * lev && paler))))
            {
                pale[i] = true;
                lm[i] = 1;
            }
            else if (ridges && (v > darkK * l || (lmin < -ridgeCurv && lmax > 0.5f * lmin && darker)))
                lm[i] = 2;
        }
        if (cells is not null)
            for (int i = 0; i < n; i++)
                if (cells[i] && lm[i] == 2)
                    lm[i] = 0;
        var blob = DropInteriorBlobs(lineMat, pale, px, settings.NucleusLineMicrons2);
        if (cells is not null)
            for (int i = 0; i < n; i++)
                blob[i] |= cells[i] && !pale[i] && od[i] > darkK * lv[i];
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
        return (line, pale, blob, texture);
    }

    /// <summary>
    /// A cell inside a fibre (an invading macrophage, a large nucleus) wider than the dark-line opening survives it,
    /// so the local level follows the cell up and its rim reads as a pale line: the fibre is hollowed or cut through
    /// the cell. Compact dark pieces of the opened OD (darker than RidgeContrast over the median, under
    /// MaxCellMicrons2) whose surrounding square ring (CellRingMicrons outside their bounding box) lies on tissue at
    /// one level, with hardly any pale pixels and few dark ones (a fibre's interior: the ring of a cell on the
    /// endomysium crosses it), get the ring's median as their level, and the dark lines in the piece grown by the ring
    /// margin are dropped: the cell is a blob inside its fibre, which it neither hollows nor cuts (pale lines there
    /// stay: a cell on the endomysium must not open a gap in it). Returns that mask, or null when no piece qualifies.
    /// </summary>
    private bool[]? LevelUnderCells(Span<float> od, Span<float> opened, Span<float> lv, bool[] tissue, int w, int h, float median, double px)
    {
        int n = w * h;
        float darkK = (float)(1 + settings.RidgeContrast), paleK = (float)(1 - settings.ValleyContrast);
        float cut = darkK * median;
        int maxArea = (int)Math.Ceiling(MaxCellMicrons2 / (px * px)), rr = Math.Max(2, (int)Math.Round(CellRingMicrons / px));
        var ring = new List<float>();
        var sorted = new List<float>();
        var piece = new List<int>();
        // Dark pieces are few and small: they are labelled by a flood from each (8-connected) rather than by a
        // connected-components pass over the whole region, which cost as much as the rest of this step.
        var seen = ArrayPool<bool>.Shared.Rent(n);
        Array.Clear(seen, 0, n);
        bool[]? mask = null;
        // The accepted pieces grown by the ring margin: OpenCV's disk stamped at each of their pixels (a dilation
        // of the whole region cost more than the pieces).
        int k = 2 * rr + 1;
        using var disk = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(k, k));
        var kernel = Span8(disk, k * k).ToArray();
        try
        {
            for (int start = 0; start < n; start++)
            {
                if (seen[start] || !tissue[start] || !(opened[start] > cut))
                    continue;
                piece.Clear();
                piece.Add(start);
                seen[start] = true;
                int bx0 = w, by0 = h, bx1 = -1, by1 = -1;
                for (int q = 0; q < piece.Count; q++)
                {
                    int p = piece[q], py = p / w, pxl = p - py * w;
                    bx0 = Math.Min(bx0, pxl); bx1 = Math.Max(bx1, pxl);
                    by0 = Math.Min(by0, py); by1 = Math.Max(by1, py);
                    for (int dy = -1; dy <= 1; dy++)
                    {
                        int yy = py + dy;
                        if (yy < 0 || yy >= h)
                            continue;
                        for (int dx = -1; dx <= 1; dx++)
                        {
                            int xx = pxl + dx;
                            if (xx < 0 || xx >= w)
                                continue;
                            int j = yy * w + xx;
                            if (!seen[j] && tissue[j] && opened[j] > cut)
                            {
                                seen[j] = true;
                                piece.Add(j);
                            }
                        }
                    }
                }
                if (piece.Count > maxArea)
                    continue;
                int x0 = bx0 - rr, y0 = by0 - rr, x1 = bx1 + rr, y1 = by1 + rr;
                if (x0 < 0 || y0 < 0 || x1 >= w || y1 >= h)
                    continue;
                if (!RingOnTissue(od, tissue, w, x0, y0, x1, y1, ring))
                    continue;
                sorted.Clear();
                sorted.AddRange(ring);
                sorted.Sort();
                float level = sorted[sorted.Count / 2];
                int paler = 0, darker = 0;
                foreach (float v in ring)
                {
                    if (v < paleK * level)
                        paler++;
                    else if (v > darkK * level)
                        darker++;
                }
                if ((paler > MaxPaleRingFraction * ring.Count && !PaleInOneStretch(ring, paleK * level)) || darker > MaxDarkRingFraction * ring.Count || level > cut)
                    continue;
                for (int y = y0 + 1; y < y1; y++)
                    for (int x = x0 + 1, i = y * w + x0 + 1; x < x1; x++, i++)
                        lv[i] = Math.Min(lv[i], level);
                mask ??= new bool[n];
                foreach (int p in piece)
                {
                    int py = p / w, pxl = p - py * w;
                    for (int dy = -rr; dy <= rr; dy++)
                    {
                        int yy = py + dy;
                        if (yy < 0 || yy >= h)
                            continue;
                        for (int dx = -rr; dx <= rr; dx++)
                        {
                            int xx = pxl + dx;
                            if (xx >= 0 && xx < w && kernel[(dy + rr) * k + dx + rr] != 0)
                                mask[yy * w + xx] = true;
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<bool>.Shared.Return(seen);
        }
        return mask;
    }

    /// <summary>
    /// The OD along the square ring x0..x1 × y0..y1 into <paramref name="ring"/>, in order around it (clockwise from the
    /// top left corner); false where it touches glass.
    /// </summary>
    private static bool RingOnTissue(Span<float> od, bool[] tissue, int w, int x0, int y0, int x1, int y1, List<float> ring)
    {
        ring.Clear();
        int across = x1 - x0, down = y1 - y0;
        for (int k = 0; k < 2 * (across + down); k++)
        {
            // Top row left to right, right column down, bottom row right to left, left column up.
            var (x, y) = k < across ? (x0 + k, y0)
                : k < across + down ? (x1, y0 + k - across)
                : k < 2 * across + down ? (x1 - (k - across - down), y1)
                : (x0, y1 - (k - 2 * across - down));
            int i = y * w + x;
            if (!tissue[i])
                return false;
            ring.Add(od[i]);
        }
        return true;
    }

    /// <summary>
    /// The pale pixels of the ring (in order around it) lie in one stretch (gaps of up to two pixels closed) no longer
    /// than MaxPaleRunFraction of the ring: the ring's corner clips the endomysium beside a cell near its fibre's edge.
    /// A line through the cell (a cell on the endomysium) crosses the ring twice, a junction three times.
    /// </summary>
    private static bool PaleInOneStretch(List<float> ring, float pale)
    {
        // Start at a stretch's first pixel: pale, after more than two that are not (a stretch around the ring's start
        // would otherwise count twice).
        int m = ring.Count, first = -1;
        for (int i = 0; i < m && first < 0; i++)
            if (ring[i] < pale && !(ring[(i - 1 + m) % m] < pale) && !(ring[(i - 2 + m) % m] < pale) && !(ring[(i - 3 + m) % m] < pale))
                first = i;
        if (first < 0)
            return false; // no pale pixel, or pale all around
        int runs = 0, span = 0, gap = int.MaxValue;
        for (int k = 0; k < m; k++)
        {
            bool p = ring[(first + k) % m] < pale;
            if (p)
            {
                if (gap > 2)
                    runs++;
                span += gap is > 0 and <= 2 ? gap + 1 : 1;
                gap = 0;
            }
            else if (gap != int.MaxValue)
                gap++;
        }
        return runs == 1 && span <= MaxPaleRunFraction * m;
    }

    private const double MaxCellMicrons2 = 450, CellRingMicrons = 3, MaxPaleRingFraction = 0.02, MaxDarkRingFraction = 0.1, MaxPaleRunFraction = 0.25;

    private const int CropPad = 8;
    // Outline pixels this close to glass (the tissue detector's own mask) lie on the section edge.
    private const double GlassMicrons = 4;
    private const double OuterBandMicrons = 1;

    /// <summary>
    /// Dark blobs are nuclei and cells, not boundaries: the thick parts of the dark lines (what an opening by a disk
    /// of BlobMicrons leaves) smaller than MaxBlobMicrons2 and no more elongated than MaxBlobElongation are taken out
    /// of the lines, so they neither cut a fibre nor hollow its distance map. Dark lines (a membrane, a stained
    /// sarcolemma, two touching rings) are thinner than the disk, or long, and stay.
    /// </summary>
    private static bool[] DropInteriorBlobs(Mat lineMat, bool[] pale, double px, double networkMicrons2)
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
        var st = StatsOf(stats, count);
        int maxBlob = (int)Math.Ceiling(MaxBlobMicrons2 / (px * px));
        for (int k = 1; k < count; k++)
            small[k] = Stat(st, k, ConnectedComponentsTypes.Area) < maxBlob;
        // A nucleus or a cell is compact; a band as thick as the disk but long (rings on both sides of an endomysium
        // darker than the fibres) is a line, however short its pieces between junctions are.
        {
            int w = lineMat.Cols;
            var sxx = new double[count];
            var syy = new double[count];
            var sxy = new double[count];
            var sx = new double[count];
            var sy = new double[count];
            for (int i = 0; i < n; i++)
            {
                int k = lab[i];
                if (k <= 0 || !small[k])
                    continue;
                int y = i / w, x = i - y * w;
                sx[k] += x; sy[k] += y; sxx[k] += (double)x * x; syy[k] += (double)y * y; sxy[k] += (double)x * y;
            }
            for (int k = 1; k < count; k++)
            {
                if (!small[k])
                    continue;
                double a = Stat(st, k, ConnectedComponentsTypes.Area), mx = sx[k] / a, my = sy[k] / a;
                double cxx = sxx[k] / a - mx * mx, cyy = syy[k] / a - my * my, cxy = sxy[k] / a - mx * my;
                double mean = (cxx + cyy) / 2, root = Math.Sqrt((cxx - cyy) * (cxx - cyy) / 4 + cxy * cxy);
                double l1 = mean + root, l2 = Math.Max(1e-6, mean - root);
                if (Math.Sqrt(l1 / l2) > MaxBlobElongation)
                    small[k] = false;
            }
        }
        var lm = Span8(lineMat, n);
        if (networkMicrons2 > 0)
            LinesThroughNuclei(dark, lm, lab, small, st, count, lineMat.Cols, lineMat.Rows, networkMicrons2 / (px * px), Math.Max(1, (int)Math.Round(NucleusRingMicrons / px)));
        for (int i = 0; i < n; i++)
            if (lab[i] > 0 && small[lab[i]])
            {
                lm[i] = 0;
                blob[i] = true;
            }
        DropIsolatedSpecks(lineMat, pale, blob, px);
        return blob;
    }

    /// <summary>
    /// A nucleus on the endomysium is as thick as one inside a fibre, so it is a blob too, but taking it out of the
    /// lines opens a gap in the boundary it sits on; with myonuclei every few tens of µm under the sarcolemma, fibres
    /// on IHC with a darker endomysium flooded into each other through those gaps (generated sections with every
    /// nucleus on the endomysium: outlines across fibres, the ring-positive % 4–7 points low). A blob on a dark line
    /// network (its dark piece before the opening at least <paramref name="minNetwork"/> pixels and three times the
    /// blob) whose surrounding square ring (<paramref name="margin"/> outside its bounding box) crosses other lines
    /// at least twice keeps a one-pixel line through it, from the middle of each crossing to the blob's centre: the
    /// boundary stays closed without the nucleus denting the fibres beside it. A nucleus inside a fibre, whose dark
    /// piece is itself, stays a blob.
    /// </summary>
    private static void LinesThroughNuclei(Mat dark, Span<byte> lm, Span<int> lab, bool[] small, Span<int> st, int count, int w, int h,
        double minNetwork, int margin)
    {
        int n = w * h;
        var d = Span8(dark, n);
        int[]? seen = null;
        var queue = new List<int>();
        var ring = new List<int>();
        var crossed = new List<bool>();
        var crossings = new List<int>();
        for (int k = 1; k < count; k++)
        {
            if (!small[k])
                continue;
            int x0 = Stat(st, k, ConnectedComponentsTypes.Left) - margin, y0 = Stat(st, k, ConnectedComponentsTypes.Top) - margin;
            int x1 = x0 + Stat(st, k, ConnectedComponentsTypes.Width) + 2 * margin - 1, y1 = y0 + Stat(st, k, ConnectedComponentsTypes.Height) + 2 * margin - 1;
            if (x0 < 0 || y0 < 0 || x1 >= w || y1 >= h)
                continue;
            ring.Clear();
            for (int x = x0; x < x1; x++) ring.Add(y0 * w + x);
            for (int y = y0; y < y1; y++) ring.Add(y * w + x1);
            for (int x = x1; x > x0; x--) ring.Add(y1 * w + x);
            for (int y = y1; y > y0; y--) ring.Add(y * w + x0);
            // Crossings: runs of other dark line pixels along the ring, each marked at its middle.
            int m = ring.Count;
            crossed.Clear();
            foreach (int i in ring)
                crossed.Add(lm[i] == 2 && !(lab[i] > 0 && small[lab[i]]));
            crossings.Clear();
            for (int j = 0; j < m; j++)
            {
                if (!crossed[j] || crossed[(j + m - 1) % m])
                    continue;
                int len = 1;
                while (len < m && crossed[(j + len) % m])
                    len++;
                crossings.Add(ring[(j + len / 2) % m]);
            }
            if (crossings.Count < 2)
                continue;
            // On a network: the blob's dark piece holds at least minNetwork pixels and three times the blob. A
            // breadth-first walk from one of its pixels that stops as soon as it has (cheaper than labelling every
            // dark piece of the region, and only the few blobs with lines around them are walked).
            int need = (int)Math.Ceiling(Math.Max(3.0 * Stat(st, k, ConnectedComponentsTypes.Area), minNetwork));
            seen ??= new int[n];
            int first = (y0 + margin) * w + x0 + margin;
            while (lab[first] != k)
                first++;
            queue.Clear();
            queue.Add(first);
            seen[first] = k;
            for (int q = 0; q < queue.Count && queue.Count < need; q++)
            {
                int i = queue[q], y = i / w, x = i - y * w;
                for (int yy = Math.Max(0, y - 1); yy <= Math.Min(h - 1, y + 1); yy++)
                    for (int xx = Math.Max(0, x - 1); xx <= Math.Min(w - 1, x + 1); xx++)
                    {
                        int j = yy * w + xx;
                        if (d[j] != 0 && seen[j] != k)
                        {
                            seen[j] = k;
                            queue.Add(j);
                        }
                    }
            }
            if (queue.Count < need)
                continue;
            // Two crossings: the line runs past (or through) the nucleus, straight from one to the other. More: a
            // junction, each crossing joined to the blob's centre.
            int centre = (y0 + y1) / 2 * w + (x0 + x1) / 2;
            if (crossings.Count == 2)
                DarkSegment(lm, lab, crossings[0], crossings[1], w);
            else
                foreach (int c in crossings)
                    DarkSegment(lm, lab, c, centre, w);
        }
    }

    /// <summary>A one-pixel dark line from one pixel to another (no longer part of any blob).</summary>
    private static void DarkSegment(Span<byte> lm, Span<int> lab, int from, int to, int w)
    {
        int x0 = from % w, y0 = from / w, x1 = to % w, y1 = to / w, steps = Math.Max(1, Math.Max(Math.Abs(x1 - x0), Math.Abs(y1 - y0)));
        for (int t = 0; t <= steps; t++)
        {
            int i = (y0 + (y1 - y0) * t / steps) * w + x0 + (x1 - x0) * t / steps;
            lm[i] = 2;
            lab[i] = 0;
        }
    }

    // The ring around a blob that looks for lines running past it: just outside its box (2 µm: 01 and 02 re-stained
    // 38 and 31 of 46 and 35 matched, generated ring % mean |error| 1.48; 1 µm: 38, 33 and 1.33; 3 µm: fewer).
    private const double NucleusRingMicrons = 1;
    // Counterstain of a dark nucleus (not of a basophilic fibre's cytoplasm, 0.15–0.3), and the share of such pixels
    // that makes a piece a cluster of cells.
    private const float CellClusterOd = 0.3f;
    private const double CellClusterFraction = 0.4;
    // A cluster's nuclei lie among paler cytoplasm and gaps: the 20th percentile of its counterstain is under this
    // fraction of the 80th (the two clusters of the real H&E sections: 0.60 and 0.30). A fibre dark all over in that
    // plane (the dark type of ATPase or SDH) is even: 0.73–0.93 on the H&E sections re-stained as either.
    private const float ClusterTextureRatio = 0.7f;
    // A nucleus inside a fibre is at least this many times the fibre's own median counterstain (H&E fibres 0.02–0.05
    // OD, a myonucleus 0.3 and more); the fibre's level is read over [0, OwnHemRange) OD.
    private const float NucleusOverFibre = 2;
    private const float OwnHemRange = 2;

    /// <summary>
    /// A piece mostly of nuclei is a cluster of cells (a vessel, interstitial cells, an infiltrate), not a fibre: on the
    /// real H&amp;E sections two such pieces of 214 and 250 µm² were 57–62% dark nuclei (counterstain ≥ CellClusterOd);
    /// fibres, basophilic regenerating ones too, are at most 32%. It must also be uneven (ClusterTextureRatio): on
    /// enzyme histochemistry (ATPase, SDH) the "counterstain" plane holds the dark fibre type, dark all over, and
    /// without this test ATPase- and SDH-like re-stainings of the real sections lost nearly all their dark fibres.
    /// </summary>
    private static bool[] ClustersOfNuclei(int[] label, float[] hem, int count, int[] area, int[] nuclearN)
    {
        var cluster = new bool[count + 1];
        var values = new List<float>?[count + 1];
        bool any = false;
        for (int l = 1; l <= count; l++)
            if (nuclearN[l] > CellClusterFraction * area[l])
            {
                values[l] = new List<float>(area[l]);
                any = true;
            }
        if (!any)
            return cluster;
        for (int i = 0; i < label.Length; i++)
            if (label[i] > 0 && values[label[i]] is { } v)
                v.Add(hem[i]);
        for (int l = 1; l <= count; l++)
            if (values[l] is { Count: > 0 } v)
            {
                v.Sort();
                cluster[l] = v[v.Count / 5] < ClusterTextureRatio * v[v.Count * 4 / 5];
            }
        return cluster;
    }

    /// <summary>
    /// Small dark pieces (under IsolatedMicrons2) that touch no pale line are nuclei inside a fibre, thinner than the
    /// blob disk: not boundaries either.
    /// </summary>
    private static void DropIsolatedSpecks(Mat lineMat, bool[] pale, bool[] blob, double px)
    {
        int n = pale.Length, w = lineMat.Cols, h = lineMat.Rows;
        using var dark = new Mat();
        Cv2.Compare(lineMat, Scalar.All(2), dark, CmpTypes.EQ);
        using var labels = new Mat();
        using var stats = new Mat();
        using var centroids = new Mat();
        int count = Cv2.ConnectedComponentsWithStats(dark, labels, stats, centroids, PixelConnectivity.Connectivity8, MatType.CV_32S);
        if (count <= 1)
            return;
        var lab = Span32(labels, n);
        var st = StatsOf(stats, count);
        var lm = Span8(lineMat, n);
        int most = (int)Math.Ceiling(IsolatedMicrons2 / (px * px));
        // Each small piece is visited in its own bounding box: a few per fibre, against two passes over the region.
        for (int k = 1; k < count; k++)
        {
            int x0 = Stat(st, k, ConnectedComponentsTypes.Left), y0 = Stat(st, k, ConnectedComponentsTypes.Top);
            int x1 = x0 + Stat(st, k, ConnectedComponentsTypes.Width), y1 = y0 + Stat(st, k, ConnectedComponentsTypes.Height);
            // Large pieces and pieces at the region's edge (their other side unseen) stay lines.
            if (Stat(st, k, ConnectedComponentsTypes.Area) >= most || x0 == 0 || y0 == 0 || x1 == w || y1 == h)
                continue;
            bool touchesPale = false;
            for (int y = y0; y < y1 && !touchesPale; y++)
                for (int x = x0, i = y * w + x0; x < x1; x++, i++)
                    if (lab[i] == k && (pale[i - 1] || pale[i + 1] || pale[i - w] || pale[i + w]
                        || pale[i - w - 1] || pale[i - w + 1] || pale[i + w - 1] || pale[i + w + 1]))
                    {
                        touchesPale = true;
                        break;
                    }
            if (touchesPale)
                continue;
            for (int y = y0; y < y1; y++)
                for (int x = x0, i = y * w + x0; x < x1; x++, i++)
                    if (lab[i] == k)
                    {
                        lm[i] = 0;
                        blob[i] = true;
                    }
        }
    }

    private const double IsolatedMicrons2 = 100;

    private const double BlobMicrons = 3;
    private const double MaxBlobMicrons2 = 400;
    // Square root of the ratio of the second moments' eigenvalues (length over width for a bar): an obliquely cut
    // nucleus reaches about 4, a band between two junctions of a fibre mosaic 4–7. At 3 the re-stained real
    // section he-muscle-01 read 5.6 points over its truth (a few elongated nuclei became lines).
    private const double MaxBlobElongation = 4;

    /// <summary>
    /// The fibres' texture as the line tests read it: the median |trace of the Hessian| (scale-normalised, relative to
    /// the median OD) over pixels within 10% of their local level (every 7th pixel). Generated slides at 0.5 µm/px read
    /// about 0.027, the re-stained real sections 0.016–0.020, the real H&amp;E 0.008.
    /// </summary>
    private static float Texture(Span<float> od, Span<float> lv, bool[] tissue, Span<float> xx, Span<float> yy, float k, float gap)
    {
        var sample = new List<float>();
        for (int i = 0; i < od.Length; i += 7)
        {
            float v = od[i], l = lv[i];
            if (tissue[i] && v >= gap && v >= 0.9f * l && v <= 1.1f * l)
                sample.Add(Math.Abs(xx[i] + yy[i]) * k);
        }
        return sample.Count == 0 ? 0 : Select(CollectionsMarshal.AsSpan(sample), sample.Count / 2);
    }

    /// <summary>
    /// The two eigenvalues of the Hessian of the OD at the scale of the endomysium (Gaussian σ = LineMicrons / 3),
    /// scale-normalised (× σ²) and relative to the median tissue OD: a thin pale line has a large positive λmax across
    /// it, a thin dark line a large negative λmin with λmax near 0 (a dark blob, a nucleus, has both negative). The
    /// curvature sees lines a pixel wide that a grey closing or opening at this resolution blurs below its contrast.
    /// </summary>
    private Hessian Curvatures(Mat odSmooth, double px, float median, out float k)
    {
        double sigma = Math.Max(0.5, settings.LineMicrons / 3 / px);
        using var b = new Mat();
        Cv2.GaussianBlur(odSmooth, b, new Size(0, 0), sigma, sigma, BorderTypes.Reflect101);
        var hessian = new Hessian(new Mat(), new Mat(), new Mat());
        // Sobel 3×3 second derivatives carry a weight of 4 across the derivative direction.
        Cv2.Sobel(b, hessian.Xx, MatType.CV_32F, 2, 0, 3, 0.25, 0, BorderTypes.Reflect101);
        Cv2.Sobel(b, hessian.Yy, MatType.CV_32F, 0, 2, 3, 0.25, 0, BorderTypes.Reflect101);
        Cv2.Sobel(b, hessian.Xy, MatType.CV_32F, 1, 1, 3, 0.25, 0, BorderTypes.Reflect101);
        // λ = (mean ± root) · k with mean = (xx + yy) / 2, root = √(((xx − yy) / 2)² + xy²), taken where needed.
        k = (float)(sigma * sigma / Math.Max(1e-3, median));
        return hessian;
    }

    private sealed record Hessian(Mat Xx, Mat Yy, Mat Xy) : IDisposable
    {
        public void Dispose()
        {
            Xx.Dispose();
            Yy.Dispose();
            Xy.Dispose();
        }
    }

    /// <summary>
    /// Seeds: the maxima of the distance map that stand high enough over the saddle to a higher maximum (their
    /// dynamic), at least MarkerDepthMicrons deep. The dynamic a maximum of height t needs grows with t:
    /// T(t) = max(SeedDynamicMicrons, SeedDynamicFraction · t, min(SeedDynamicFraction · a large fibre's height (the
    /// distance map's 95th percentile), SmallFibreDynamic · t)); so a large fibre needs a proportionally deeper dip to be
    /// split, and a small fibre beside a large one, joined where the line between them is not seen, is still seeded
    /// when it stands out over that saddle by two thirds of its inscribed radius. h-maxima with a varying h: the distance
    /// map d is reconstructed by dilation from d − T(d) (nondecreasing in d, so the reconstruction at a maximum is the
    /// higher of its own marker and the saddle to a higher one); a cap (d above the reconstruction) is a seed when its
    /// peak stands the full T above it. Labelled 1..count (8-connected).
    /// </summary>
    // A dent beside a nucleus or a cell in a large fibre stands out by less than this fraction of its height. Lower
    // values find more small fibres on the real sections but split generated fibres at DAB cells (0.55: muscle-he on
    // the sample P01-pre-CD163 slide 438 fibres for 300 whole ones; 0.65: 426; the rule off: 380).
    private const float SmallFibreDynamic = 0.65f;

    private (int[] Label, int Count) Seeds(float[] dist, int w, int h, double px)
    {
        int n = w * h;
        float dynMin = (float)(settings.SeedDynamicMicrons / px), depth = (float)(settings.MarkerDepthMicrons / px);
        float fraction = (float)settings.SeedDynamicFraction, large = 0;
        var deep = ArrayPool<float>.Shared.Rent(n / 7 + 1);
        int deepCount = 0;
        for (int i = 0; i < n; i += 7)
            if (dist[i] > 0)
                deep[deepCount++] = dist[i];
        // Positive distances: the k-th smallest by selection is the value a sort puts at k.
        if (deepCount > 0)
            large = fraction * Select(deep.AsSpan(0, deepCount), (int)(deepCount * 0.95));
        ArrayPool<float>.Shared.Return(deep);
        float Need(float t) => Math.Max(Math.Max(dynMin, fraction * t), Math.Min(large, SmallFibreDynamic * t));
        var marker = new float[n];
        for (int i = 0; i < n; i++)
            marker[i] = Math.Max(0, dist[i] - Need(dist[i]));
        ReconstructByDilation(marker, dist, w, h);
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
            if (lab[i] > 0 && dist[i] - marker[i] >= Need(dist[i]) - 1e-3f)
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
    /// A small fibre lined by a stained ring (a sarcolemmal MHC class I ring) can be so narrow inside its ring that no
    /// pixel lies the seed depth away from a line: the ring's own width and the nucleus under it take most of its
    /// interior, and without a seed the fibre is flooded from its neighbours (the re-stained he-muscle-01 lost two
    /// small ring-positive fibres that way). What is left of its interior is a patch of tissue that dark lines enclose
    /// on every side. Such a patch with no seed of its own becomes one when it holds at least ClosedRingCore × the
    /// smallest fibre area of pixels that are neither pale nor nucleus-like blobs (a pocket of interstitium in the
    /// line network is pale or small; a nucleus on a line leaves a blob-filled hole); the flood and the later tests
    /// (area, solidity, interstitial pieces) decide whether a fibre grows from it. Only on models that grade fibres:
    /// on H&amp;E the line network's pockets are not rings, and generated H&amp;E-like sections gained pieces.
    /// </summary>
    private int SeedsInClosedRings(int[] seeds, int count, bool[] line, bool[] pale, bool[] blob, bool[] inSection, int w, int h, double px)
    {
        int n = w * h;
        using var open = new Mat(h, w, MatType.CV_8UC1);
        var o = Span8(open, n);
        // Booleans are the bytes 0 and 1: not on a line, or pale, is (line xor 1) or pale, a vector at a time.
        var lb = MemoryMarshal.Cast<bool, byte>(line.AsSpan());
        var pb = MemoryMarshal.Cast<bool, byte>(pale.AsSpan());
        int v = 0;
        if (Vector.IsHardwareAccelerated)
            for (var one = Vector<byte>.One; v <= n - Vector<byte>.Count; v += Vector<byte>.Count)
                (Vector.Xor(new Vector<byte>(lb[v..]), one) | new Vector<byte>(pb[v..])).CopyTo(o[v..]);
        for (; v < n; v++)
            o[v] = (byte)((lb[v] ^ 1) | pb[v]);
        using var labels = new Mat();
        using var stats = new Mat();
        using var centroids = new Mat();
        // 4-connected: a ring drawn with 8-connected line pixels still encloses its patch.
        int found = Cv2.ConnectedComponentsWithStats(open, labels, stats, centroids, PixelConnectivity.Connectivity4, MatType.CV_32S);
        var lab = Span32(labels, n);
        var st = StatsOf(stats, found);
        double minCore = ClosedRingCore * settings.MinAreaMicrons2 / (px * px), most = MaxClosedRing * settings.MinAreaMicrons2 / (px * px);
        // Only the few small patches off the crop's edge are visited pixel by pixel: a patch as large as two of the
        // smallest fibres is deep enough to hold a seed of its own, and one at the edge is not enclosed.
        for (int k = 1; k < found; k++)
        {
            int x0 = Stat(st, k, ConnectedComponentsTypes.Left), y0 = Stat(st, k, ConnectedComponentsTypes.Top);
            int x1 = x0 + Stat(st, k, ConnectedComponentsTypes.Width), y1 = y0 + Stat(st, k, ConnectedComponentsTypes.Height);
            int area = Stat(st, k, ConnectedComponentsTypes.Area);
            if (area < minCore || area > most || x0 == 0 || y0 == 0 || x1 == w || y1 == h)
                continue;
            // A patch that reaches glass is not enclosed by lines, and one that holds a seed needs none.
            int core = 0;
            bool seedless = true;
            for (int y = y0; y < y1 && seedless; y++)
                for (int x = x0, i = y * w + x0; x < x1; x++, i++)
                    if (lab[i] == k)
                    {
                        if (!inSection[i] || seeds[i] > 0)
                        {
                            seedless = false;
                            break;
                        }
                        if (!pale[i] && !blob[i])
                            core++;
                    }
            if (!seedless || core < minCore)
                continue;
            count++;
            for (int y = y0; y < y1; y++)
                for (int x = x0, i = y * w + x0; x < x1; x++, i++)
                    if (lab[i] == k && !pale[i] && !blob[i])
                        seeds[i] = count;
        }
        return count;
    }

    private const double ClosedRingCore = 0.1, MaxClosedRing = 2;

    /// <summary>
    /// Grey reconstruction by dilation of <paramref name="f"/> under <paramref name="g"/> (f ≤ g), 8-connected, in
    /// place: Vincent's hybrid algorithm (1993), a forward and a backward raster scan and then a FIFO queue. Written
    /// here because OpenCV has no morphological reconstruction, and iterating Cv2.Dilate to convergence costs one pass
    /// per pixel of the widest fibre. The reconstruction is unique, so the order of the updates does not change it.
    /// </summary>
    internal static void ReconstructByDilation(float[] f, float[] g, int w, int h)
    {
        // Raster scans: the row already scanned is final, so its three-pixel maxima (with the pixel's own value) are
        // taken a vector at a time; only the chain along the row (max with the previous pixel, min with g) is serial.
        // f and g are distances (≥ +0, never NaN), on which every max and min is exact in any order.
        var t = ArrayPool<float>.Shared.Rent(Math.Max(1, w));
        for (int y = 0; y < h; y++)
        {
            int row = y * w;
            if (y == 0 || w < 3)
            {
                for (int x = 0; x < w; x++)
                {
                    int i = row + x;
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
                continue;
            }
            RowMax(f, row - w, row, t, w);
            float prev = f[row] = Math.Min(t[0], g[row]);
            for (int x = 1; x < w; x++)
                f[row + x] = prev = MinS(MaxS(t[x], prev), g[row + x]);
        }
        var queue = new IntFifo(Math.Max(64, w * h / 16));
        for (int y = h - 1; y >= 0; y--)
        {
            int row = y * w;
            if (y == h - 1 || w < 3)
            {
                for (int x = w - 1; x >= 0; x--)
                {
                    int i = row + x;
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
                        queue.Push(i);
                }
                continue;
            }
            RowMax(f, row + w, row, t, w);
            float next = f[row + w - 1] = Math.Min(t[w - 1], g[row + w - 1]);
            for (int x = w - 2; x >= 0; x--)
                f[row + x] = next = MinS(MaxS(t[x], next), g[row + x]);
            // A pixel joins the queue when it could still raise a neighbour scanned before it (right, below): those
            // are final now as they were when the pixel was scanned, so the test runs after the row, in scan order.
            {
                int i = row + w - 1;
                float v = f[i];
                if ((f[i + w] < v && f[i + w] < g[i + w]) || (f[i + w - 1] < v && f[i + w - 1] < g[i + w - 1]))
                    queue.Push(i);
            }
            for (int i = row + w - 2; i > row; i--)
            {
                float v = f[i];
                if ((f[i + 1] < v && f[i + 1] < g[i + 1]) || (f[i + w] < v && f[i + w] < g[i + w])
                    || (f[i + w + 1] < v && f[i + w + 1] < g[i + w + 1]) || (f[i + w - 1] < v && f[i + w - 1] < g[i + w - 1]))
                    queue.Push(i);
            }
            {
                int i = row;
                float v = f[i];
                if ((f[i + 1] < v && f[i + 1] < g[i + 1]) || (f[i + w] < v && f[i + w] < g[i + w])
                    || (f[i + w + 1] < v && f[i + w + 1] < g[i + w + 1]))
                    queue.Push(i);
            }
        }
        ArrayPool<float>.Shared.Return(t);
        while (queue.TryPop(out int i))
        {
            int x = i % w, y = i - x;
            float v = f[i];
            bool left = x > 0, right = x < w - 1;
            if (y > 0)
            {
                int u = i - w;
                if (left) Raise(f, g, u - 1, v, ref queue);
                Raise(f, g, u, v, ref queue);
                if (right) Raise(f, g, u + 1, v, ref queue);
            }
            if (left) Raise(f, g, i - 1, v, ref queue);
            if (right) Raise(f, g, i + 1, v, ref queue);
            if (y < (h - 1) * w)
            {
                int d = i + w;
                if (left) Raise(f, g, d - 1, v, ref queue);
                Raise(f, g, d, v, ref queue);
                if (right) Raise(f, g, d + 1, v, ref queue);
            }
        }
        queue.Dispose();
    }

    /// <summary>t[x] = max of f at x in row <paramref name="row"/> and at x - 1, x, x + 1 in row <paramref name="other"/> (w ≥ 3).</summary>
    private static void RowMax(float[] f, int other, int row, float[] t, int w)
    {
        t[0] = Math.Max(f[row], Math.Max(f[other], f[other + 1]));
        int x = 1;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float fr = ref MemoryMarshal.GetArrayDataReference(f);
            ref float tr = ref MemoryMarshal.GetArrayDataReference(t);
            for (; x + Vector256<float>.Count <= w - 1; x += Vector256<float>.Count)
            {
                var m = Vector256.Max(Vector256.LoadUnsafe(ref fr, (nuint)(other + x - 1)), Vector256.LoadUnsafe(ref fr, (nuint)(other + x)));
                m = Vector256.Max(m, Vector256.LoadUnsafe(ref fr, (nuint)(other + x + 1)));
                Vector256.Max(m, Vector256.LoadUnsafe(ref fr, (nuint)(row + x))).StoreUnsafe(ref tr, (nuint)x);
            }
        }
        for (; x < w - 1; x++)
            t[x] = Math.Max(Math.Max(f[row + x], f[other + x - 1]), Math.Max(f[other + x], f[other + x + 1]));
        t[w - 1] = Math.Max(f[row + w - 1], Math.Max(f[other + w - 2], f[other + w - 1]));
    }

    // max and min of distances (never NaN, never -0): one instruction each where SSE is there.
    private static float MaxS(float a, float b) =>
        Sse.IsSupported ? Sse.MaxScalar(Vector128.CreateScalarUnsafe(a), Vector128.CreateScalarUnsafe(b)).ToScalar() : Math.Max(a, b);

    private static float MinS(float a, float b) =>
        Sse.IsSupported ? Sse.MinScalar(Vector128.CreateScalarUnsafe(a), Vector128.CreateScalarUnsafe(b)).ToScalar() : Math.Min(a, b);

    private static void Raise(float[] f, float[] g, int q, float v, ref IntFifo queue)
    {
        if (f[q] < v && f[q] != g[q])
        {
            f[q] = Math.Min(v, g[q]);
            queue.Push(q);
        }
    }

    /// <summary>A growable ring of pixel indices on a pooled buffer.</summary>
    private struct IntFifo(int capacity) : IDisposable
    {
        private int[] items = ArrayPool<int>.Shared.Rent(Math.Max(16, (int)BitOperations.RoundUpToPowerOf2((uint)capacity)));
        private int head, count;

        public void Push(int v)
        {
            if (count == items.Length)
            {
                var bigger = ArrayPool<int>.Shared.Rent(items.Length * 2);
                int first = Math.Min(count, items.Length - head);
                Array.Copy(items, head, bigger, 0, first);
                Array.Copy(items, 0, bigger, first, count - first);
                ArrayPool<int>.Shared.Return(items);
                items = bigger;
                head = 0;
            }
            int t = head + count;
            if (t >= items.Length)
                t -= items.Length;
            items[t] = v;
            count++;
        }

        public bool TryPop(out int v)
        {
            if (count == 0)
            {
                v = 0;
                return false;
            }
            v = items[head];
            if (++head == items.Length)
                head = 0;
            count--;
            return true;
        }

        public readonly void Dispose() => ArrayPool<int>.Shared.Return(items);
    }

    /// <summary>
    /// Marker watershed by flooding, 4-connected, over the tissue: the relief is the inverted distance to the nearest
    /// line (quantised to ¼ px), with every line pixel on top, so each fibre fills its own interior first, a neck
    /// without a visible line is cut at its narrowest, and two fibres meet in the middle of the line between them
    /// (the top level is flooded first in, first out from all sides). A bucket queue (FIFO per level) keeps it
    /// O(pixels); OpenCV's watershed floods by colour difference between neighbours, not by a relief.
    /// </summary>
    private static void Flood(int[] label, float[] dist, bool[] line, bool[] pale, bool[] tissue, byte[] sides, int w)
    {
        int n = label.Length;
        float maxD = 0;
        for (int i = 0; i < n; i++)
            maxD = Math.Max(maxD, dist[i]);
        int top = (int)(maxD * 4) + 2;
        var queue = new BucketQueue(n, top + 1);
        // One array holds the state of every pixel, so a neighbour costs one read: a label (> 0), glass (-1, never
        // flooded) or an unlabelled tissue pixel of relief level lv (-2 - lv). The caller reads the flooded labels
        // only as "equal to this fibre".
        for (int i = 0; i < n; i++)
        {
            int lv = pale[i] ? top : line[i] ? top - 1 : Math.Clamp((int)((maxD - dist[i]) * 4), 0, top - 2);
            if (label[i] > 0)
                queue.Push(lv, i);
            else
                label[i] = tissue[i] ? -2 - lv : -1;
        }
        for (int lv = 0; lv <= top; lv++)
        {
            while (queue.TryPop(lv, out int i))
            {
                int sd = sides[i], l = label[i];
                int j, c;
                if ((sd & Left) != 0 && (c = label[j = i - 1]) < -1)
                {
                    label[j] = l;
                    queue.Push(Math.Max(lv, -2 - c), j);
                }
                if ((sd & Right) != 0 && (c = label[j = i + 1]) < -1)
                {
                    label[j] = l;
                    queue.Push(Math.Max(lv, -2 - c), j);
                }
                if ((sd & Up) != 0 && (c = label[j = i - w]) < -1)
                {
                    label[j] = l;
                    queue.Push(Math.Max(lv, -2 - c), j);
                }
                if ((sd & Down) != 0 && (c = label[j = i + w]) < -1)
                {
                    label[j] = l;
                    queue.Push(Math.Max(lv, -2 - c), j);
                }
            }
        }
        queue.Dispose();
    }

    /// <summary>
    /// First-in first-out queues of pixel indices, one per level, in blocks of one pooled buffer: each pixel enters
    /// once, so the blocks never outnumber pixels / block + levels.
    /// </summary>
    private struct BucketQueue : IDisposable
    {
        private const int Block = 512;
        private readonly int[] items, nextBlock, head, headPos, tail, tailPos;
        private int free;

        public BucketQueue(int pixels, int levels)
        {
            int blocks = pixels / Block + levels + 1;
            items = ArrayPool<int>.Shared.Rent(blocks * Block);
            nextBlock = ArrayPool<int>.Shared.Rent(blocks);
            head = ArrayPool<int>.Shared.Rent(levels);
            headPos = ArrayPool<int>.Shared.Rent(levels);
            tail = ArrayPool<int>.Shared.Rent(levels);
            tailPos = ArrayPool<int>.Shared.Rent(levels);
            Array.Fill(head, -1, 0, levels);
            Array.Fill(tail, -1, 0, levels);
        }

        public void Push(int level, int pixel)
        {
            int b = tail[level];
            if (b < 0 || tailPos[level] == Block)
            {
                int nb = free++;
                nextBlock[nb] = -1;
                if (b < 0)
                {
                    head[level] = nb;
                    headPos[level] = 0;
                }
                else
                    nextBlock[b] = nb;
                tail[level] = b = nb;
                tailPos[level] = 0;
            }
            items[b * Block + tailPos[level]++] = pixel;
        }

        public bool TryPop(int level, out int pixel)
        {
            int b = head[level];
            if (b < 0 || (b == tail[level] && headPos[level] == tailPos[level]))
            {
                pixel = 0;
                return false;
            }
            if (headPos[level] == Block)
            {
                head[level] = b = nextBlock[b];
                headPos[level] = 0;
            }
            pixel = items[b * Block + headPos[level]++];
            return true;
        }

        public readonly void Dispose()
        {
            ArrayPool<int>.Shared.Return(items);
            ArrayPool<int>.Shared.Return(nextBlock);
            ArrayPool<int>.Shared.Return(head);
            ArrayPool<int>.Shared.Return(headPos);
            ArrayPool<int>.Shared.Return(tail);
            ArrayPool<int>.Shared.Return(tailPos);
        }
    }

    /// <summary>
    /// Pale lines belong to no fibre; of the rest of what a seed flooded, the fibre is the part connected to the seed
    /// (4-connected), so interstitial cells beyond a pale gap do not join it.
    /// </summary>
    private static int[] KeepSeedConnected(int[] flooded, int[] seeds, bool[]? pale, byte[] sides, int w)
    {
        // In place: a pixel kept for fibre l becomes Kept + l (no label reaches Kept), which no flooded label equals.
        int n = flooded.Length;
        var queue = ArrayPool<int>.Shared.Rent(n); // each pixel enters once
        int head = 0, tail = 0;
        for (int i = 0; i < n; i++)
            if (seeds[i] > 0 && (pale is null || !pale[i]))
            {
                flooded[i] = Kept + seeds[i];
                queue[tail++] = i;
            }
        while (head < tail)
        {
            int i = queue[head++], l = flooded[i] - Kept, sd = sides[i], j;
            if ((sd & Left) != 0 && flooded[j = i - 1] == l && (pale is null || !pale[j]))
            {
                flooded[j] = Kept + l;
                queue[tail++] = j;
            }
            if ((sd & Right) != 0 && flooded[j = i + 1] == l && (pale is null || !pale[j]))
            {
                flooded[j] = Kept + l;
                queue[tail++] = j;
            }
            if ((sd & Up) != 0 && flooded[j = i - w] == l && (pale is null || !pale[j]))
            {
                flooded[j] = Kept + l;
                queue[tail++] = j;
            }
            if ((sd & Down) != 0 && flooded[j = i + w] == l && (pale is null || !pale[j]))
            {
                flooded[j] = Kept + l;
                queue[tail++] = j;
            }
        }
        ArrayPool<int>.Shared.Return(queue);
        for (int i = 0; i < n; i++)
        {
            int v = flooded[i];
            flooded[i] = v > Kept ? v - Kept : 0;
        }
        return flooded;
    }

    private const int Kept = 1 << 30;

    private const byte Left = 1, Right = 2, Up = 4, Down = 8;

    /// <summary>Which 4-neighbours each pixel has (queue-driven passes then need no division to find x and y).</summary>
    private static byte[] Sides(int w, int h)
    {
        var sides = new byte[w * h];
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
                sides[i] = (byte)((x > 0 ? Left : 0) | (x < w - 1 ? Right : 0) | (y > 0 ? Up : 0) | (y < h - 1 ? Down : 0));
        return sides;
    }

    /// <summary>
    /// The borders between the flooded basins (before pale lines are taken out), per pair of seeds: how many
    /// 4-neighbour pixel pairs the two basins share, and how many of them lie on a line. Flooding meets in the middle
    /// of a line, so a border that a line separates is on a line along its whole length, pale or dark, and a cut
    /// through a waist with no line under it is not.
    /// </summary>
    private static Dictionary<long, (int All, int Line)> FloodBorders(int[] flooded, bool[] line, int w, int h)
    {
        // Keyed by the pair (a < b) packed in a long; enumerated in insertion order.
        var border = new Dictionary<long, (int All, int Line)>();
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int a = flooded[i];
                if (a <= 0)
                    continue;
                if (x < w - 1)
                    Count(border, a, flooded[i + 1], line[i] || line[i + 1]);
                if (y < h - 1)
                    Count(border, a, flooded[i + w], line[i] || line[i + w]);
            }
        return border;

        static void Count(Dictionary<long, (int All, int Line)> border, int a, int b, bool onLine)
        {
            if (b <= 0 || b == a)
                return;
            long key = a < b ? (long)a << 32 | (uint)b : (long)b << 32 | (uint)a;
            ref var c = ref CollectionsMarshal.GetValueRefOrAddDefault(border, key, out _);
            c = (c.All + 1, c.Line + (onLine ? 1 : 0));
        }
    }

    /// <summary>
    /// The distance map cuts a fibre in two where its outline has a waist; a cut that no line supports is undone
    /// when the two halves together are as convex as a fibre. Two fibres are merged when fewer than
    /// <see cref="MinCutSupport"/> of their flooded border (<see cref="FloodBorders"/>) lies on a line and the union's
    /// solidity is at least <see cref="MergedSolidity"/>; relabels <paramref name="fibre"/> and
    /// <paramref name="seeds"/> in place.
    /// </summary>
    private static void MergeUnsupportedCuts(int[] fibre, int[] seeds, int count, Dictionary<long, (int All, int Line)> border, int w, int h)
    {
        int n = fibre.Length;
        var (area, points) = AreasAndOutlines(fibre, count, w, h);
        if (border.Count == 0)
            return;
        var hulls = new Point[]?[count + 1];
        Point[] Hull(int l) => hulls[l] ??= points[l] is { Count: >= 3 } p ? Cv2.ConvexHull(p) : points[l]?.ToArray() ?? [];
        var root = Enumerable.Range(0, count + 1).ToArray();
        int Find(int l) => root[l] == l ? l : root[l] = Find(root[l]);
        foreach (var (key, c) in border.OrderBy(kv => (double)kv.Value.Line / kv.Value.All))
        {
            int a = (int)(key >> 32), b = (int)key;
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

    /// <summary>Each label's pixel count and outline pixels (4-neighbours with another label, or the frame).</summary>
    private static (int[] Area, List<Point>?[] Outline) AreasAndOutlines(int[] labels, int count, int w, int h)
    {
        var area = new int[count + 1];
        var outline = new List<Point>?[count + 1];
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int k = labels[i];
                if (k <= 0)
                    continue;
                area[k]++;
                if (x == 0 || y == 0 || x == w - 1 || y == h - 1
                    || labels[i - 1] != k || labels[i + 1] != k || labels[i - w] != k || labels[i + w] != k)
                    (outline[k] ??= []).Add(new Point(x, y));
            }
        return (area, outline);
    }

    /// <summary>Each pixel's distance to the nearest line pixel or pixel outside <paramref name="within"/> (0 there).</summary>
    private static float[] DistanceToLines(bool[] within, bool[] line, int w, int h)
    {
        int n = w * h;
        using var open = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var o = Span8(open, n);
        for (int i = 0; i < n; i++)
            if (within[i] && !line[i])
                o[i] = 255;
        using var distMat = new Mat();
        Cv2.DistanceTransform(open, distMat, DistanceTypes.L2, DistanceTransformMasks.Precise);
        return SpanF(distMat, n).ToArray();
    }

    /// <summary>
    /// A fibre much larger than the region's typical one (over OversizeFactor × the median area) is often two or more
    /// touching fibres whose boundary was too faint for the line tests. Inside it alone the lines are looked for again
    /// with the curvature thresholds × FaintSplitFactor, but no lower than TextureFloor × the fibres' own texture (a
    /// lower threshold over the whole region, or into the texture, cuts fibres along their noise), re-seeded on the
    /// distance to those lines (the same dynamic rule as <see cref="Seeds"/>) and flooded; parts under a quarter of
    /// the typical area join the neighbour they share most border with. The split is kept when at least two parts are
    /// left, each at least PartSolidity solid, and at least MinCutSupport of the border between them lies on the
    /// faint lines (two fibres side by side make a convex union, so convexity is not asked of it). Size only decides
    /// where to look twice; the image decides where to cut. New parts are labelled after <paramref name="count"/>;
    /// returns the new count.
    /// </summary>
    private int SplitOversized(int[] fibre, int count, Mat odSmooth, float[] counter, float counterGap, bool[] tissue, float median, float texture, int w, int h, double px)
    {
        int n = fibre.Length;
        var (area, sizes) = FibreSizes(fibre, count, px);
        if (sizes.Count < 5)
            return count;
        double typical = sizes[sizes.Count / 2];
        if (!area.Any(a => a > OversizeFactor * typical))
            return count;
        // Bounding boxes of the oversized fibres only (most regions have none, or a few).
        var box = new (int X0, int Y0, int X1, int Y1)[count + 1];
        for (int l = 1; l <= count; l++)
            box[l] = (w, h, -1, -1);
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int l = fibre[i];
                if (l <= 0 || area[l] <= OversizeFactor * typical)
                    continue;
                var b = box[l];
                box[l] = (Math.Min(b.X0, x), Math.Min(b.Y0, y), Math.Max(b.X1, x), Math.Max(b.Y1, y));
            }
        // Lowered, but not into the texture: a curvature the fibres' own texture reaches as often as not is no line.
        double floor = TextureFloor * texture;
        var faint = new FibreDetector(settings with
        {
            RidgeCurvature = Math.Min(settings.RidgeCurvature, Math.Max(floor, settings.RidgeCurvature * settings.FaintSplitFactor)),
            ValleyCurvature = Math.Min(settings.ValleyCurvature, Math.Max(floor, settings.ValleyCurvature * settings.FaintSplitFactor)),
        }, weak, score);
        int margin = 2 * Math.Max(1, (int)Math.Round(Math.Max(settings.LineMicrons, settings.DarkLineMicrons) / px)) + 2;
        for (int l = 1, last = count; l <= last; l++)
        {
            if (area[l] <= OversizeFactor * typical)
                continue;
            var (bx0, by0, bx1, by1) = box[l];
            int x0 = Math.Max(0, bx0 - margin), y0 = Math.Max(0, by0 - margin);
            int cw = Math.Min(w, bx1 + margin + 1) - x0, ch = Math.Min(h, by1 + margin + 1) - y0, cn = cw * ch;
            using var crop = odSmooth[new Rect(x0, y0, cw, ch)].Clone();
            var ctissue = new bool[cn];
            var inside = new bool[cn];
            var ccounter = new float[cn];
            for (int y = 0; y < ch; y++)
                for (int x = 0; x < cw; x++)
                {
                    int i = (y + y0) * w + x + x0;
                    ctissue[y * cw + x] = tissue[i];
                    inside[y * cw + x] = fibre[i] == l;
                    ccounter[y * cw + x] = counter[i];
                }
            var split = faint.SplitInside(crop, ctissue, inside, ccounter, counterGap, median, px, typical, cw, ch);
            if (split is not { } found)
                continue;
            var (parts, partCount) = found;
            var partArea = new int[partCount + 1];
            foreach (int k in parts)
                if (k > 0)
                    partArea[k]++;
            var relabel = new int[partCount + 1];
            for (int k = 1; k <= partCount; k++)
                if (partArea[k] > 0)
                    relabel[k] = relabel.Contains(l) ? ++count : l;
            for (int y = 0; y < ch; y++)
                for (int x = 0; x < cw; x++)
                {
                    int c = y * cw + x;
                    if (inside[c])
                        fibre[(y + y0) * w + x + x0] = parts[c] > 0 ? relabel[parts[c]] : 0;
                }
        }
        return count;
    }

    /// <summary>
    /// Two fibres joined where no line between them was seen make one outline with a waist: two concavities facing
    /// each other. A fibre over NeckMinArea × the region's median fibre area, less than NeckMinSolidity convex (its
    /// pixel count over the area of its outline's hull), whose two deepest concavities (convexity defects of at least
    /// NeckMinDepthMicrons) lie closer than `neck_ratio` × their summed depths, is cut between them along the path of
    /// the strongest tone step (<see cref="ToneStepPath"/>) when the OD gradient along that path is at least
    /// NeckEvidence × the fibre's median gradient, and both parts hold NeckMinPart of the median area and are
    /// NeckPartSolidity solid. A straight cut between the concavities cut single fibres of the real sections across
    /// (he-muscle-01's median minimal Feret −7%); the path follows the edge between two fibres of different density,
    /// and a single fibre has none. New parts are labelled after <paramref name="count"/>; returns the new count.
    /// </summary>
    private int SplitAtNecks(int[] fibre, int count, Span<float> od, int w, int h, double px)
    {
        var area = new int[count + 1];
        var box = EmptyBoxes(count + 1);
        // Row runs of one label update its area and box once per run.
        for (int y = 0; y < h; y++)
            for (int x = 0, i = y * w; x < w;)
            {
                int l = fibre[i];
                int start = x;
                while (x < w && fibre[i] == l)
                {
                    x++;
                    i++;
                }
                if (l <= 0)
                    continue;
                area[l] += x - start;
                var b = box[l];
                box[l] = (Math.Min(b.Item1, start), Math.Min(b.Item2, y), Math.Max(b.Item3, x - 1), Math.Max(b.Item4, y));
            }
        int minPixels = (int)Math.Ceiling(settings.MinAreaMicrons2 / (px * px));
        var sizes = area.Skip(1).Where(a => a >= minPixels).Order().ToList();
        if (sizes.Count < 5)
            return count;
        double typical = sizes[sizes.Count / 2];
        double minDepth = NeckMinDepthMicrons / px;
        var edge = new List<Point>();
        var scratch = new int[64];
        for (int l = 1, last = count; l <= last; l++)
        {
            if (area[l] < NeckMinArea * typical)
                continue;
            var (bx0, by0, bx1, by1) = box[l];
            // Most fibres are convex: screened on the hull of their edge pixels, the same hull as the contour's below
            // (the contour runs through the edge pixels' centres), without OpenCV's calls and copies per fibre.
            edge.Clear();
            for (int y = by0; y <= by1; y++)
                for (int x = bx0, i = y * w + bx0; x <= bx1; x++, i++)
                    if (fibre[i] == l && (x == 0 || y == 0 || x == w - 1 || y == h - 1
                        || fibre[i - 1] != l || fibre[i + 1] != l || fibre[i - w] != l || fibre[i + w] != l))
                        edge.Add(new Point(x, y));
            if (scratch.Length < edge.Count + 2)
                scratch = new int[2 * edge.Count + 2];
            if (edge.Count < 3 || area[l] >= NeckMinSolidity * Hull(CollectionsMarshal.AsSpan(edge), scratch).Area)
                continue;
            int x0 = Math.Max(0, bx0 - 1), y0 = Math.Max(0, by0 - 1);
            int cw = Math.Min(w, bx1 + 2) - x0, ch = Math.Min(h, by1 + 2) - y0;
            using var mask = new Mat(ch, cw, MatType.CV_8UC1, Scalar.All(0));
            var m = Span8(mask, cw * ch);
            for (int y = 0; y < ch; y++)
                for (int x = 0; x < cw; x++)
                    if (fibre[(y + y0) * w + x + x0] == l)
                        m[y * cw + x] = 255;
            Cv2.FindContours(mask, out Point[][] contours, out _, RetrievalModes.External, ContourApproximationModes.ApproxNone);
            if (contours.Length != 1 || contours[0].Length < 8)
                continue;
            var contour = contours[0];
            double hullArea = Cv2.ContourArea(Cv2.ConvexHull(contour));
            if (hullArea <= 0 || area[l] / hullArea >= NeckMinSolidity)
                continue;
            Vec4i[] defects;
            try
            {
                defects = Cv2.ConvexityDefects(contour, Cv2.ConvexHullIndices(contour));
            }
            catch (OpenCVException)
            {
                continue; // a self-touching outline OpenCV refuses: no neck to cut
            }
            var deep = defects.Select(d => (Point: contour[d.Item2], Depth: d.Item3 / 256.0)).Where(d => d.Depth >= minDepth)
                .OrderByDescending(d => d.Depth).Take(2).ToList();
            if (deep.Count < 2)
                continue;
            double dx = deep[0].Point.X - deep[1].Point.X, dy = deep[0].Point.Y - deep[1].Point.Y;
            if (Math.Sqrt(dx * dx + dy * dy) >= settings.NeckRatio * (deep[0].Depth + deep[1].Depth))
                continue;
            var path = ToneStepPath(m, od, w, x0, y0, cw, ch, deep[0].Point, deep[1].Point, out double evidence);
            if (path.Count == 0 || evidence < NeckEvidence)
                continue;
            using var cut = mask.Clone();
            var c8 = Span8(cut, cw * ch);
            foreach (int c in path)
                c8[c] = 0;
            using var parts = new Mat();
            if (Cv2.ConnectedComponents(cut, parts, PixelConnectivity.Connectivity4, MatType.CV_32S) != 3)
                continue;
            var pl = Span32(parts, cw * ch);
            var pixels = new List<Point>[] { [], [], [] };
            for (int y = 0; y < ch; y++)
                for (int x = 0; x < cw; x++)
                    if (pl[y * cw + x] > 0)
                        pixels[pl[y * cw + x]].Add(new Point(x, y));
            if (!pixels.Skip(1).All(p => p.Count >= NeckMinPart * typical && Solidity(p.Count, p) >= NeckPartSolidity))
                continue;
            int fresh = ++count;
            for (int y = 0; y < ch; y++)
                for (int x = 0; x < cw; x++)
                {
                    int i = (y + y0) * w + x + x0, c = y * cw + x;
                    if (fibre[i] != l)
                        continue;
                    // The path's own pixels go to the part beside them (left, else above, else the first).
                    int q = pl[c];
                    if (q == 0)
                        q = x > 0 && pl[c - 1] > 0 ? pl[c - 1] : y > 0 && pl[c - cw] > 0 ? pl[c - cw] : 1;
                    if (q == 2)
                        fibre[i] = fresh;
                }
        }
        return count;
    }

    private static double SegmentDistance2(int x, int y, Point a, Point b)
    {
        double dx = b.X - a.X, dy = b.Y - a.Y, len2 = dx * dx + dy * dy;
        double t = len2 > 0 ? Math.Clamp(((x - a.X) * dx + (y - a.Y) * dy) / len2, 0, 1) : 0;
        double px = a.X + t * dx - x, py = a.Y + t * dy - y;
        return px * px + py * py;
    }

    private const double NeckMinArea = 1.2, NeckMinSolidity = 0.97, NeckMinDepthMicrons = 2, NeckEvidence = 3;
    private const double NeckMinPart = 0.25, NeckPartSolidity = 0.85;

    /// <summary>
    /// The path between two outline points through a fibre (<paramref name="inside"/>, crop indices) that follows the
    /// strongest tone step: Dijkstra over 8-neighbours with a step cost of 0.05 + (1 − gradient / the fibre's 99th
    /// percentile gradient), the gradient being that of the OD by central differences. <paramref name="evidence"/>:
    /// the mean gradient along the path over the fibre's median gradient. Written here because OpenCV has no
    /// shortest path on a grid; the crop is one fibre's box, so the search is small.
    /// </summary>
    private static List<int> ToneStepPath(ReadOnlySpan<byte> inside, Span<float> od, int w, int x0, int y0, int cw, int ch, Point a, Point b, out double evidence)
    {
        int cn = cw * ch, rows = od.Length / w;
        var g = new float[cn];
        var gs = new List<float>();
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++)
            {
                int X = x + x0, Y = y + y0, c = y * cw + x;
                float gx = od[Y * w + Math.Min(w - 1, X + 1)] - od[Y * w + Math.Max(0, X - 1)];
                float gy = od[Math.Min(rows - 1, Y + 1) * w + X] - od[Math.Max(0, Y - 1) * w + X];
                g[c] = MathF.Sqrt(gx * gx + gy * gy);
                if (inside[c] != 0)
                    gs.Add(g[c]);
            }
        evidence = 0;
        var path = new List<int>();
        if (gs.Count == 0)
            return path;
        gs.Sort();
        float median = gs[gs.Count / 2], top = Math.Max(1e-6f, gs[(int)(gs.Count * 0.99)]);
        var dist = new double[cn];
        var prev = new int[cn];
        Array.Fill(dist, double.MaxValue);
        Array.Fill(prev, -1);
        var queue = new PriorityQueue<int, double>();
        int from = a.Y * cw + a.X, to = b.Y * cw + b.X;
        // The search keeps to a corridor around the chord between the concavities, as wide as half the chord on each
        // side: the boundary between two fibres joined at a waist runs across the waist.
        double chord2 = (double)(b.X - a.X) * (b.X - a.X) + (double)(b.Y - a.Y) * (b.Y - a.Y);
        double corridor2 = Math.Max(16, chord2 / 4);
        dist[from] = 0;
        queue.Enqueue(from, 0);
        while (queue.TryDequeue(out int c, out double dc))
        {
            if (dc > dist[c])
                continue;
            if (c == to)
                break;
            int cy = c / cw, cx = c - cy * cw;
            for (int ny = Math.Max(0, cy - 1); ny <= Math.Min(ch - 1, cy + 1); ny++)
                for (int nx = Math.Max(0, cx - 1); nx <= Math.Min(cw - 1, cx + 1); nx++)
                {
                    int nc = ny * cw + nx;
                    if (nc == c || inside[nc] == 0 || SegmentDistance2(nx, ny, a, b) > corridor2)
                        continue;
                    double step = (nx != cx && ny != cy ? Math.Sqrt(2) : 1) * (0.05 + Math.Max(0, 1 - g[nc] / top));
                    if (dc + step < dist[nc])
                    {
                        dist[nc] = dc + step;
                        prev[nc] = c;
                        queue.Enqueue(nc, dist[nc]);
                    }
                }
        }
        if (prev[to] < 0)
            return path;
        double sum = 0;
        for (int c = to; c >= 0; c = prev[c])
        {
            path.Add(c);
            sum += g[c];
        }
        evidence = sum / path.Count / Math.Max(1e-6f, median);
        return path;
    }

    /// <summary>
    /// The split of one oversized fibre (<paramref name="inside"/>, in a crop with its surroundings) along the faint
    /// lines: the parts (1..count over the crop, 0 elsewhere) when at least two plausible ones are left, else null.
    /// </summary>
    private (int[] Parts, int Count)? SplitInside(Mat crop, bool[] ctissue, bool[] inside, float[] ccounter, float counterGap, float median,
        double px, double typical, int cw, int ch)
    {
        int cn = cw * ch;
        var (line, _, _, _) = Lines(crop, SpanF(crop, cn), ctissue, median, px, ccounter, counterGap);
        var dist = DistanceToLines(inside, line, cw, ch);
        var (parts, partCount) = Seeds(dist, cw, ch, px);
        if (partCount < 2)
            return null;
        Flood(parts, dist, line, new bool[cn], inside, Sides(cw, ch), cw);
        MergeSmallParts(parts, partCount, cn, cw, ch, 0.25 * typical);
        var (partArea, outline) = AreasAndOutlines(parts, partCount, cw, ch);
        // Parts left after small ones joined their neighbours: each a fibre's shape, and the cut between them on
        // the faint lines for at least MinCutSupport of its length (a cut the flood made across a fibre without a
        // line under it is not a boundary).
        int left = 0;
        for (int k = 1; k <= partCount; k++)
        {
            if (partArea[k] == 0)
                continue;
            left++;
            // A part with a tail is as plausible as the fibre Score's tail trimming makes of it.
            if (Solidity(partArea[k], outline[k]) < PartSolidity
                && !(outline[k] is { Count: >= 3 } o && TailPixels(parts, k, partArea[k], Cv2.BoundingRect(o), cw, PartSolidity) is not null))
                return null;
        }
        int cut = 0, onLine = 0;
        for (int y = 0, i = 0; y < ch; y++)
            for (int x = 0; x < cw; x++, i++)
            {
                int k = parts[i];
                if (k <= 0)
                    continue;
                if (x < cw - 1 && parts[i + 1] > 0 && parts[i + 1] != k)
                {
                    cut++;
                    onLine += line[i] || line[i + 1] ? 1 : 0;
                }
                if (y < ch - 1 && parts[i + cw] > 0 && parts[i + cw] != k)
                {
                    cut++;
                    onLine += line[i] || line[i + cw] ? 1 : 0;
                }
            }
        return left >= 2 && onLine >= MinCutSupport * cut ? (parts, partCount) : null;
    }

    /// <summary>
    /// Parts smaller than <paramref name="minPixels"/> join the part they share the longest border with (4-neighbours),
    /// smallest first: a dent or a nucleus in one fibre seeds a sliver, not a fibre. Relabels in place.
    /// </summary>
    private static void MergeSmallParts(int[] parts, int count, int n, int w, int h, double minPixels)
    {
        var area = new int[count + 1];
        for (int i = 0; i < n; i++)
            if (parts[i] > 0)
                area[parts[i]]++;
        foreach (int k in Enumerable.Range(1, count).OrderBy(k => area[k]).ToList())
        {
            if (area[k] == 0 || area[k] >= minPixels)
                continue;
            var shared = new Dictionary<int, int>();
            for (int y = 0, i = 0; y < h; y++)
                for (int x = 0; x < w; x++, i++)
                {
                    if (parts[i] != k)
                        continue;
                    foreach (var (ok, j) in ((bool, int)[])[(x > 0, i - 1), (x < w - 1, i + 1), (y > 0, i - w), (y < h - 1, i + w)])
                        if (ok && parts[j] > 0 && parts[j] != k)
                            shared[parts[j]] = shared.GetValueOrDefault(parts[j]) + 1;
                }
            if (shared.Count == 0)
                continue;
            int into = shared.MaxBy(kv => kv.Value).Key;
            for (int i = 0; i < n; i++)
                if (parts[i] == k)
                    parts[i] = into;
            area[into] += area[k];
            area[k] = 0;
        }
    }

    // A fibre this many times the median area is looked at twice (see SplitOversized).
    private const double OversizeFactor = 1.8;
    // The lowered curvature thresholds stay at least this many times the fibres' texture (Texture): at 1× the
    // generated slides' big fibres were cut along their noise (fibre tests with varied sizes failed), at 2× the
    // re-stained sections lost what the second look found.
    private const double TextureFloor = 1.5;
    // A part's outline follows a faint, ragged line: a little less solid than a fibre found whole (0.8 dropped the
    // lower half of two merged fibres on the re-stained he-muscle-01 at 0.79-0.80).
    private const double PartSolidity = 0.75;

    // Pixels inside a hull through pixel centres ≈ its area + half its perimeter + 1 (Pick's theorem).
    private static double Solidity(int area, List<Point>? outline)
    {
        if (outline is not { Count: >= 3 })
            return 1;
        var hull = Cv2.ConvexHull(outline);
        return Math.Min(1, area / (Cv2.ContourArea(hull) + Cv2.ArcLength(hull, true) / 2 + 1));
    }

    /// <summary>
    /// A fibre is one tissue of one level; where the flood ran on into loose interstitium (paler, but not pale enough
    /// to be a line) those pixels sit well below the fibre's own median OD. They are taken out (seed pixels never);
    /// Tidy then fills what was pale inside the fibre (a vacuole, a crack) and keeps the part connected to the seed.
    /// </summary>
    private static void TrimToOwnLevel(int[] fibre, int[] seeds, Span<float> od, int count, float fraction, float median)
    {
        var (level, _) = Levels(fibre, od, count, median, 1);
        for (int i = 0; i < fibre.Length; i++)
        {
            int k = fibre[i];
            if (k > 0 && seeds[i] == 0 && od[i] < fraction * level[k])
                fibre[i] = 0;
        }
    }

    /// <summary>
    /// Each fibre's median OD (its level) and size, over every <paramref name="stride"/>-th pixel. From a histogram of
    /// Bins bins over [0, 4 × the region's median): one pass, no sort (sorting every fibre's pixels cost a quarter of
    /// the fibre pass); a bin is 1/64 of the median wide.
    /// </summary>
    private static (float[] Level, int[] Size) Levels(int[] fibre, Span<float> od, int count, float median, int stride)
    {
        int n = fibre.Length;
        float scale = Bins / (4 * median);
        var hist = ArrayPool<int>.Shared.Rent((count + 1) * Bins);
        Array.Clear(hist, 0, (count + 1) * Bins);
        var size = new int[count + 1];
        for (int i = 0; i < n; i += stride)
        {
            int k = fibre[i];
            if (k <= 0)
                continue;
            size[k]++;
            hist[k * Bins + Math.Clamp((int)(od[i] * scale), 0, Bins - 1)]++;
        }
        var level = new float[count + 1];
        for (int k = 1; k <= count; k++)
        {
            int half = size[k] / 2, seen = 0, b = 0;
            for (; b < Bins - 1; b++)
            {
                seen += hist[k * Bins + b];
                if (seen > half)
                    break;
            }
            level[k] = (b + 0.5f) / scale;
        }
        ArrayPool<int>.Shared.Return(hist);
        return (level, size);
    }

    /// <summary>
    /// A small region well below the fibres' level is loose interstitium (or a junction's gap) that the flood filled
    /// as one piece, not a fibre: under half the typical fibre area and under PaleRegionFraction of a pale fibre's
    /// level (the lower quartile of the fibre levels, so that on an IHC slide with many diffusely stained fibres the
    /// reference is still an unstained one). Real fibres on the two H&amp;E sections all lie at 0.86 of the median level
    /// or more, interstitial pieces at 0.52–0.57 (and one at 0.76). Removed in place.
    /// </summary>
    private void DropPaleRegions(int[] fibre, Span<float> od, int count, float median, double px)
    {
        // A level and a size compared with other fibres' need not count every pixel.
        const int stride = 4;
        var (level, size) = Levels(fibre, od, count, median, stride);
        int minPixels = (int)Math.Ceiling(settings.MinAreaMicrons2 / (px * px) / stride);
        var fibres = Enumerable.Range(1, count).Where(k => size[k] >= minPixels).ToList();
        if (fibres.Count < 5)
            return;
        float pale = PaleRegionFraction * fibres.Select(k => level[k]).Order().ElementAt(fibres.Count / 4);
        int small = fibres.Select(k => size[k]).Order().ElementAt(fibres.Count / 2) / 2;
        var drop = new bool[count + 1];
        for (int k = 1; k <= count; k++)
            drop[k] = size[k] < small && level[k] < pale;
        for (int i = 0; i < fibre.Length; i++)
            if (fibre[i] > 0 && drop[fibre[i]])
                fibre[i] = 0;
    }

    private const float PaleRegionFraction = 0.75f;

    /// <summary>Each region's pixel count, and the counts of those of at least MinAreaMicrons2, in order.</summary>
    private (int[] Area, List<int> Sizes) FibreSizes(int[] fibre, int count, double px)
    {
        var area = new int[count + 1];
        foreach (int k in fibre)
            if (k > 0)
                area[k]++;
        int minPixels = (int)Math.Ceiling(settings.MinAreaMicrons2 / (px * px));
        return (area, area.Skip(1).Where(a => a >= minPixels).Order().ToList());
    }

    /// <summary>
    /// Where the fibres come at two levels (ATPase and SDH stain the fibre types dark and light) and the dark ones
    /// predominate, the light ones lie under half the median OD, the pale cut of Lines meant for interstitium, and are
    /// lost as lines. They stand out from the real interstitium, though: among the clearly pale pixels outside every
    /// fibre, those at LightFibreContrast × the interstitium's level (the 20th percentile of those pixels) or more,
    /// opened by a 2 µm disk, that form a solid piece (MinSolidity) of at least a quarter of the median fibre's area,
    /// are fibres too. Loose interstitium is ragged or thin, and on H&amp;E and IHC as pale as the rest of the clear
    /// pixels; the real sections, their MHC class I re-stainings and the generated sections keep every fibre as it
    /// was. Returns the new count.
    /// </summary>
    private int AddLightFibres(int[] fibre, int count, Span<float> od, bool[] pale, bool[] tissue, int w, int h, double px)
    {
        int n = fibre.Length;
        // Every 7th pixel is plenty for a percentile (as for the median).
        var clear = new List<float>();
        for (int i = 0; i < n; i += 7)
            if (pale[i] && tissue[i] && fibre[i] <= 0 && !float.IsNaN(od[i]))
                clear.Add(od[i]);
        var (_, sizes) = FibreSizes(fibre, count, px);
        if (clear.Count < 50 || sizes.Count < 5)
            return count;
        float inter = Select(CollectionsMarshal.AsSpan(clear), clear.Count / 5);
        float floorOd = LightFibreContrast * Math.Max(inter, MinInterstitiumOd);
        using var cand = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var c = Span8(cand, n);
        for (int i = 0; i < n; i++)
            if (pale[i] && tissue[i] && fibre[i] <= 0 && od[i] >= floorOd)
                c[i] = 255;
        int r = Math.Max(1, (int)Math.Round(LightFibreOpeningMicrons / px));
        using (var disk = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * r + 1, 2 * r + 1)))
            Cv2.MorphologyEx(cand, cand, MorphTypes.Open, disk);
        using var lab = new Mat();
        using var stats = new Mat();
        using var cent = new Mat();
        int k = Cv2.ConnectedComponentsWithStats(cand, lab, stats, cent, PixelConnectivity.Connectivity4, MatType.CV_32S);
        int minArea = Math.Max((int)Math.Ceiling(settings.MinAreaMicrons2 / (px * px)), (int)(LightFibreMinShare * sizes[sizes.Count / 2]));
        var pts = new List<Point>?[k];
        for (int j = 1; j < k; j++)
            if (stats.Get<int>(j, (int)ConnectedComponentsTypes.Area) >= minArea)
                pts[j] = new List<Point>();
        var l32 = Span32(lab, n);
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
                if (l32[i] > 0 && pts[l32[i]] is { } list)
                    list.Add(new Point(x, y));
        var newLabel = new int[k];
        for (int j = 1; j < k; j++)
        {
            if (pts[j] is not { } list)
                continue;
            var hull = Cv2.ConvexHull(list);
            double hullPixels = Cv2.ContourArea(hull) + Cv2.ArcLength(hull, true) / 2 + 1;
            if (list.Count / hullPixels >= settings.MinSolidity)
                newLabel[j] = ++count;
        }
        for (int i = 0; i < n; i++)
            if (l32[i] > 0 && newLabel[l32[i]] > 0)
                fibre[i] = newLabel[l32[i]];
        return count;
    }

    // On the ATPase-like re-stainings with 20% type I fibres, 2 found one light fibre fewer on each section, 2.5 five
    // and three fewer (the light fibres there are 1.5–3 × the interstitium).
    private const float LightFibreContrast = 1.5f;
    // Glass-white gaps read about 0; the light fibres must stand out from stained interstitium, not from glass.
    private const float MinInterstitiumOd = 0.02f;
    private const double LightFibreOpeningMicrons = 2;
    private const double LightFibreMinShare = 0.25;

    private const int Bins = 256;

    /// <summary>
    /// Smooths the fibres: holes enclosed by one fibre (a vacuole, a pale speck) become part of it, then an opening by
    /// a disk of SmoothMicrons takes off thin attachments (interstitial cells touching a fibre, a ragged edge), and each
    /// fibre again keeps the part connected to its seed.
    /// </summary>
    // Of a hole's border contacts with fibres, the share one fibre must hold to own it: a point or two on a
    // neighbour (48 of 49 for the JPEG-broken ring of he-muscle-02's fibre 25) is noise; 0.9 moved the re-stained
    // sections' medians with no fibre more matched.
    private const double HoleOwnerShare = 0.95;

    private int[] Tidy(int[] fibre, int[] seeds, byte[] sides, int w, int h, double px)
    {
        int n = fibre.Length;
        using var empty = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var e = Span8(empty, n);
        for (int i = 0; i < n; i++)
            if (fibre[i] == 0)
                e[i] = 255;
        using var holes = new Mat();
        using var holeStats = new Mat();
        using var holeCentroids = new Mat();
        int count = Cv2.ConnectedComponentsWithStats(empty, holes, holeStats, holeCentroids, PixelConnectivity.Connectivity4, MatType.CV_32S);
        var hl = Span32(holes, n);
        var hs = StatsOf(holeStats, count);
        var owner = new int[count]; // 0 unknown, Open (touches the frame), Shared (two fibres), else the one fibre around it
        const int Open = -1, Shared = -2;
        bool anyShared = false;
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int k = hl[i];
                if (k == 0 || owner[k] == Open)
                    continue;
                if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
                {
                    owner[k] = Open;
                    continue;
                }
                if (owner[k] == Shared)
                    continue;
                foreach (int j in (ReadOnlySpan<int>)[i - 1, i + 1, i - w, i + w])
                {
                    int l = fibre[j];
                    if (l == 0)
                        continue;
                    if (owner[k] == 0)
                        owner[k] = l;
                    else if (owner[k] != l)
                    {
                        owner[k] = Shared;
                        anyShared = true;
                        break;
                    }
                }
            }
        if (anyShared)
        {
            // A hole that touches a second fibre at a point or two is still its fibre's: a ring broken by noise (a
            // JPEG block, a speck) lets the pale interior of a small ring fibre touch its neighbour. The hole goes to
            // the fibre that holds nearly all of its border.
            // The interstitial network between fibres is one large shared hole: only holes a fibre could hold count,
            // each visited in its own bounding box (a shared hole never touches the frame).
            double most = settings.MaxAreaMicrons2 / (px * px);
            var contact = new Dictionary<long, int>();
            for (int k = 1; k < count; k++)
            {
                if (owner[k] != Shared || Stat(hs, k, ConnectedComponentsTypes.Area) > most)
                    continue;
                int x0 = Stat(hs, k, ConnectedComponentsTypes.Left), y0 = Stat(hs, k, ConnectedComponentsTypes.Top);
                int x1 = x0 + Stat(hs, k, ConnectedComponentsTypes.Width), y1 = y0 + Stat(hs, k, ConnectedComponentsTypes.Height);
                for (int y = y0; y < y1; y++)
                    for (int x = x0, i = y * w + x0; x < x1; x++, i++)
                        if (hl[i] == k)
                            foreach (int j in (ReadOnlySpan<int>)[i - 1, i + 1, i - w, i + w])
                                if (fibre[j] > 0)
                                    CollectionsMarshal.GetValueRefOrAddDefault(contact, (long)k << 32 | (uint)fibre[j], out _)++;
            }
            var total = new Dictionary<int, int>();
            var best = new Dictionary<int, (int Label, int Count)>();
            foreach (var (key, c) in contact)
            {
                int k = (int)(key >> 32), l = (int)key;
                total[k] = total.GetValueOrDefault(k) + c;
                if (!best.TryGetValue(k, out var b) || c > b.Count)
                    best[k] = (l, c);
            }
            foreach (var (k, b) in best)
                if (b.Count >= HoleOwnerShare * total[k])
                    owner[k] = b.Label;
        }
        // The holes are where fibre is 0, so the fibres are filled in place.
        var filled = fibre;
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
        Cv2.DistanceTransform(inner, depth, DistanceTypes.L2, DistanceTransformMasks.Mask5);
        var d = SpanF(depth, n);
        using var notEroded = new Mat(h, w, MatType.CV_8UC1, Scalar.All(255));
        var ne = Span8(notEroded, n);
        for (int i = 0; i < n; i++)
            if (d[i] > r - 1)
                ne[i] = 0;
        using var toEroded = new Mat();
        Cv2.DistanceTransform(notEroded, toEroded, DistanceTypes.L2, DistanceTransformMasks.Mask5);
        var te = SpanF(toEroded, n);
        var opened = filled;
        for (int i = 0; i < n; i++)
            if (!(filled[i] > 0 && te[i] <= r))
                opened[i] = 0;
        return KeepSeedConnected(opened, seeds, null, sides, w);
    }

    /// <summary>
    /// The solidity of a fibre from its outline pixels in raster order (sorted by y, then x): area / (hull area + half
    /// its perimeter + 1), capped at 1, the value <see cref="Solidity"/> computes with OpenCV's hull. Andrew's monotone
    /// chain, written here because every fibre of every region is screened before scoring and OpenCV's hull costs a
    /// native call and a copy per fibre. <paramref name="hull"/> is scratch space for at least points + 2 indices.
    /// </summary>
    internal static double HullSolidity(int area, ReadOnlySpan<Point> p, int[] hull)
    {
        if (p.Length < 3)
            return 1;
        var (hullArea, perimeter) = Hull(p, hull);
        return Math.Min(1, area / (hullArea + perimeter / 2 + 1));
    }

    /// <summary>Area and perimeter of the convex hull of points in raster order (HullSolidity's hull).</summary>
    private static (double Area, double Perimeter) Hull(ReadOnlySpan<Point> p, int[] hull)
    {
        int m = p.Length;
        static long Cross(Point o, Point a, Point b) => (long)(a.Y - o.Y) * (b.X - o.X) - (long)(a.X - o.X) * (b.Y - o.Y);
        int t = 0;
        for (int i = 0; i < m; i++)
        {
            while (t >= 2 && Cross(p[hull[t - 2]], p[hull[t - 1]], p[i]) <= 0)
                t--;
            hull[t++] = i;
        }
        for (int i = m - 2, lower = t + 1; i >= 0; i--)
        {
            while (t >= lower && Cross(p[hull[t - 2]], p[hull[t - 1]], p[i]) <= 0)
                t--;
            hull[t++] = i;
        }
        t--; // the first point closes the chain; collinear points leave two, there and back
        double twice = 0, perimeter = 0;
        for (int i = 0; i < t; i++)
        {
            Point a = p[hull[i]], b = p[hull[(i + 1) % t]];
            twice += (double)a.X * b.Y - (double)b.X * a.Y;
            perimeter += Math.Sqrt((double)(b.X - a.X) * (b.X - a.X) + (double)(b.Y - a.Y) * (b.Y - a.Y));
        }
        return (Math.Abs(twice) / 2, perimeter);
    }

    /// <summary>
    /// The pixels of label <paramref name="l"/> that an opening by TailFraction × its equivalent radius takes off, with
    /// every part but the largest; null when the largest part holds under TailKeptArea of the label or is still less
    /// solid than <paramref name="minSolidity"/>.
    /// </summary>
    private static List<int>? TailPixels(int[] labels, int l, int area, Rect b, int w, double minSolidity)
    {
        int h = labels.Length / w;
        int r = (int)Math.Round(TailFraction * Math.Sqrt(area / Math.PI));
        if (r < 1)
            return null;
        int x0 = Math.Max(0, b.X - 1), y0 = Math.Max(0, b.Y - 1);
        int bw = Math.Min(w, b.Right + 1) - x0, bh = Math.Min(h, b.Bottom + 1) - y0, bn = bw * bh;
        using var mask = new Mat(bh, bw, MatType.CV_8UC1, Scalar.All(0));
        var m = Span8(mask, bn);
        for (int y = 0; y < bh; y++)
            for (int x = 0, i = (y + y0) * w + x0; x < bw; x++, i++)
                if (labels[i] == l)
                    m[y * bw + x] = 255;
        using var disk = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * r + 1, 2 * r + 1));
        using var opened = new Mat();
        Cv2.MorphologyEx(mask, opened, MorphTypes.Open, disk, borderType: BorderTypes.Constant, borderValue: Scalar.All(0));
        using var parts = new Mat();
        using var stats = new Mat();
        using var centroids = new Mat();
        int k = Cv2.ConnectedComponentsWithStats(opened, parts, stats, centroids, PixelConnectivity.Connectivity4, MatType.CV_32S);
        if (k <= 1)
            return null;
        var st = StatsOf(stats, k);
        int best = 1;
        for (int c = 2; c < k; c++)
            if (Stat(st, c, ConnectedComponentsTypes.Area) > Stat(st, best, ConnectedComponentsTypes.Area))
                best = c;
        int kept = Stat(st, best, ConnectedComponentsTypes.Area);
        if (kept < TailKeptArea * area)
            return null;
        var pl = Span32(parts, bn);
        var keptLabels = new int[bn];
        for (int i = 0; i < bn; i++)
            keptLabels[i] = pl[i] == best ? 1 : 0;
        var (_, keptOutline) = AreasAndOutlines(keptLabels, 1, bw, bh);
        if (Solidity(kept, keptOutline[1]) < minSolidity)
            return null;
        var tail = new List<int>();
        for (int y = 0; y < bh; y++)
            for (int x = 0, i = (y + y0) * w + x0; x < bw; x++, i++)
                if (labels[i] == l && keptLabels[y * bw + x] == 0)
                    tail.Add(i);
        return tail;
    }

    private const double TailFraction = 0.3, TailKeptArea = 0.7;

    /// <summary>
    /// Where two fibres touch with no pale line between them the flood splits a ring between them, so an unstained
    /// fibre beside ringed ones picks up 5–25% of its band from their rings and a ringed one loses part of its own (on
    /// generated sections with dark endomysium or touching fibres the band fractions smear into each other instead of
    /// parting at 0.05 / 0.3). A fibre whose band is clearly stained (OwnerFraction) owns the ring along its borders:
    /// a fibre in between (CandidateFraction up to OwnerFraction) scores its band again without the stretches behind a
    /// border shared with an owner (inside, and the outside pixels that are the owner's), as long as MinKeptBand of its
    /// band is left (a fibre ringed all round by owners keeps its whole band). Which border a band pixel lies behind:
    /// each border pixel's <paramref name="across"/> spread inward through the fibre's band, breadth first (the nearest
    /// border in steps: only which border matters, not how far). Only the fibres in between are visited, so a slide
    /// whose fractions part cleanly pays almost nothing. In place on <paramref name="bandN"/> and
    /// <paramref name="bandPositive"/>.
    /// </summary>
    private void RingOwnership(int[] label, int count, Span<byte> notEdge, bool[] stained, List<Point>?[] edgePoints,
        float[] dab, Span<float> de, float band, int ro, int w, int[] bandN, int[] bandPositive, int[] stamp)
    {
        int n = label.Length, h = n / w;
        var owner = new bool[count + 1];
        var candidate = new List<(int Label, Rect Box)>();
        int largest = 0;
        for (int l = 1; l <= count; l++)
        {
            double f = bandN[l] > 0 ? (double)bandPositive[l] / bandN[l] : 0;
            owner[l] = f >= OwnerFraction;
            if (owner[l] || f < CandidateFraction || edgePoints[l] is not { } pts)
                continue;
            var box = Cv2.BoundingRect(pts);
            candidate.Add((l, box));
            largest = Math.Max(largest, box.Width * box.Height);
        }
        if (candidate.Count == 0)
            return;
        // Box-local: which pixels the spread reached, and the queue of band pixels with their border's side.
        var reached = new bool[largest];
        var outside = new List<int>();
        var queue = new int[largest];
        var queueSide = new int[largest];
        foreach (var (l, box) in candidate)
        {
            Array.Clear(reached, 0, box.Width * box.Height);
            int keptN = 0, keptPositive = 0, head = 0, tail = 0;
            void Count(int i, int s)
            {
                if (owner[s])
                    return;
                keptN++;
                if (dab[i] >= weak)
                    keptPositive++;
            }
            void Reach(int i, int s)
            {
                int x = i % w - box.X, y = i / w - box.Y;
                if (x < 0 || y < 0 || x >= box.Width || y >= box.Height || reached[y * box.Width + x])
                    return;
                reached[y * box.Width + x] = true;
                queue[tail] = i;
                queueSide[tail++] = s;
            }
            foreach (var p in edgePoints[l]!)
            {
                int i = p.Y * w + p.X;
                if (notEdge[i] != 0)
                    continue;
                // The fibre across this border pixel (0: interstitium, glass or the frame).
                int across = 0;
                if (p.X > 0 && p.Y > 0 && p.X < w - 1 && p.Y < h - 1)
                    foreach (int j in (ReadOnlySpan<int>)[i - 1, i + 1, i - w, i + w])
                        if (label[j] > 0 && label[j] != l)
                        {
                            across = label[j];
                            break;
                        }
                Reach(i, across);
            }
            while (head < tail)
            {
                int i = queue[head], s = queueSide[head++], x = i % w;
                Count(i, s);
                foreach (var (ok, j) in (ReadOnlySpan<(bool, int)>)[(x > 0, i - 1), (x < w - 1, i + 1), (i >= w, i - w), (i + w < n, i + w)])
                    if (ok && label[j] == l && de[j] <= band)
                        Reach(j, s);
            }
            // The outside pixels as Score counted them, without those of an owner (marked −l: Score's marks are l).
            foreach (int j in OutsideBand(edgePoints[l]!, l, -l, ro, w, label, stained, stamp, outside))
                Count(j, Math.Max(0, label[j]));
            if (keptN > 0 && keptN >= MinKeptBand * bandN[l])
            {
                bandN[l] = keptN;
                bandPositive[l] = keptPositive;
            }
        }
    }

    /// <summary>
    /// The tissue pixels within <paramref name="ro"/> outside fibre <paramref name="l"/>'s outline, each once: those not
    /// yet marked <paramref name="mark"/> in <paramref name="stamp"/> are marked and listed in <paramref name="into"/>.
    /// </summary>
    private static List<int> OutsideBand(List<Point> outline, int l, int mark, int ro, int w, int[] label, bool[] stained, int[] stamp, List<int> into)
    {
        int h = label.Length / w;
        into.Clear();
        foreach (var p in outline)
            for (int dy = -ro; dy <= ro; dy++)
                for (int dx = -ro; dx <= ro; dx++)
                {
                    int qx = p.X + dx, qy = p.Y + dy;
                    if (dx * dx + dy * dy > ro * ro || qx < 0 || qy < 0 || qx >= w || qy >= h)
                        continue;
                    int j = qy * w + qx;
                    if (label[j] == l || !stained[j] || stamp[j] == mark)
                        continue;
                    stamp[j] = mark;
                    into.Add(j);
                }
        return into;
    }

    private const double OwnerFraction = 0.4, CandidateFraction = 0.05, MinKeptBand = 0.3;

    private List<DetectedFibre> Score(int[] label, int count, bool[] tissue, bool[] stained, bool[] blob, float[] dab, float[] hem, int w, int h, double px,
        RegionPlanes region, (bool, bool, bool, bool) slideEdge, Func<double, double, (double X, double Y)> toLevel0, bool outlines)
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
        var onGlass = new int[count + 1];
        // Glass for the sliver rule is what the closed mask (FillTissueHoles) leaves open: interstitial gaps as pale as
        // glass but narrower than a fibre are tissue, or every fibre beside them would have half its outline "on glass"
        // (10 µm glass-white gaps on a generated slide: 64 fibres kept of 135, 57.8% ring-positive against 25.9%).
        using var tissueMat = new Mat(h, w, MatType.CV_8UC1, Scalar.All(0));
        var tm = Span8(tissueMat, n);
        bool glass = false;
        for (int i = 0; i < n; i++)
            if (tissue[i])
                tm[i] = 255;
            else
                glass = true;
        // Without glass in the crop no outline pixel lies near it (the distance map would be all but infinite).
        using var toGlassMat = new Mat();
        if (glass)
            Cv2.DistanceTransform(tissueMat, toGlassMat, DistanceTypes.L2, DistanceTransformMasks.Mask3);
        var toGlass = glass ? SpanF(toGlassMat, n) : default;
        var atSlideEdge = new bool[count + 1];
        var (atLeft, atTop, atRight, atBottom) = slideEdge;
        bool Membrane(int j, int l) => tissue[j] && label[j] != l;
        var pixels = new int[count + 1];
        void Visit(int x, int y, int i, int l, Span<byte> ne, Span<byte> no, ReadOnlySpan<float> toGlass)
        {
            bool frame = x == 0 || y == 0 || x == w - 1 || y == h - 1;
            if (!frame && label[i - 1] == l && label[i + 1] == l && label[i - w] == l && label[i + w] == l)
            {
                no[i] = 255;
                return;
            }
            (edgePoints[l] ??= []).Add(new Point(x, y));
            if (glass && toGlass[i] <= GlassMicrons / px)
                onGlass[l]++;
            if (frame || Membrane(i - 1, l) || Membrane(i + 1, l) || Membrane(i - w, l) || Membrane(i + w, l))
                ne[i] = 0;
            bool left = x == 0, topRow = y == 0, right = x == w - 1, bottom = y == h - 1;
            if ((left && !atLeft) || (topRow && !atTop) || (right && !atRight) || (bottom && !atBottom))
                cut[l] = true;
            else if (left || topRow || right || bottom)
                atSlideEdge[l] = true;
        }
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int l = label[i];
                if (l <= 0)
                    continue;
                pixels[l]++;
                Visit(x, y, i, l, ne, no, toGlass);
            }

        // Tails. A fibre less solid than MinSolidity is often one whose flood ran out into the interstitium along a band
        // wider than Tidy's opening (unstained fibres flanked by loose interstitium on the re-stained real sections:
        // 0.74–0.79). It is opened by a disk of TailFraction × its equivalent radius and keeps its largest part when
        // that holds TailKeptArea of it and is solid enough (TailPixels); otherwise it is dropped below as before. Two
        // fibres joined by a neck wider than the disk stay one. Done here, on the outlines just collected, because a
        // pass of its own over every region cost 2–3% of the fibre pass; the trimmed fibre's pixels are visited again.
        int minPixels = Math.Max(1, (int)Math.Ceiling(settings.MinAreaMicrons2 / (px * px)));
        var scratch = new int[64];
        for (int l = 1; l <= count; l++)
        {
            if (pixels[l] < minPixels || edgePoints[l] is not { Count: >= 3 } pts)
                continue;
            if (scratch.Length < pts.Count + 2)
                scratch = new int[2 * pts.Count + 2];
            if (HullSolidity(pixels[l], CollectionsMarshal.AsSpan(pts), scratch) >= settings.MinSolidity)
                continue;
            var b = Cv2.BoundingRect(pts);
            if (TailPixels(label, l, pixels[l], b, w, settings.MinSolidity) is not { } tail)
                continue;
            foreach (int i in tail)
            {
                label[i] = 0;
                no[i] = 0;
                ne[i] = 255;
            }
            edgePoints[l] = null;
            onGlass[l] = 0;
            cut[l] = atSlideEdge[l] = false;
            for (int y = b.Y; y < b.Bottom; y++)
                for (int x = b.X, i = y * w + b.X; x < b.Right; x++, i++)
                    if (label[i] == l)
                    {
                        no[i] = 0;
                        ne[i] = 255;
                        Visit(x, y, i, l, ne, no, toGlass);
                    }
        }
        using var toEdge = new Mat();
        Cv2.DistanceTransform(notEdge, toEdge, DistanceTypes.L2, DistanceTransformMasks.Mask5);
        var de = SpanF(toEdge, n);
        using var depthMat = new Mat();
        Cv2.DistanceTransform(notOutside, depthMat, DistanceTypes.L2, DistanceTransformMasks.Mask5);
        var depth = SpanF(depthMat, n);
        float band = (float)(settings.BandMicrons / px);
        // A pixel's distance to the outline runs from pixel centre to the centre of the first outside pixel.
        float internalDepth = (float)(settings.InternalNucleusMicrons / px + 0.5);
        float nucleusOd = (float)settings.NucleusOd;
        // A nucleus is darker in the counterstain than the fibre it lies in. Where that plane holds what the fibres
        // themselves are stained with (ATPase, SDH: fibre types dark and light, no nuclear stain), a dark fibre is not
        // a fibre with a central nucleus.
        var (ownHem, _) = Levels(label, hem, count, OwnHemRange / 4, 4);

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
        var nuclearN = new int[count + 1];
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
                if (outlines)
                {
                    var b = boxes[l];
                    boxes[l] = (Math.Min(b.Item1, x), Math.Min(b.Item2, y), Math.Max(b.Item3, x), Math.Max(b.Item4, y));
                }
                if (hem[i] >= CellClusterOd)
                    nuclearN[l]++;
                if (hem[i] >= nucleusOd && hem[i] >= NucleusOverFibre * ownHem[l] && depth[i] >= internalDepth)
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

        // The sarcolemma lies on the border: where two fibres touch with no visible gap, the line between them may run
        // through a stained ring. So the band also takes the tissue just outside the fibre (OuterBandMicrons), each
        // pixel once per fibre.
        int ro = Math.Max(1, (int)Math.Round(OuterBandMicrons / px));
        var stamp = new int[n];
        var outside = new List<int>();
        for (int l = 1; l <= count; l++)
        {
            if (edgePoints[l] is not { } pts)
                continue;
            foreach (int j in OutsideBand(pts, l, l, ro, w, label, stained, stamp, outside))
            {
                bandN[l]++;
                bandSum[l] += dab[j];
                if (dab[j] >= weak)
                    bandPositive[l]++;
            }
        }

        if (score)
            RingOwnership(label, count, ne, stained, edgePoints, dab, de, band, ro, w, bandN, bandPositive, stamp);

        var clusters = ClustersOfNuclei(label, hem, count, area, nuclearN);
        var fibres = new List<DetectedFibre>();
        double px2 = px * px;
        int nucleusPixels = Math.Max(1, (int)Math.Ceiling(settings.NucleusMicrons2 / px2));
        for (int l = 1; l <= count; l++)
        {
            double a = area[l] * px2;
            // Mostly dark blob: a cell or a cluster of nuclei between fibres, not a fibre.
            // A sliver of a fibre cut by the section edge (half its outline or more on glass) is not scored or measured.
            if (2 * onGlass[l] >= (edgePoints[l]?.Count ?? 0))
                continue;
            if (clusters[l])
                continue;
            if (cut[l] || a < settings.MinAreaMicrons2 || a > settings.MaxAreaMicrons2 || 2 * blobN[l] > area[l] || edgePoints[l] is not { Count: >= 3 } points)
                continue;
            var hullPoints = Cv2.ConvexHull(points);
            // Pixels inside a hull through pixel centres ≈ its area + half its perimeter + 1 (Pick's theorem).
            double hullPixels = Cv2.ContourArea(hullPoints) + Cv2.ArcLength(hullPoints, true) / 2 + 1;
            double solidity = Math.Min(1, area[l] / hullPixels);
            if (solidity < settings.MinSolidity)
                continue;
            var (cx, cy) = toLevel0(sx[l] / area[l], sy[l] / area[l]);
            // The region's core owns the fibre; its centroid lies in tissue (the closed mask, see FillTissueHoles).
            int ci = Math.Clamp((int)Math.Round(sy[l] / area[l]), 0, h - 1) * w + Math.Clamp((int)Math.Round(sx[l] / area[l]), 0, w - 1);
            var core = region.Core;
            if (cx < core.X || cx >= core.X + core.Width || cy < core.Y || cy >= core.Y + core.Height || !tissue[ci])
                continue;
            // Regions of interest (`--regions`) count a fibre by its centre.
            if (region.Regions is { } roi && !roi.Contains(cx, cy))
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
        // Every 7th pixel is plenty for a median and keeps the sort off the profile.
        var sample = ArrayPool<float>.Shared.Rent(values.Length / 7 + 1);
        int count = 0;
        bool plain = true;
        for (int i = 0; i < values.Length; i += 7)
            if (tissue[i])
            {
                float v = values[i];
                sample[count++] = v;
                plain &= v != 0 && !float.IsNaN(v);
            }
        float? median = null;
        if (count >= 50)
        {
            var s = sample.AsSpan(0, count);
            // Selection finds the value a sort puts in the middle when no two samples compare equal with different
            // bits (±0) and none is NaN; otherwise the sort decides, as it always did.
            if (plain)
                median = Select(s, count / 2);
            else
            {
                s.Sort();
                median = s[count / 2];
            }
        }
        ArrayPool<float>.Shared.Return(sample);
        return median;
    }

    /// <summary>The k-th smallest value (0-based) of non-NaN values, by quickselect; reorders the span.</summary>
    internal static float Select(Span<float> a, int k)
    {
        int lo = 0, hi = a.Length - 1;
        while (hi > lo)
        {
            int mid = lo + (hi - lo) / 2;
            float x = a[lo], y = a[mid], z = a[hi];
            float p = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] < p)
                    i++;
                while (a[j] > p)
                    j--;
                if (i <= j)
                {
                    (a[i], a[j]) = (a[j], a[i]);
                    i++;
                    j--;
                }
            }
            if (k <= j)
                hi = j;
            else if (k >= i)
                lo = i;
            else
                return a[k];
        }
        return a[k];
    }

    private static Mat Blur(Mat plane, double sigma)
    {
        var smooth = new Mat();
        Cv2.GaussianBlur(plane, smooth, new Size(0, 0), sigma, sigma, BorderTypes.Reflect101);
        return smooth;
    }
}
