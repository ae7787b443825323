using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using OpenCvSharp;
using static HistoQuant.Measures.Planes;

namespace HistoQuant.Measures.Cells;

/// <summary>
/// Nuclei from a detection plane (hematoxylin OD or OD sum) at the detection pixel size, the way QuPath's
/// WatershedCellDetection finds them:
/// 1. optional median filter; optional exclusion of DAB-dominated pixels;
/// 2. background: a circular minimum filter of the background radius, then (by default) grey-level
///    reconstruction under the image (opening by reconstruction; otherwise a plain opening); where that
///    background exceeds maxBackground, the neighbourhood (twice the radius) is masked and nuclei touching it are
///    dropped; the background is subtracted;
/// 3. a Laplacian of Gaussian (Gaussian σ, then the 4-neighbour Laplacian, sign so that blobs are positive):
///    its positive part bounds the objects, and a watershed from its regional maxima cuts it into fragments;
///    fragments whose mean (background-subtracted) intensity exceeds the threshold are kept;
/// 4. kept fragments are merged (3×3 dilation within the positive LoG), holes filled and, with
///    watershedPostProcess, split by shape: a watershed on the distance map from its h-maxima (tolerance 0.5 px
///    as ImageJ's binary watershed, or the model's split tolerance);
/// 5. boundary refinement when σ &gt; 1.5 px (a σ = 1 px LoG decides the outermost pixel ring);
/// 6. 4-connected objects whose mean intensity is below the threshold or whose area is outside the limits go.
/// </summary>
public static class NucleusSegmenter
{
    /// <summary>Nucleus labels 1..count (0 elsewhere), row-major w × h.</summary>
    /// <param name="detection">The detection plane (not modified).</param>
    /// <param name="hematoxylin">Hematoxylin OD, for excludeDAB (may be the detection plane).</param>
    /// <param name="dab">DAB OD, for excludeDAB.</param>
    /// <param name="px">µm per pixel of the planes.</param>
    /// <param name="measure">The plane the threshold was applied to (QuPath's "ipToMeasure").</param>
    public static int[] Segment(float[] detection, float[] hematoxylin, float[] dab, int w, int h, double px, CellSettings s,
        out int count, out float[] measure)
    {
        int n = w * h;
        float threshold = (float)s.NucleusThreshold;
        float[] work = s.MedianRadiusMicrons / px > 0 ? Morphology.Median(detection, w, h, s.MedianRadiusMicrons / px) : Copy(detection, n);
        if (s.ExcludeDab)
            ExcludeDab(work, hematoxylin, dab, w, h);

        byte[]? backgroundMask = null;
        double radius = s.BackgroundRadiusMicrons / px;
        double sigma = s.SmoothSigmaMicrons / px;
        float[] log;
        float[]? smoothed = null;
        if (s.QuPathMode || radius <= 0 || w < 8 || h < 8)
        {
            // QuPath's order, at full resolution: background of the unsmoothed plane, subtracted, then the LoG.
            if (radius > 0)
            {
                var background = Background(work, w, h, radius, s.BackgroundByReconstruction, s.MaxBackground, out backgroundMask);
                for (int i = 0; i < n; i++)
                    work[i] -= background[i];
                Scratch.Release(background);
                measure = work;
            }
            else
                measure = detection;
            log = LaplacianOfGaussian(work, w, h, sigma);
        }
        else
        {
            // HistoQuant's own models: the Gaussian first, the background of the smoothed plane at reduced resolution
            // (the background is smooth; reconstruction on a smoothed plane needs a fraction of the queue work),
            // subtracted from both the plane and its smoothed copy. The LoG is the Laplacian of the smoothed difference.
            smoothed = Smoothed(work, w, h, sigma);
            var background = ReducedResolutionBackground(smoothed, w, h, radius, s.BackgroundByReconstruction, s.MaxBackground, out backgroundMask);
            Subtract(work, background, n);
            Subtract(smoothed, background, n);
            Scratch.Release(background);
            measure = work;
            log = Laplacian(smoothed, w, h);
        }

        var mask = KeptFragments(log, measure, backgroundMask, w, h, threshold, s.QuPathMode);

        // Merge neighbouring fragments (3×3 dilation) within the positive LoG, fill holes, split by shape.
        Dilate3x3(mask, w, h);
        KeepWherePositive(mask, log, n);
        Scratch.Release(log);
        if (s.WatershedPostProcess)
        {
            Morphology.FillHoles(mask, w, h);
            double tolerance = s.SplitToleranceMicrons is { } t ? t / px : 0.5;
            SplitByShape(mask, w, h, (float)tolerance);
        }

        // Boundary refinement: smoothing by σ > 1.5 px widens thin nuclei; a σ = 1 px LoG decides the outer ring.
        if (sigma > 1.5)
        {
            var fine = LaplacianOfGaussian(detection, w, h, 1.0);
            var inner = Copy(mask, n);
            Erode3x3(inner, w, h);
            // Masks hold 0 or 255: the ring keeps a pixel where the fine LoG is positive, the eroded core keeps all.
            KeepWherePositive(mask, fine, n);
            for (int i = 0; i < n; i++)
                mask[i] |= inner[i];
            Scratch.Release(fine);
            Scratch.Release(inner);
        }

        // Objects; drop those below the threshold or outside the area limits; relabel 1..count.
        var labels = Flooding.Components(mask, w, h, out int objects);
        Scratch.Release(mask);
        if (s.MergeRatio is { } ratio && objects > 1)
        {
            smoothed ??= Smoothed(work, w, h, sigma / 2);
            objects = MergeWithoutValley(labels, objects, smoothed, w, h, (float)ratio);
        }
        Scratch.Release(smoothed);
        var area = new int[objects + 1];
        var total = new double[objects + 1];
        for (int i = 0; i < n; i++)
        {
            int l = labels[i];
            if (l == 0)
                continue;
            area[l]++;
            total[l] += measure[i];
        }
        double px2 = px * px;
        var newLabel = new int[objects + 1];
        count = 0;
        for (int l = 1; l <= objects; l++)
        {
            double a = area[l] * px2;
            if (total[l] / area[l] >= threshold && a >= s.MinNucleusArea && a <= s.MaxNucleusArea)
                newLabel[l] = ++count;
        }
        for (int i = 0; i < n; i++)
            labels[i] = newLabel[labels[i]];
        return labels;
    }

