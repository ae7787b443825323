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
        // Forward scan: neighbours already visited are left, up-left, up, up-right.
        for (int y = 0; y < h; y++)
        {
            int row = y * w;
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
                marker[i] = m < mask[i] ? m : mask[i];
            }
        }
        // Backward scan, queueing pixels that could still raise a neighbour below its mask.
        var queue = new int[Math.Max(16, n / 8)];
        int head = 0, tail = 0, count = 0;
        void Push(int p)
        {
            if (count == queue.Length)
            {
                var bigger = new int[queue.Length * 2];
                for (int k = 0; k < count; k++)
                    bigger[k] = queue[(head + k) % queue.Length];
                queue = bigger;
                head = 0;
                tail = count;
            }
            queue[tail] = p;
            tail = (tail + 1) % queue.Length;
            count++;
        }
        for (int y = h - 1; y >= 0; y--)
        {
            int row = y * w;
            for (int x = w - 1; x >= 0; x--)
            {
                int i = row + x;
                float m = marker[i];
                if (x < w - 1 && marker[i + 1] > m) m = marker[i + 1];
                if (y < h - 1)
                {
                    int dn = i + w;
                    if (marker[dn] > m) m = marker[dn];
                    if (x < w - 1 && marker[dn + 1] > m) m = marker[dn + 1];
                    if (x > 0 && marker[dn - 1] > m) m = marker[dn - 1];
                }
                m = m < mask[i] ? m : mask[i];
                marker[i] = m;
                bool push = (x < w - 1 && Raisable(i + 1, m)) || (y < h - 1 && (Raisable(i + w, m)
                    || (x < w - 1 && Raisable(i + w + 1, m)) || (x > 0 && Raisable(i + w - 1, m))));
                if (push)
                    Push(i);
            }
        }
        bool Raisable(int q, float level) => marker[q] < level && marker[q] < mask[q];
        while (count > 0)
        {
            int p = queue[head];
            head = (head + 1) % queue.Length;
            count--;
            int px = p % w, py = p / w;
            float level = marker[p];
            for (int dy = -1; dy <= 1; dy++)
            {
                int yy = py + dy;
                if (yy < 0 || yy >= h)
                    continue;
                for (int dx = -1; dx <= 1; dx++)
                {
                    int xx = px + dx;
                    if ((dx | dy) == 0 || xx < 0 || xx >= w)
                        continue;
                    int q = yy * w + xx;
                    if (marker[q] < level && marker[q] != mask[q])
                    {
                        marker[q] = level < mask[q] ? level : mask[q];
                        Push(q);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Regional maxima that stand at least <paramref name="height"/> above every path to a higher maximum
    /// (h-maxima), only where the plane exceeds <paramref name="floor"/>: 255 in the returned mask.
    /// </summary>
    public static byte[] HMaxima(float[] plane, int w, int h, float height, float floor)
    {
        int n = w * h;
        var rec = new float[n];
        for (int i = 0; i < n; i++)
            rec[i] = plane[i] - height;
        ReconstructByDilation(rec, plane, w, h);
        // The tops of the h-dome transform (plane − reconstruction) reach `height` exactly at the kept maxima.
        var mask = new byte[n];
        float near = height * 0.999f;
        for (int i = 0; i < n; i++)
            if (plane[i] > floor && plane[i] - rec[i] >= near)
                mask[i] = 255;
        return mask;
    }

    /// <summary>
    /// Pixels above <paramref name="floor"/> that are at least as high as their 8 neighbours (255 in the mask):
    /// the regional maxima of a plane without plateaus in one pass (h-maxima with h → 0, without a reconstruction).
    /// </summary>
    public static byte[] LocalMaxima(float[] plane, int w, int h, float floor)
    {
        var mask = new byte[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                float v = plane[i];
                if (!(v > floor))
                    continue;
                bool top = true;
                for (int dy = -1; dy <= 1 && top; dy++)
                {
                    int yy = y + dy;
                    if (yy < 0 || yy >= h)
                        continue;
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int xx = x + dx;
                        if (xx >= 0 && xx < w && plane[yy * w + xx] > v)
                        {
                            top = false;
                            break;
                        }
                    }
                }
                if (top)
                    mask[i] = 255;
            }
        return mask;
    }

    /// <summary>Sets to 255 every 0 pixel that no 4-connected path of 0 pixels joins to the image edge.</summary>
    public static void FillHoles(byte[] mask, int w, int h)
    {
        int n = w * h;
        var outside = new bool[n];
        var stack = new int[n];
        int top = 0;
        void Seed(int i)
        {
            if (mask[i] == 0 && !outside[i])
            {
                outside[i] = true;
                stack[top++] = i;
            }
        }
        for (int x = 0; x < w; x++)
        {
            Seed(x);
            Seed((h - 1) * w + x);
        }
        for (int y = 0; y < h; y++)
        {
            Seed(y * w);
            Seed(y * w + w - 1);
        }
        while (top > 0)
        {
            int p = stack[--top];
            int x = p % w;
            if (x > 0) Seed(p - 1);
            if (x < w - 1) Seed(p + 1);
            if (p >= w) Seed(p - w);
            if (p < n - w) Seed(p + w);
        }
        for (int i = 0; i < n; i++)
            if (mask[i] == 0 && !outside[i])
                mask[i] = 255;
    }
}
