using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace HistoQuant.Measures.Cells;

/// <summary>
/// Marker-controlled watershed by flooding from the top: labelled seeds grow, brightest pixels first, into
/// unlabelled 4-connected neighbours above a floor. The priority queue is a bucket queue over the value range
/// (4096 levels, FIFO inside a level), so flooding is O(pixels) with no per-pixel allocation.
/// </summary>
public static class Flooding
{
    /// <summary>Label of a watershed line pixel (a pixel two different basins reached).</summary>
    public const int Line = -1;

    /// <param name="plane">Values to flood by (higher first).</param>
    /// <param name="labels">Seeds (&gt; 0) on entry; on return every pixel above the floor that a seed reached
    /// carries its label, or <see cref="Line"/> where <paramref name="lines"/> and two basins meet.</param>
    /// <param name="floor">Pixels at or below it are never flooded.</param>
    /// <param name="lines">Keep one-pixel lines between basins (else a pixel joins the first basin to reach it).</param>
    public static void Flood(float[] plane, int[] labels, int w, int h, float floor, bool lines, int levels = 4096)
    {
        int n = w * h;
        float max = float.NegativeInfinity;
        for (int i = 0; i < n; i++)
            if (plane[i] > max)
                max = plane[i];
        if (!(max > floor))
            return;
        levels = Math.Min(levels, Math.Max(64, n / 2)); // small images (one object) need no more levels than pixels
        float scale = (levels - 1) / (max - floor);
        var head = new int[levels];
        var tail = new int[levels];
        Array.Fill(head, -1);
        var next = Scratch.Uninitialized<int>(n);
        var queued = Scratch.Zeroed<bool>(n);
        int cur = levels - 1;
        Span<int> around = stackalloc int[4];
        int seedScan = 0;
        for (int p = -1; ;)
        {
            if (p >= 0)
            {
                int x = p % w, count = 0;
                if (x > 0) around[count++] = p - 1;
                if (x < w - 1) around[count++] = p + 1;
                if (p >= w) around[count++] = p - w;
                if (p < n - w) around[count++] = p + w;
                int label = labels[p];
                if (lines && label == 0)
                {
                    // Labelled at its turn: by its labelled neighbours, or a line where two basins meet.
                    bool conflict = false;
                    for (int k = 0; k < count; k++)
                    {
                        int l = labels[around[k]];
                        if (l <= 0)
                            continue;
                        if (label == 0)
                            label = l;
                        else if (l != label)
                            conflict = true;
                    }
                    if (conflict || label == 0)
                    {
                        labels[p] = Line;
                        label = 0;
                    }
                    else
                        labels[p] = label;
                }
                if (label > 0)
                    for (int k = 0; k < count; k++)
                    {
                        int q = around[k];
                        if (queued[q] || labels[q] != 0 || !(plane[q] > floor))
                            continue;
                        queued[q] = true;
                        if (!lines)
                            labels[q] = label;
                        int b = (int)((plane[q] - floor) * scale);
                        if (b > cur)
                            b = cur; // a higher pixel found late is taken at the current level
                        next[q] = -1;
                        if (head[b] < 0)
                            head[b] = q;
                        else
                            next[tail[b]] = q;
                        tail[b] = q;
                    }
            }
            // Next pixel: first the seeds themselves (in raster order), then the queue from the top level down.
            if (seedScan < n)
            {
                while (seedScan < n && (labels[seedScan] <= 0 || queued[seedScan]))
                    seedScan++;
                if (seedScan < n)
                {
                    p = seedScan++;
                    continue;
                }
            }
            while (cur >= 0 && head[cur] < 0)
                cur--;
            if (cur < 0)
                break;
            p = head[cur];
            head[cur] = next[p];
        }
        Scratch.Release(next);
        Scratch.Release(queued);
    }

    /// <summary>4-connected components of the non-zero pixels of a mask, labelled 1..count (in raster order of first pixel).</summary>
    public static unsafe int[] Components(byte[] mask, int w, int h, out int count)
    {
        if (w * h < 1 << 16)
            return SmallComponents(mask, w, h, out count); // OpenCV's per-call overhead dominates on small images
        var labels = Scratch.Uninitialized<int>(w * h);
        fixed (byte* mp = mask)
        fixed (int* lp = labels)
        {
            using var m = OpenCvSharp.Mat.FromPixelData(h, w, OpenCvSharp.MatType.CV_8UC1, (IntPtr)mp);
            using var l = OpenCvSharp.Mat.FromPixelData(h, w, OpenCvSharp.MatType.CV_32SC1, (IntPtr)lp);
            count = OpenCvSharp.Cv2.ConnectedComponents(m, l, OpenCvSharp.PixelConnectivity.Connectivity4, OpenCvSharp.MatType.CV_32S) - 1;
        }
        return labels;
    }