    /// <summary>
    /// QuPath's fragments: the positive LoG cut by a watershed from its regional maxima; fragments whose mean
    /// intensity exceeds the threshold, and that touch no masked (too bright) background, are kept (255).
    /// </summary>
    public static byte[] KeptFragments(float[] log, float[] measure, byte[]? backgroundMask, int w, int h, float threshold, bool quPathMaxima)
    {
        int n = w * h;
        // QuPath: maxima with a tolerance of 0.001, then a watershed flooding. HistoQuant's own models: the basins
        // of steepest ascent, the same fragments up to ties on their ridges, in one pass.
        int[] fragments;
        int fragmentCount;
        if (quPathMaxima)
        {
            var maxima = Morphology.HMaxima(log, w, h, 0.001f, 0f);
            fragments = Flooding.Components(maxima, w, h, out fragmentCount);
            Scratch.Release(maxima);
            Flooding.Flood(log, fragments, w, h, 0f, lines: false);
        }
        else
            fragments = Flooding.SteepestAscentBasins(log, w, h, 0f, out fragmentCount);
        var sum = new double[fragmentCount + 1];
        var pixels = new int[fragmentCount + 1];
        var onBackground = new bool[fragmentCount + 1];
        for (int i = 0; i < n;)
        {
            int f = fragments[i];
            if (f <= 0)
            {
                i++;
                continue;
            }
            // A run of one fragment along the row sums in registers (the same additions in the same order).
            double s = sum[f];
            int c = pixels[f];
            bool on = onBackground[f];
            do
            {
                s += measure[i];
                c++;
                if (backgroundMask is not null && backgroundMask[i] != 0)
                    on = true;
                i++;
            }
            while (i < n && fragments[i] == f);
            sum[f] = s;
            pixels[f] = c;
            onBackground[f] = on;
        }
        // 255 for kept fragments, 0 for the rest and for label 0: the mask is then one table look-up per pixel.
        var keep = new byte[fragmentCount + 1];
        for (int f = 1; f <= fragmentCount; f++)
            keep[f] = pixels[f] > 0 && sum[f] / pixels[f] > threshold && !onBackground[f] ? (byte)255 : (byte)0;
        var mask = Scratch.Uninitialized<byte>(n);
        for (int i = 0; i < n; i++)
        {
            int f = fragments[i];
            mask[i] = (uint)f < (uint)keep.Length ? keep[f] : (byte)0;
        }
        Scratch.Release(fragments);
        return mask;
    }

