using OpenCvSharp;

namespace HistoQuant.Measures;

/// <summary>Small operations on deconvolved planes and label images shared by the object detectors.</summary>
internal static class Planes
{
    /// <summary>
    /// Copies a row-major float plane (possibly a longer pooled array) into a Mat, resampled by area
    /// averaging to about <paramref name="targetMpp"/> when the plane is finer. Returns the µm per pixel of the result.
    /// </summary>
    public static unsafe double Resample(float[] plane, int width, int height, double mpp, double targetMpp, Mat into)
    {
        double scale = mpp < targetMpp * 0.8 ? mpp / targetMpp : 1.0;
        int w = Math.Max(1, (int)Math.Round(width * scale)), h = Math.Max(1, (int)Math.Round(height * scale));
        fixed (float* p = plane)
        {
            using var full = Mat.FromPixelData(height, width, MatType.CV_32FC1, (IntPtr)p, width * 4L);
            if (scale < 1)
                Cv2.Resize(full, into, new Size(w, h), 0, 0, InterpolationFlags.Area);
            else
                full.CopyTo(into);
        }
        return scale < 1 ? mpp / scale : mpp;
    }

    /// <summary>Both deconvolved planes of a region at the detection resolution; returns its µm per pixel.</summary>
    public static double ResampleBoth(float[] counterstain, float[] chromogen, int width, int height, double mpp, double targetMpp, Mat counterstainOut, Mat chromogenOut)
    {
        double px = Resample(counterstain, width, height, mpp, targetMpp, counterstainOut);
        Resample(chromogen, width, height, mpp, targetMpp, chromogenOut);
        return px;
    }

    /// <summary>Gaussian smoothing with σ in pixels; below 0.3 px a blur would do nothing useful, so the plane is copied.</summary>
    public static void Smooth(Mat plane, double sigma, Mat smooth)
    {
        if (sigma > 0.3)
            Cv2.GaussianBlur(plane, smooth, new Size(0, 0), sigma, sigma, BorderTypes.Reflect101);
        else
            plane.CopyTo(smooth);
    }

    /// <summary>The outer contour of one labelled object inside its bounding box, in level-0 coordinates.</summary>
    public static List<(double X, double Y)> Outline(ReadOnlySpan<int> labels, int label, int w, (int X0, int Y0, int X1, int Y1) box, Func<double, double, (double, double)> toLevel0)
    {
        var points = new List<(double, double)>();
        var (x0, y0, x1, y1) = box;
        if (x1 < x0)
            return points;
        using var sub = new Mat(y1 - y0 + 3, x1 - x0 + 3, MatType.CV_8UC1, Scalar.All(0));
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
                if (labels[y * w + x] == label)
                    sub.Set(y - y0 + 1, x - x0 + 1, (byte)255);
        Cv2.FindContours(sub, out Point[][] contours, out _, RetrievalModes.External, ContourApproximationModes.ApproxSimple);
        var best = contours.OrderByDescending(c => c.Length).FirstOrDefault();
        if (best is null)
            return points;
        foreach (var p in best)
            points.Add(toLevel0(p.X + x0 - 1, p.Y + y0 - 1));
        return points;
    }

    public static (int, int, int, int)[] EmptyBoxes(int count)
    {
        var boxes = new (int X0, int Y0, int X1, int Y1)[count];
        Array.Fill(boxes, (int.MaxValue, int.MaxValue, -1, -1));
        return boxes;
    }

    /// <summary>An 8-bit mask (255/0) of the float pixels above a value (Cv2.Compare with a scalar is far slower).</summary>
    public static Mat Binary(Mat values, double above)
    {
        using var f = new Mat();
        Cv2.Threshold(values, f, above, 255, ThresholdTypes.Binary);
        var mask = new Mat();
        f.ConvertTo(mask, MatType.CV_8UC1);
        return mask;
    }

    /// <summary>
    /// In a 0/1 mask, flips the 8-connected components of <paramref name="value"/> smaller than
    /// <paramref name="minPixels"/> to the other value: specks (value 1) or pinholes (value 0).
    /// </summary>
    public static void RemoveSmallComponents(Mat mask, int minPixels, byte value)
    {
        if (minPixels <= 1)
            return;
        using var target = new Mat();
        if (value == 1)
            mask.CopyTo(target);
        else
            Cv2.Compare(mask, Scalar.All(0), target, CmpTypes.EQ);
        using var labels = new Mat();
        using var stats = new Mat();
        using var centroids = new Mat();
        int count = Cv2.ConnectedComponentsWithStats(target, labels, stats, centroids, PixelConnectivity.Connectivity8, MatType.CV_32S);
        var small = new bool[count];
        bool any = false;
        var st = StatsOf(stats, count);
        for (int i = 1; i < count; i++)
        {
            small[i] = Stat(st, i, ConnectedComponentsTypes.Area) < minPixels;
            any |= small[i];
        }
        if (!any)
            return;
        int n = mask.Rows * mask.Cols;
        var lab = Span32(labels, n);
        var m = Span8(mask, n);
        for (int i = 0; i < n; i++)
            if (small[lab[i]])
                m[i] = (byte)(1 - value);
    }

    public static unsafe Span<int> Span32(Mat m, int n) => new((void*)m.Data, n);

    /// <summary>
    /// The rows of ConnectedComponentsWithStats' stats (count × 5 ints, continuous) as one span: Mat.At is a native
    /// call per value, which costs milliseconds per region where a line map has thousands of specks.
    /// </summary>
    public static Span<int> StatsOf(Mat stats, int count) => Span32(stats, count * 5);

    public static int Stat(Span<int> stats, int label, ConnectedComponentsTypes what) => stats[label * 5 + (int)what];
    public static unsafe Span<float> SpanF(Mat m, int n) => new((void*)m.Data, n);
    public static unsafe Span<byte> Span8(Mat m, int n) => new((void*)m.Data, n);
}