    /// <summary>
    /// Watershed by steepest ascent: every pixel above the floor follows its highest 8-neighbour uphill until a
    /// pixel with no higher neighbour (a regional maximum; touching equal maxima are one), and takes that maximum's
    /// basin label 1..count. One pass plus path compression; no queue. The basins are those of a flooding from every
    /// regional maximum up to ties on the ridges.
    /// </summary>
    public static int[] SteepestAscentBasins(float[] plane, int w, int h, float floor, out int count)
    {
        int n = w * h;
        var up = Scratch.Uninitialized<int>(n);
        for (int y = 0; y < h; y++)
        {
            int x = 0;
            if (Vector256.IsHardwareAccelerated && y > 0 && y < h - 1)
            {
                // Interior rows, eight pixels at a time: the same strict comparisons in the same neighbour order as
                // the scalar code (the first of equal highest neighbours wins), so the same pointers.
                UphillOf(plane, up, w, h, 0, y, floor);
                ref float p0 = ref MemoryMarshal.GetArrayDataReference(plane);
                ref int u0 = ref MemoryMarshal.GetArrayDataReference(up);
                var floorV = Vector256.Create(floor);
                var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
                var none = Vector256.Create(-1);
                for (x = 1; x + Vector256<float>.Count <= w - 1; x += Vector256<float>.Count)
                {
                    nuint i = (nuint)(y * w + x);
                    var v = Vector256.LoadUnsafe(ref p0, i);
                    var top = v;
                    var step = Vector256<int>.Zero;
                    Higher(ref p0, i - (nuint)w - 1, -w - 1, ref top, ref step);
                    Higher(ref p0, i - (nuint)w, -w, ref top, ref step);
                    Higher(ref p0, i - (nuint)w + 1, -w + 1, ref top, ref step);
                    Higher(ref p0, i - 1, -1, ref top, ref step);
                    Higher(ref p0, i + 1, 1, ref top, ref step);
                    Higher(ref p0, i + (nuint)w - 1, w - 1, ref top, ref step);
                    Higher(ref p0, i + (nuint)w, w, ref top, ref step);
                    Higher(ref p0, i + (nuint)w + 1, w + 1, ref top, ref step);
                    var target = Vector256.Create((int)i) + lane + step;
                    Vector256.ConditionalSelect(Vector256.GreaterThan(v, floorV).AsInt32(), target, none).StoreUnsafe(ref u0, i);
                }
            }
            for (; x < w; x++)
                UphillOf(plane, up, w, h, x, y, floor);
        }
        // Maxima: pixels that point at themselves; equal maxima that touch are joined (union by the smaller index).
        for (int i = 0; i < n; i++)
        {
            if (up[i] != i)
                continue;
            int x = i % w;
            // Only earlier neighbours (left, up-left, up, up-right): each touching pair is seen once.
            Span<int> before = [x > 0 ? i - 1 : -1, x > 0 && i >= w ? i - w - 1 : -1, i >= w ? i - w : -1, x < w - 1 && i >= w ? i - w + 1 : -1];
            foreach (int q in before)
                if (q >= 0 && up[q] >= 0 && plane[q] == plane[i] && Root(up, q) is int r && r != i)
                {
                    up[i] = r;
                    break;
                }
        }
        var labels = Scratch.Zeroed<int>(n);
        count = 0;
        for (int i = 0; i < n; i++)
            if (up[i] == i)
                labels[i] = ++count;
        for (int i = 0; i < n; i++)
        {
            int u = up[i];
            // An uphill neighbour before this pixel already holds its final label.
            if (u >= 0)
                labels[i] = u < i ? labels[u] : labels[Root(up, i)];
        }
        Scratch.Release(up);
        return labels;
    }

    /// <summary>Where pixel (x, y) points: its first strictly highest 8-neighbour above itself, itself if none, −1 at or below the floor.</summary>
    private static void UphillOf(float[] plane, int[] up, int w, int h, int x, int y, float floor)
    {
        int i = y * w + x;
        float v = plane[i];
        if (!(v > floor))
        {
            up[i] = -1;
            return;
        }
        int best = i;
        float top = v;
        int y0 = y > 0 ? -1 : 0, y1 = y < h - 1 ? 1 : 0, x0 = x > 0 ? -1 : 0, x1 = x < w - 1 ? 1 : 0;
        for (int dy = y0; dy <= y1; dy++)
        {
            int row = i + dy * w;
            for (int dx = x0; dx <= x1; dx++)
            {
                float q = plane[row + dx];
                if (q > top)
                {
                    top = q;
                    best = row + dx;
                }
            }
        }
        up[i] = best;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Higher(ref float p0, nuint at, int offset, ref Vector256<float> top, ref Vector256<int> step)
    {
        var q = Vector256.LoadUnsafe(ref p0, at);
        var higher = Vector256.GreaterThan(q, top);
        top = Vector256.ConditionalSelect(higher, q, top);
        step = Vector256.ConditionalSelect(higher.AsInt32(), Vector256.Create(offset), step);
    }

    private static int Root(int[] up, int i)
    {
        int r = i;
        while (up[r] != r)
            r = up[r];
        while (up[i] != r)
        {
            int next = up[i];
            up[i] = r;
            i = next;
        }
        return r;
    }

    private static int[] SmallComponents(byte[] mask, int w, int h, out int count)
    {
        int n = w * h;
        var labels = new int[n];
        var stack = new int[n];
        count = 0;
        for (int s = 0; s < n; s++)
        {
            if (mask[s] == 0 || labels[s] != 0)
                continue;
            int label = ++count, top = 0;
            labels[s] = label;
            stack[top++] = s;
            while (top > 0)
            {
                int p = stack[--top];
                int x = p % w;
                if (x > 0 && mask[p - 1] != 0 && labels[p - 1] == 0) { labels[p - 1] = label; stack[top++] = p - 1; }
                if (x < w - 1 && mask[p + 1] != 0 && labels[p + 1] == 0) { labels[p + 1] = label; stack[top++] = p + 1; }
                if (p >= w && mask[p - w] != 0 && labels[p - w] == 0) { labels[p - w] = label; stack[top++] = p - w; }
                if (p < n - w && mask[p + w] != 0 && labels[p + w] == 0) { labels[p + w] = label; stack[top++] = p + w; }
            }
        }
        return labels;
    }
}