    /// <summary>
    /// Merges touching objects (a one- or two-pixel gap or line between them) when the smoothed intensity along
    /// their shared boundary stays above <paramref name="ratio"/> × the fainter object's mean: chromatin texture or a
    /// shape split cut one nucleus, whereas two nuclei that touch are separated by a fainter valley.
    /// Boundary pixels between merged objects join them. Returns the new number of labels (1..count, compact).
    /// </summary>
    public static int MergeWithoutValley(int[] labels, int count, float[] smooth, int w, int h, float ratio, double minSolidity = 0.7)
    {
        int n = w * h;
        var sum = new double[count + 1];
        var area = new int[count + 1];
        for (int i = 0; i < n; i++)
            if (labels[i] > 0)
            {
                sum[labels[i]] += smooth[i];
                area[labels[i]]++;
            }
        // Boundary pixels: unlabelled, next to an object, with exactly two labels within two pixels (gaps of up to
        // three pixels between two objects are found).
        var pairSum = new Dictionary<long, (double Sum, int Count)>();
        var between = new Dictionary<long, List<int>>();
        for (int y = 2; y < h - 2; y++)
            for (int x = 2; x < w - 2; x++)
            {
                int i = y * w + x;
                if (labels[i] != 0 || (labels[i - 1] <= 0 && labels[i + 1] <= 0 && labels[i - w] <= 0 && labels[i + w] <= 0))
                    continue;
                int a = 0, b = 0;
                bool more = false;
                for (int dy = -2; dy <= 2 && !more; dy++)
                    for (int dx = -2; dx <= 2; dx++)
                    {
                        int l = labels[i + dy * w + dx];
                        if (l <= 0 || l == a || l == b)
                            continue;
                        if (a == 0) a = l;
                        else if (b == 0) b = l;
                        else { more = true; break; }
                    }
                if (more || b == 0)
                    continue;
                long key = (long)Math.Min(a, b) << 32 | (uint)Math.Max(a, b);
                var v = pairSum.GetValueOrDefault(key);
                pairSum[key] = (v.Sum + smooth[i], v.Count + 1);
                if (!between.TryGetValue(key, out var list))
                    between[key] = list = [];
                list.Add(i);
            }
        var parent = new int[count + 1];
        for (int l = 0; l <= count; l++)
            parent[l] = l;
        int Find(int l)
        {
            while (parent[l] != l)
                l = parent[l] = parent[parent[l]];
            return l;
        }
        var merged = new HashSet<long>();
        List<int>[]? pixelsOf = null;
        foreach (var (key, v) in pairSum.OrderBy(p => p.Key))
        {
            int a = (int)(key >> 32), b = (int)(key & 0xffffffff);
            double fainter = Math.Min(sum[a] / area[a], sum[b] / area[b]);
            // A boundary of two pixels or fewer is a corner touch, not a shared edge.
            if (v.Count <= 2 || v.Sum / v.Count < ratio * fainter)
                continue;
            int ra = Find(a), rb = Find(b);
            if (ra == rb)
                continue;
            // One nucleus is convex: two touching nuclei make a waisted (concave) union, which stays split.
            if (pixelsOf is null)
            {
                pixelsOf = new List<int>[count + 1];
                for (int i = 0; i < n; i++)
                    if (labels[i] > 0)
                        (pixelsOf[labels[i]] ??= []).Add(i);
            }
            var union = new List<int>(pixelsOf[ra].Count + pixelsOf[rb].Count + v.Count);
            union.AddRange(pixelsOf[ra]);
            union.AddRange(pixelsOf[rb]);
            union.AddRange(between[key]);
            if (Solidity(union, w) < minSolidity)
                continue;
            merged.Add(key);
            parent[ra] = rb;
            pixelsOf[rb] = union;
        }
        if (merged.Count == 0)
            return count;
        foreach (var key in merged)
            foreach (int pixel in between[key])
                labels[pixel] = (int)(key >> 32);
        var compact = new int[count + 1];
        int next = 0;
        for (int l = 1; l <= count; l++)
            if (Find(l) == l)
                compact[l] = ++next;
        for (int i = 0; i < n; i++)
            if (labels[i] > 0)
                labels[i] = compact[Find(labels[i])];
        return next;
    }

