using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using OpenCvSharp;

namespace HistoQuant.Measures.Cells;

/// <summary>
/// Grey-level morphology on row-major float planes, as the nucleus detector needs it: ImageJ-style circular rank
/// filters (min, max, median), grey-level reconstruction by dilation (Vincent's hybrid raster + FIFO algorithm),
/// h-maxima and hole filling. No per-pixel allocations; everything is O(pixels) or O(pixels × kernel).
/// </summary>
public static class Morphology
{
    /// <summary>
    /// Offsets of ImageJ's circular kernel of the given radius: the rows dy in [-r, r] with half-widths
    /// floor(sqrt(r² + 1 − dy²)), r = floor(sqrt(radius² + 1)). Radius 0.5 gives a 3×3 cross, 1 a 3×3 square.
    /// </summary>
    public static int[] HalfWidths(double radius)
    {
        double r2 = radius * radius + 1;
        int kr = (int)Math.Sqrt(r2 + 1e-10);
        var half = new int[2 * kr + 1];
        for (int dy = -kr; dy <= kr; dy++)
            half[dy + kr] = (int)Math.Sqrt(r2 - dy * dy + 1e-10);
        return half;
    }

    /// <summary>The circular kernel as an OpenCV structuring element.</summary>
    public static Mat DiscElement(double radius)
    {
        var half = HalfWidths(radius);
        int kr = half.Length / 2;
        var k = new Mat(2 * kr + 1, 2 * kr + 1, MatType.CV_8UC1, Scalar.All(0));
        for (int dy = -kr; dy <= kr; dy++)
            for (int dx = -half[dy + kr]; dx <= half[dy + kr]; dx++)
                k.Set(dy + kr, dx + kr, (byte)1);
        return k;
    }

    /// <summary>Minimum (erode: true) or maximum over the circular kernel; pixels beyond the edge repeat the edge.</summary>
    public static void Rank(Mat src, Mat dst, double radius, bool erode)
    {
        using var element = DiscElement(radius);
        if (erode)
            Cv2.Erode(src, dst, element, null, 1, BorderTypes.Replicate);
        else
            Cv2.Dilate(src, dst, element, null, 1, BorderTypes.Replicate);
    }

