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
        float[] work = s.MedianRadiusMicrons / px > 0 ? Morphology.Median(detection, w, h, s.MedianRadiusMicrons / px) : (float[])detection.Clone();
        if (s.ExcludeDab)
            ExcludeDab(work, hematoxylin, dab, w, h);

        byte[]? backgroundMask = null;
        double radius = s.BackgroundRadiusMicrons / px;
        if (radius > 0)
        {
            var background = Background(work, w, h, radius, s.BackgroundByReconstruction, s.MaxBackground, out backgroundMask);
            for (int i = 0; i < n; i++)
                work[i] -= background[i];
            measure = work;
        }
        else
            measure = detection;

        // Laplacian of Gaussian; 'work' is not needed afterwards except as 'measure' (kept when background was subtracted).
        double sigma = s.SmoothSigmaMicrons / px;
        var log = LaplacianOfGaussian(work, w, h, sigma);

        // Over-segmentation of the positive LoG from its regional maxima; keep fragments above the threshold.
        // QuPath's maxima tolerance is 0.001; HistoQuant's own models take plain local maxima (no reconstruction:
        // faster, and the fragments only serve the threshold test before they are merged again).
        var maxima = s.QuPathMode ? Morphology.HMaxima(log, w, h, 0.001f, 0f) : Morphology.LocalMaxima(log, w, h, 0f);
        var fragments = Flooding.Components(maxima, w, h, out int fragmentCount);
        Flooding.Flood(log, fragments, w, h, 0f, lines: false);
        var sum = new double[fragmentCount + 1];
        var pixels = new int[fragmentCount + 1];
        var onBackground = new bool[fragmentCount + 1];
        for (int i = 0; i < n; i++)
        {
            int f = fragments[i];
            if (f <= 0)
                continue;
            sum[f] += measure[i];
            pixels[f]++;
            if (backgroundMask is not null && backgroundMask[i] != 0)
                onBackground[f] = true;
        }
        var keep = new bool[fragmentCount + 1];
        for (int f = 1; f <= fragmentCount; f++)
            keep[f] = pixels[f] > 0 && sum[f] / pixels[f] > threshold && !onBackground[f];
        var mask = new byte[n];
        for (int i = 0; i < n; i++)
            if (fragments[i] > 0 && keep[fragments[i]])
                mask[i] = 255;

        // Merge neighbouring fragments (3×3 dilation) within the positive LoG, fill holes, split by shape.
        Dilate3x3(mask, w, h);
        for (int i = 0; i < n; i++)
            if (!(log[i] > 0))
                mask[i] = 0;
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
            var inner = (byte[])mask.Clone();
            Erode3x3(inner, w, h);
            for (int i = 0; i < n; i++)
                mask[i] = inner[i] != 0 || (mask[i] != 0 && fine[i] > 0) ? (byte)255 : (byte)0;
        }

        // Objects; drop those below the threshold or outside the area limits; relabel 1..count.
        var labels = Flooding.Components(mask, w, h, out int objects);
        if (s.MergeRatio is { } ratio && objects > 1)
            objects = MergeWithoutValley(labels, objects, Smoothed(work, w, h, sigma / 2), w, h, (float)ratio);
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
    /// Merges touching objects (a one- or two-pixel gap or line between them) when the smoothed intensity along
    /// their shared boundary stays above <paramref name="ratio"/> × the fainter object's mean: chromatin texture or a
    /// shape split cut one nucleus, whereas two nuclei that touch are separated by a fainter valley.
    /// Boundary pixels between merged objects join them. Returns the new number of labels (1..count, compact).
    /// </summary>
    public static int MergeWithoutValley(int[] labels, int count, float[] smooth, int w, int h, float ratio)
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
        // Boundary pixels: unlabelled, with exactly two labels among their 8 neighbours.
        var pairSum = new Dictionary<long, (double Sum, int Count)>();
        var between = new List<(int Pixel, long Pair)>();
        for (int y = 1; y < h - 1; y++)
            for (int x = 1; x < w - 1; x++)
            {
                int i = y * w + x;
                if (labels[i] != 0)
                    continue;
                int a = 0, b = 0;
                bool more = false;
                for (int dy = -1; dy <= 1 && !more; dy++)
                    for (int dx = -1; dx <= 1; dx++)
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
                between.Add((i, key));
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
        foreach (var (key, v) in pairSum.OrderBy(p => p.Key))
        {
            int a = (int)(key >> 32), b = (int)(key & 0xffffffff);
            double fainter = Math.Min(sum[a] / area[a], sum[b] / area[b]);
            // A boundary of two pixels or fewer is a corner touch, not a shared edge.
            if (v.Count > 2 && v.Sum / v.Count >= ratio * fainter)
            {
                merged.Add(key);
                parent[Find(a)] = Find(b);
            }
        }
        if (merged.Count == 0)
            return count;
        foreach (var (pixel, key) in between)
            if (merged.Contains(key))
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

    private static float[] Smoothed(float[] image, int w, int h, double sigma)
    {
        var result = new float[w * h];
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
        var background = new float[n];
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
                            (m ??= new byte[n])[i] = 255;
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

    /// <summary>Gaussian σ (px) then the 4-neighbour Laplacian with the sign that makes bright blobs positive.</summary>
    public static float[] LaplacianOfGaussian(float[] image, int w, int h, double sigma)
    {
        var result = new float[w * h];
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
        var edm = new float[n];
        unsafe
        {
            fixed (byte* mp = mask)
            fixed (float* ep = edm)
            {
                using var maskMat = Mat.FromPixelData(h, w, MatType.CV_8UC1, (IntPtr)mp);
                using var edmMat = Mat.FromPixelData(h, w, MatType.CV_32FC1, (IntPtr)ep);
                Cv2.DistanceTransform(maskMat, edmMat, DistanceTypes.L2, DistanceTransformMasks.Precise);
            }
        }
        var seeds = Morphology.HMaxima(edm, w, h, tolerance, 0f);
        var labels = Flooding.Components(seeds, w, h, out _);
        Flooding.Flood(edm, labels, w, h, 0f, lines: true);
        for (int i = 0; i < n; i++)
            if (labels[i] == Flooding.Line)
                mask[i] = 0;
    }

    /// <summary>QuPath's excludeDAB: zero the detection plane away from pixels where hematoxylin ≥ DAB.</summary>
    private static void ExcludeDab(float[] work, float[] hematoxylin, float[] dab, int w, int h)
    {
        int n = w * h;
        var keep = new float[n];
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