    /// <summary>Pixel count over the area of the convex hull of the pixel squares (1 for a convex object).</summary>
    public static double Solidity(List<int> pixels, int w)
    {
        var centres = new Point2f[pixels.Count];
        int k = 0;
        foreach (int p in pixels)
            centres[k++] = new Point2f(p % w, p / w);
        var hull = Cv2.ConvexHull(centres);
        // The hull of the pixel squares: the centres' hull grown by half a pixel (Steiner: area + perimeter / 2 + 1).
        double hullArea = Cv2.ContourArea(hull) + Cv2.ArcLength(hull, true) / 2 + 1;
        return Math.Min(1, pixels.Count / hullArea);
    }

    private static float[] Smoothed(float[] image, int w, int h, double sigma)
    {
        var result = Scratch.Uninitialized<float>(w * h);
        unsafe
        {
            fixed (float* src = image, dst = result)
            {
                using var srcMat = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)src);
                using var dstMat = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)dst);
                Smooth(srcMat, sigma, dstMat);
            }
        }
        return result;
    }

    /// <summary>
    /// QuPath's limited opening by reconstruction: minimum filter of the radius, pixels whose minimum exceeds
    /// maxBackground masked with their surroundings (twice the radius) and taken out of the marker, then
    /// reconstruction by dilation under the image (or, without reconstruction, a maximum filter: an opening).
    /// </summary>
    public static float[] Background(float[] image, int w, int h, double radius, bool byReconstruction, double maxBackground, out byte[]? mask)
    {
        int n = w * h;
        var background = Scratch.Uninitialized<float>(n);
        mask = null;
        unsafe
        {
            fixed (float* src = image, dst = background)
            {
                using var srcMat = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)src);
                using var dstMat = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)dst);
                Morphology.Rank(srcMat, dstMat, radius, erode: true);
                if (maxBackground > 0)
                {
                    byte[]? m = null;
                    for (int i = 0; i < n; i++)
                        if (background[i] > maxBackground)
                            (m ??= Scratch.Zeroed<byte>(n))[i] = 255;
                    if (m is not null)
                    {
                        fixed (byte* mp = m)
                        {
                            using var maskMat = Mat.FromPixelData(h, w, MatType.CV_8UC1, (IntPtr)mp);
                            Morphology.Rank(maskMat, maskMat, radius * 2, erode: false);
                        }
                        for (int i = 0; i < n; i++)
                            if (m[i] != 0)
                                background[i] = float.NegativeInfinity;
                        mask = m;
                    }
                }
                if (!byReconstruction)
                {
                    // A plain opening: the maximum filter of the same radius (masked pixels stay masked).
                    using var opened = new Mat();
                    Morphology.Rank(dstMat, opened, radius, erode: false);
                    opened.CopyTo(dstMat);
                }
            }
        }
        if (byReconstruction)
            Morphology.ReconstructByDilation(background, image, w, h);
        if (mask is not null)
            for (int i = 0; i < n; i++)
                if (float.IsNegativeInfinity(background[i]))
                    background[i] = 0; // QuPath subtracts nothing where the marker had nothing to rebuild from
        return background;
    }

    private static unsafe float[] ReducedResolutionBackground(float[] image, int w, int h, double radius, bool byReconstruction, double maxBackground, out byte[]? mask)
    {
        // A quarter of the resolution while the radius stays at 3 px or more, else half.
        int f = radius >= 12 && w >= 16 && h >= 16 ? 4 : 2;
        int hw = (w + f - 1) / f, hh = (h + f - 1) / f;
        var small = Scratch.Uninitialized<float>(hw * hh);
        var background = Scratch.Uninitialized<float>(w * h);
        fixed (float* src = image, dst = small)
        {
            using var s = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)src);
            using var d = Mat.FromPixelData(hh, hw, MatType.CV_32FC1, (IntPtr)dst);
            Cv2.Resize(s, d, new Size(hw, hh), 0, 0, InterpolationFlags.Area);
        }
        var smallBackground = Background(small, hw, hh, radius / f, byReconstruction, maxBackground, out var smallMask);
        fixed (float* src = smallBackground, dst = background)
        {
            using var s = Mat.FromPixelData(hh, hw, MatType.CV_32FC1, (IntPtr)src);
            using var d = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)dst);
            Cv2.Resize(s, d, new Size(w, h), 0, 0, InterpolationFlags.Linear);
        }
        Scratch.Release(small);
        Scratch.Release(smallBackground);
        mask = null;
        if (smallMask is not null)
        {
            mask = Scratch.Uninitialized<byte>(w * h);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    mask[y * w + x] = smallMask[Math.Min(hh - 1, y / f) * hw + Math.Min(hw - 1, x / f)];
            Scratch.Release(smallMask);
        }
        // The background never exceeds the image (it was rebuilt under the half-resolution image).
        int whole = w * h, at = 0;
        ref float b0 = ref MemoryMarshal.GetArrayDataReference(background);
        ref float i0 = ref MemoryMarshal.GetArrayDataReference(image);
        for (; at + Vector256<float>.Count <= whole; at += Vector256<float>.Count)
            Vector256.Min(Vector256.LoadUnsafe(ref b0, (nuint)at),
                Vector256.LoadUnsafe(ref i0, (nuint)at)).StoreUnsafe(ref b0, (nuint)at);
        for (; at < whole; at++)
            if (background[at] > image[at])
                background[at] = image[at];
        return background;
    }

    /// <summary>The 4-neighbour Laplacian with the sign that makes bright blobs positive (edges repeated).</summary>
    public static unsafe float[] Laplacian(float[] image, int w, int h)
    {
        var result = Scratch.Uninitialized<float>(w * h);
        fixed (float* src = image, dst = result)
        {
            using var srcMat = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)src);
            using var dstMat = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)dst);
            using var kernel = Mat.FromArray(new float[,] { { 0, -1, 0 }, { -1, 4, -1 }, { 0, -1, 0 } });
            Cv2.Filter2D(srcMat, dstMat, MatType.CV_32F, kernel, new Point(-1, -1), 0, BorderTypes.Replicate);
        }
        return result;
    }

    /// <summary>Gaussian σ (px) then the 4-neighbour Laplacian with the sign that makes bright blobs positive.</summary>
    public static float[] LaplacianOfGaussian(float[] image, int w, int h, double sigma)
    {
        var result = Scratch.Uninitialized<float>(w * h);
        unsafe
        {
            fixed (float* src = image, dst = result)
            {
                using var srcMat = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)src);
                using var dstMat = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)dst);
                using var smooth = new Mat();
                Smooth(srcMat, sigma, smooth);
                using var kernel = Mat.FromArray(new float[,] { { 0, -1, 0 }, { -1, 4, -1 }, { 0, -1, 0 } });
                Cv2.Filter2D(smooth, dstMat, MatType.CV_32F, kernel, new Point(-1, -1), 0, BorderTypes.Replicate);
            }
        }
        return result;
    }

    /// <summary>
    /// ImageJ's binary watershed: distance map, its maxima that stand <paramref name="tolerance"/> above their
    /// saddles as seeds, a watershed with one-pixel lines inside the mask.
    /// </summary>
    public static void SplitByShape(byte[] mask, int w, int h, float tolerance)
    {
        int n = w * h;
        // Each object on its own (bounding box plus a one-pixel frame): the cost follows the objects, not the image.
        var objects = Flooding.Components(mask, w, h, out int count);
        var boxes = new (int X0, int Y0, int X1, int Y1)[count + 1];
        var areas = new int[count + 1];
        Array.Fill(boxes, (int.MaxValue, int.MaxValue, -1, -1));
        for (int y = 0, i = 0; y < h; y++)
            for (int x = 0; x < w; x++, i++)
            {
                int l = objects[i];
                if (l == 0)
                    continue;
                areas[l]++;
                var b = boxes[l];
                boxes[l] = (Math.Min(b.X0, x), Math.Min(b.Y0, y), Math.Max(b.X1, x), Math.Max(b.Y1, y));
            }
        for (int l = 1; l <= count; l++)
        {
            var (x0, y0, x1, y1) = boxes[l];
            // Objects of a few pixels, or a few pixels wide, hold no two distance maxima worth a split.
            if (x1 - x0 < 3 || y1 - y0 < 3 || areas[l] < 24)
                continue;
            int bw = x1 - x0 + 3, bh = y1 - y0 + 3;
            var inside = new byte[bw * bh];
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++)
                    if (objects[y * w + x] == l)
                        inside[(y - y0 + 1) * bw + x - x0 + 1] = 255;
            // The object's distance map (ImageJ's EDM: distance to the nearest pixel outside the object).
            var sub = Morphology.DistanceToZero(inside, bw, bh);
            var seeds = Morphology.HMaxima(sub, bw, bh, tolerance, 0f);
            var labels = Flooding.Components(seeds, bw, bh, out int basins);
            if (basins < 2)
                continue;
            Flooding.Flood(sub, labels, bw, bh, 0f, lines: true);
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++)
                    if (labels[(y - y0 + 1) * bw + x - x0 + 1] == Flooding.Line)
                        mask[y * w + x] = 0;
        }
        Scratch.Release(objects);
    }

    /// <summary>QuPath's excludeDAB: zero the detection plane away from pixels where hematoxylin ≥ DAB.</summary>
    private static void ExcludeDab(float[] work, float[] hematoxylin, float[] dab, int w, int h)
    {
        int n = w * h;
        var keep = Scratch.Uninitialized<float>(n);
        for (int i = 0; i < n; i++)
            keep[i] = hematoxylin[i] >= dab[i] ? 1 : 0;
        keep = Morphology.Median(keep, w, h, 2.5);
        unsafe
        {
            fixed (float* kp = keep)
            {
                using var k = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)kp);
                Morphology.Rank(k, k, 2.5, erode: false);
            }
        }
        for (int i = 0; i < n; i++)
            work[i] *= keep[i];
    }

    /// <summary>Zeroes the mask wherever the plane is not above 0 (NaN included); 32 pixels at a time, without branches.</summary>
    private static void KeepWherePositive(byte[] mask, float[] plane, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float p0 = ref MemoryMarshal.GetArrayDataReference(plane);
            ref byte m0 = ref MemoryMarshal.GetArrayDataReference(mask);
            for (; i + 32 <= n; i += 32)
            {
                var a = Vector256.GreaterThan(Vector256.LoadUnsafe(ref p0, (nuint)i), Vector256<float>.Zero).AsInt32();
                var b = Vector256.GreaterThan(Vector256.LoadUnsafe(ref p0, (nuint)i + 8), Vector256<float>.Zero).AsInt32();
                var c = Vector256.GreaterThan(Vector256.LoadUnsafe(ref p0, (nuint)i + 16), Vector256<float>.Zero).AsInt32();
                var d = Vector256.GreaterThan(Vector256.LoadUnsafe(ref p0, (nuint)i + 24), Vector256<float>.Zero).AsInt32();
                var positive = Vector256.Narrow(Vector256.Narrow(a, b), Vector256.Narrow(c, d)).AsByte();
                (Vector256.LoadUnsafe(ref m0, (nuint)i) & positive).StoreUnsafe(ref m0, (nuint)i);
            }
        }
        for (; i < n; i++)
            if (!(plane[i] > 0))
                mask[i] = 0;
    }

    private static void Subtract(float[] plane, float[] minus, int n)
    {
        int i = 0;
        ref float p0 = ref MemoryMarshal.GetArrayDataReference(plane);
        ref float m0 = ref MemoryMarshal.GetArrayDataReference(minus);
        for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
            (Vector256.LoadUnsafe(ref p0, (nuint)i) - Vector256.LoadUnsafe(ref m0, (nuint)i)).StoreUnsafe(ref p0, (nuint)i);
        for (; i < n; i++)
            plane[i] -= minus[i];
    }

    private static T[] Copy<T>(T[] source, int n)
    {
        var copy = Scratch.Uninitialized<T>(n);
        Array.Copy(source, copy, n);
        return copy;
    }

    private static void Dilate3x3(byte[] mask, int w, int h) => Filter3x3(mask, w, h, dilate: true);

    private static void Erode3x3(byte[] mask, int w, int h) => Filter3x3(mask, w, h, dilate: false);

    private static unsafe void Filter3x3(byte[] mask, int w, int h, bool dilate)
    {
        fixed (byte* mp = mask)
        {
            using var m = Mat.FromPixelData(h, w, MatType.CV_8UC1, (IntPtr)mp);
            using var k = Cv2.GetStructuringElement(MorphShapes.Rect, new Size(3, 3));
            using var r = new Mat();
            if (dilate)
                Cv2.Dilate(m, r, k, null, 1, BorderTypes.Replicate);
            else
                Cv2.Erode(m, r, k, null, 1, BorderTypes.Replicate);
            r.CopyTo(m);
        }
    }
}