    /// <summary>Median over the circular kernel (edges repeated), into a new plane.</summary>
    public static float[] Median(float[] src, int w, int h, double radius)
    {
        var half = HalfWidths(radius);
        int kr = half.Length / 2, size = 0;
        foreach (var x in half)
            size += 2 * x + 1;
        var dst = new float[src.Length];
        var window = new float[size];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int k = 0;
                for (int dy = -kr; dy <= kr; dy++)
                {
                    int yy = Math.Clamp(y + dy, 0, h - 1) * w, hw = half[dy + kr];
                    for (int dx = -hw; dx <= hw; dx++)
                        window[k++] = src[yy + Math.Clamp(x + dx, 0, w - 1)];
                }
                dst[y * w + x] = Select(window, size / 2);
            }
        return dst;
    }

    private static float Select(float[] a, int k)
    {
        int lo = 0, hi = a.Length - 1;
        while (lo < hi)
        {
            float pivot = a[(lo + hi) >> 1];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j)
                {
                    (a[i], a[j]) = (a[j], a[i]);
                    i++;
                    j--;
                }
            }
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else break;
        }
        return a[k];
    }

    /// <summary>
    /// Grey-level reconstruction by dilation of <paramref name="marker"/> under <paramref name="mask"/>, in place,
    /// 8-connected: the largest image ≤ mask whose regional maxima all come from the marker (Vincent 1993: a
    /// forward and a backward raster scan, then a FIFO queue for what the scans could not reach).
    /// The marker is first clipped to the mask.
    /// </summary>
    public static void ReconstructByDilation(float[] marker, float[] mask, int w, int h)
    {
        int n = w * h;
        for (int i = 0; i < n; i++)
            if (marker[i] > mask[i])
                marker[i] = mask[i];
        // Raster scan pairs while they still change much (sequential memory access is far cheaper than the queue's
        // scattered one), then Vincent's hybrid: a last pair whose backward scan seeds the FIFO queue.
        for (int pass = 0; pass < 8; pass++)
        {
            ForwardScan(marker, mask, w, h);
            if (BackwardScan(marker, mask, w, h) < n / 64)
                break;
        }
        ForwardScan(marker, mask, w, h);
        Propagate(marker, mask, w, h);
    }

    private static void ForwardScan(float[] marker, float[] mask, int w, int h)
    {
        // Neighbours already visited are left, up-left, up, up-right. The three above are final before the row
        // starts, so their maximum with the pixel itself is taken eight pixels at a time; only the left
        // neighbour's chain stays serial.
        float[]? above = w >= 10 && Vector256.IsHardwareAccelerated ? new float[w] : null;
        for (int y = 0; y < h; y++)
        {
            int row = y * w;
            if (y > 0 && above is not null)
            {
                RowMax3(marker, row, row - w, w, above);
                marker[row] = Math.Min(above[0], mask[row]);
                for (int x = 1; x < w; x++)
                {
                    int i = row + x;
                    float m = above[x], l = marker[i - 1];
                    if (l > m) m = l;
                    float k = mask[i];
                    marker[i] = m < k ? m : k;
                }
                continue;
            }
            for (int x = 0; x < w; x++)
            {
                int i = row + x;
                float m = marker[i];
                if (x > 0 && marker[i - 1] > m) m = marker[i - 1];
                if (y > 0)
                {
                    int up = i - w;
                    if (marker[up] > m) m = marker[up];
                    if (x > 0 && marker[up - 1] > m) m = marker[up - 1];
                    if (x < w - 1 && marker[up + 1] > m) m = marker[up + 1];
                }
                float k = mask[i];
                marker[i] = m < k ? m : k;
            }
        }
    }

    /// <summary>A backward raster scan; returns how many pixels it raised.</summary>
    private static int BackwardScan(float[] marker, float[] mask, int w, int h)
    {
        int changed = 0;
        float[]? below = w >= 10 && Vector256.IsHardwareAccelerated ? new float[w] : null;
        for (int y = h - 1; y >= 0; y--)
        {
            int row = y * w;
            if (y < h - 1 && below is not null)
            {
                RowMax3(marker, row, row + w, w, below);
                for (int x = w - 1; x >= 0; x--)
                {
                    int i = row + x;
                    float m = below[x], old = marker[i];
                    if (x < w - 1 && marker[i + 1] > m) m = marker[i + 1];
                    float k = mask[i];
                    m = m < k ? m : k;
                    if (m != old)
                    {
                        marker[i] = m;
                        changed++;
                    }
                }
                continue;
            }
            for (int x = w - 1; x >= 0; x--)
            {
                int i = row + x;
                float m = marker[i], old = m;
                if (x < w - 1 && marker[i + 1] > m) m = marker[i + 1];
                if (y < h - 1)
                {
                    int dn = i + w;
                    if (marker[dn] > m) m = marker[dn];
                    if (x < w - 1 && marker[dn + 1] > m) m = marker[dn + 1];
                    if (x > 0 && marker[dn - 1] > m) m = marker[dn - 1];
                }
                float k = mask[i];
                m = m < k ? m : k;
                if (m != old)
                {
                    marker[i] = m;
                    changed++;
                }
            }
        }
        return changed;
    }

    /// <summary>
    /// The maximum of each pixel of a row and the three nearest of a neighbouring row (two at the row's ends), into
    /// <paramref name="result"/>. The planes hold no NaN, so the maximum is the same whichever order takes it.
    /// </summary>
    private static void RowMax3(float[] marker, int row, int other, int w, float[] result)
    {
        result[0] = Math.Max(Math.Max(marker[row], marker[other]), marker[other + 1]);
        result[w - 1] = Math.Max(Math.Max(marker[row + w - 1], marker[other + w - 1]), marker[other + w - 2]);
        ref float m0 = ref MemoryMarshal.GetArrayDataReference(marker);
        ref float r0 = ref MemoryMarshal.GetArrayDataReference(result);
        int x = 1;
        for (; x + Vector256<float>.Count <= w - 1; x += Vector256<float>.Count)
        {
            var v = Vector256.Max(Vector256.LoadUnsafe(ref m0, (nuint)(row + x)), Vector256.LoadUnsafe(ref m0, (nuint)(other + x)));
            v = Vector256.Max(v, Vector256.LoadUnsafe(ref m0, (nuint)(other + x - 1)));
            v = Vector256.Max(v, Vector256.LoadUnsafe(ref m0, (nuint)(other + x + 1)));
            v.StoreUnsafe(ref r0, (nuint)x);
        }
        for (; x < w - 1; x++)
            result[x] = Math.Max(Math.Max(marker[row + x], marker[other + x]), Math.Max(marker[other + x - 1], marker[other + x + 1]));
    }

    /// <summary>The last backward scan, queueing pixels that could still raise a neighbour, then the FIFO.</summary>
    private static void Propagate(float[] marker, float[] mask, int w, int h)
    {
        int n = w * h;
        var queue = new int[Math.Max(64, n / 16)];
        int head = 0, tail = 0;
        for (int y = h - 1; y >= 0; y--)
        {
            int row = y * w;
            for (int x = w - 1; x >= 0; x--)
            {
                int i = row + x;
                float m = marker[i];
                bool right = x < w - 1, down = y < h - 1, left = x > 0;
                if (right && marker[i + 1] > m) m = marker[i + 1];
                if (down)
                {
                    int dn = i + w;
                    if (marker[dn] > m) m = marker[dn];
                    if (right && marker[dn + 1] > m) m = marker[dn + 1];
                    if (left && marker[dn - 1] > m) m = marker[dn - 1];
                }
                float k = mask[i];
                m = m < k ? m : k;
                marker[i] = m;
                if ((right && marker[i + 1] < m && marker[i + 1] < mask[i + 1])
                    || (down && ((marker[i + w] < m && marker[i + w] < mask[i + w])
                        || (right && marker[i + w + 1] < m && marker[i + w + 1] < mask[i + w + 1])
                        || (left && marker[i + w - 1] < m && marker[i + w - 1] < mask[i + w - 1]))))
                {
                    if (tail == queue.Length)
                        Grow(ref queue, ref head, ref tail);
                    queue[tail++] = i;
                }
            }
        }
        // FIFO propagation.
        while (head < tail)
        {
            int p = queue[head++];
            int py = p / w, px = p - py * w;
            float level = marker[p];
            int y0 = py > 0 ? -1 : 0, y1 = py < h - 1 ? 1 : 0, x0 = px > 0 ? -1 : 0, x1 = px < w - 1 ? 1 : 0;
            for (int dy = y0; dy <= y1; dy++)
            {
                int rowq = p + dy * w;
                for (int dx = x0; dx <= x1; dx++)
                {
                    int q = rowq + dx;
                    float mq = marker[q], kq = mask[q];
                    if (mq < level && mq != kq)
                    {
                        marker[q] = level < kq ? level : kq;
                        if (tail == queue.Length)
                            Grow(ref queue, ref head, ref tail);
                        queue[tail++] = q;
                    }
                }
            }
        }
    }

    /// <summary>Makes room at the end of a linear queue: drops the consumed head, doubling when still full.</summary>
    internal static void Grow(ref int[] queue, ref int head, ref int tail)
    {
        int live = tail - head;
        var target = live * 2 > queue.Length ? new int[queue.Length * 2] : queue;
        Array.Copy(queue, head, target, 0, live);
        queue = target;
        head = 0;
        tail = live;
    }

    /// <summary>
    /// Regional maxima that stand at least <paramref name="height"/> above every path to a higher maximum
    /// (h-maxima), only where the plane exceeds <paramref name="floor"/>: 255 in the returned mask.
    /// </summary>
    public static byte[] HMaxima(float[] plane, int w, int h, float height, float floor)
    {
        int n = w * h;
        var rec = Scratch.Uninitialized<float>(n);
        for (int i = 0; i < n; i++)
            rec[i] = plane[i] - height;
        ReconstructByDilation(rec, plane, w, h);
        // The tops of the h-dome transform (plane − reconstruction) reach `height` exactly at the kept maxima.
        var mask = Scratch.Zeroed<byte>(n);
        float near = height * 0.999f;
        for (int i = 0; i < n; i++)
            if (plane[i] > floor && plane[i] - rec[i] >= near)
                mask[i] = 255;
        Scratch.Release(rec);
        return mask;
    }

    /// <summary>Sets to 255 every 0 pixel that no 4-connected path of 0 pixels joins to the image edge.</summary>
    public static unsafe void FillHoles(byte[] mask, int w, int h)
    {
        // A one-pixel empty frame joins everything outside; one flood fill from a corner marks it (128).
        using var framed = new Mat(h + 2, w + 2, MatType.CV_8UC1, Scalar.All(0));
        fixed (byte* mp = mask)
        {
            using var m = Mat.FromPixelData(h, w, MatType.CV_8UC1, (IntPtr)mp);
            using var inner = new Mat(framed, new Rect(1, 1, w, h));
            m.CopyTo(inner);
        }
        Cv2.FloodFill(framed, new Point(0, 0), Scalar.All(128), out _, Scalar.All(0), Scalar.All(0), FloodFillFlags.Link4);
        int n = w * h;
        byte* f = (byte*)framed.Data;
        long step = framed.Step();
        for (int y = 0; y < h; y++)
        {
            byte* row = f + (y + 1) * step + 1;
            int o = y * w;
            for (int x = 0; x < w; x++)
                if (row[x] == 0)
                    mask[o + x] = 255;
        }
    }

    /// <summary>
    /// Exact Euclidean distance of every non-zero pixel to the nearest zero pixel (zero pixels get 0; pixels beyond
    /// the image edge do not count as zero): Felzenszwalb and Huttenlocher's separable squared-distance transform.
    /// </summary>
    public static float[] DistanceToZero(byte[] mask, int w, int h)
    {
        int n = w * h;
        const float Far = 1e20f;
        var d = Scratch.Uninitialized<float>(n);
        for (int i = 0; i < n; i++)
            d[i] = mask[i] == 0 ? 0 : Far;
        int m = Math.Max(w, h);
        var f = new float[m];
        var z = new float[m + 1];
        var v = new int[m];
        var result = new float[m];
        for (int x = 0; x < w; x++)
        {
            for (int y = 0; y < h; y++)
                f[y] = d[y * w + x];
            Transform1D(f, h, v, z, result);
            for (int y = 0; y < h; y++)
                d[y * w + x] = result[y];
        }
        for (int y = 0; y < h; y++)
        {
            Array.Copy(d, y * w, f, 0, w);
            Transform1D(f, w, v, z, result);
            for (int x = 0; x < w; x++)
                d[y * w + x] = MathF.Sqrt(result[x]);
        }
        return d;
    }

    private static void Transform1D(float[] f, int n, int[] v, float[] z, float[] d)
    {
        int k = 0;
        v[0] = 0;
        z[0] = float.NegativeInfinity;
        z[1] = float.PositiveInfinity;
        for (int q = 1; q < n; q++)
        {
            // z[0] is −∞, so k never drops below 0. (Zero pixels are 0 and others 1e20, not ∞: no ∞ − ∞.)
            float s;
            while (true)
            {
                int p = v[k];
                s = ((f[q] + q * q) - (f[p] + p * p)) / (2f * q - 2f * p);
                if (s > z[k])
                    break;
                k--;
            }
            k++;
            v[k] = q;
            z[k] = s;
            z[k + 1] = float.PositiveInfinity;
        }
        k = 0;
        for (int q = 0; q < n; q++)
        {
            while (z[k + 1] < q)
                k++;
            float dq = q - v[k];
            d[q] = dq * dq + f[v[k]];
        }
    }
}
