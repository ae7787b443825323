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
        float scale = (levels - 1) / (max - floor);
        var head = new int[levels];
        var tail = new int[levels];
        Array.Fill(head, -1);
        var next = new int[n];
        var queued = new bool[n];
        int cur = levels - 1;

        void Push(int q, int from)
        {
            if (queued[q] || labels[q] != 0 || !(plane[q] > floor))
                return;
            queued[q] = true;
            if (!lines)
                labels[q] = labels[from];
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

        void PushNeighbours(int p)
        {
            int x = p % w;
            if (x > 0) Push(p - 1, p);
            if (x < w - 1) Push(p + 1, p);
            if (p >= w) Push(p - w, p);
            if (p < n - w) Push(p + w, p);
        }

        for (int i = 0; i < n; i++)
            if (labels[i] > 0)
                PushNeighbours(i);
        while (cur >= 0)
        {
            int p = head[cur];
            if (p < 0)
            {
                cur--;
                continue;
            }
            head[cur] = next[p];
            if (lines)
            {
                int label = 0, x = p % w;
                bool conflict = false;
                void Look(int q)
                {
                    int l = labels[q];
                    if (l <= 0)
                        return;
                    if (label == 0)
                        label = l;
                    else if (l != label)
                        conflict = true;
                }
                if (x > 0) Look(p - 1);
                if (x < w - 1) Look(p + 1);
                if (p >= w) Look(p - w);
                if (p < n - w) Look(p + w);
                if (conflict || label == 0)
                {
                    labels[p] = Line;
                    continue;
                }
                labels[p] = label;
            }
            PushNeighbours(p);
        }
    }

    /// <summary>4-connected components of the non-zero pixels of a mask, labelled 1..count.</summary>
    public static int[] Components(byte[] mask, int w, int h, out int count)
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
