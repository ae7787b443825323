using System.Globalization;
using OpenCvSharp;

namespace HistoQuant.Study.Reports;

/// <summary>
/// A small plotting surface drawn with OpenCV (no plotting package is served here): a frame with nice
/// ticks, axis titles, and helpers to map data to pixels. Text is ASCII (OpenCV's Hershey fonts).
/// </summary>
public sealed class Chart : IDisposable
{
    private const int Width = 720, Height = 520, Left = 80, Right = 24, Top = 44, Bottom = 64;
    private readonly Mat _image = new(Height, Width, MatType.CV_8UC3, Scalar.All(255));
    private readonly double _x0, _x1, _y0, _y1;

    public static readonly Scalar Ink = new(40, 40, 40);
    public static readonly Scalar Grid = new(225, 225, 225);
    public static readonly Scalar[] Palette = [new(180, 119, 31), new(14, 127, 255), new(44, 160, 44), new(40, 39, 214), new(189, 103, 148)];

    public Chart(string title, string xTitle, string yTitle, (double Min, double Max) x, (double Min, double Max) y, IReadOnlyList<string>? xCategories = null)
    {
        (_x0, _x1) = Pad(x);
        (_y0, _y1) = Pad(y);
        foreach (var t in Ticks(_y0, _y1))
        {
            int py = Y(t);
            Cv2.Line(_image, new Point(Left, py), new Point(Width - Right, py), Grid, 1);
            Text(Format(t), new Point(Left - 8, py + 5), 0.45, alignRight: true);
        }
        if (xCategories is null)
            foreach (var t in Ticks(_x0, _x1))
            {
                int px = X(t);
                Cv2.Line(_image, new Point(px, Top), new Point(px, Height - Bottom), Grid, 1);
                Text(Format(t), new Point(px - 12, Height - Bottom + 20), 0.45);
            }
        else
            for (int i = 0; i < xCategories.Count; i++)
                Text(Ascii(xCategories[i]), new Point(X(i) - 20, Height - Bottom + 22), 0.5);
        Cv2.Rectangle(_image, new Point(Left, Top), new Point(Width - Right, Height - Bottom), Ink, 1);
        Text(Ascii(title), new Point(Left, 28), 0.6);
        Text(Ascii(xTitle), new Point(Left + (Width - Left - Right) / 2 - 60, Height - 18), 0.5);
        using var rotated = new Mat(40, Height, MatType.CV_8UC3, Scalar.All(255));
        if (yTitle.Length > 0)
            Cv2.PutText(rotated, Ascii(yTitle), new Point(Top + 10, 26), HersheyFonts.HersheySimplex, 0.5, Ink, 1, LineTypes.AntiAlias);
        using var turned = new Mat();
        Cv2.Rotate(rotated, turned, RotateFlags.Rotate90Counterclockwise);
        using var margin = new Mat(_image, new Rect(4, 0, 40, Height));
        turned.CopyTo(margin);
    }

    public int X(double v) => Left + (int)Math.Round((v - _x0) / (_x1 - _x0) * (Width - Left - Right));
    public int Y(double v) => Height - Bottom - (int)Math.Round((v - _y0) / (_y1 - _y0) * (Height - Top - Bottom));

    public void Point(double x, double y, Scalar colour, int radius = 5) =>
        Cv2.Circle(_image, new Point(X(x), Y(y)), radius, colour, -1, LineTypes.AntiAlias);

    public void Line(double x0, double y0, double x1, double y1, Scalar colour, int thickness = 1) =>
        Cv2.Line(_image, new Point(X(x0), Y(y0)), new Point(X(x1), Y(y1)), colour, thickness, LineTypes.AntiAlias);

    /// <summary>A horizontal line across the plot with a label at its right end.</summary>
    public void HorizontalLine(double y, Scalar colour, string label)
    {
        Cv2.Line(_image, new Point(Left, Y(y)), new Point(Width - Right, Y(y)), colour, 1, LineTypes.AntiAlias);
        Text(Ascii(label), new Point(Width - Right - 150, Y(y) - 6), 0.42, colour);
    }

    public void Legend(IReadOnlyList<(string Label, Scalar Colour)> entries)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            Cv2.Circle(_image, new Point(Width - Right - 150, Top + 16 + 18 * i), 5, entries[i].Colour, -1, LineTypes.AntiAlias);
            Text(Ascii(entries[i].Label), new Point(Width - Right - 140, Top + 21 + 18 * i), 0.45);
        }
    }

    public void Save(string path)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir)
            Directory.CreateDirectory(dir);
        Cv2.ImWrite(path, _image);
    }

    private void Text(string text, Point at, double scale, bool alignRight = false) => Text(text, at, scale, Ink, alignRight);

    private void Text(string text, Point at, double scale, Scalar colour, bool alignRight = false)
    {
        if (text.Length == 0)
            return; // OpenCV refuses empty text
        if (alignRight)
        {
            var size = Cv2.GetTextSize(text, HersheyFonts.HersheySimplex, scale, 1, out _);
            at = new Point(at.X - size.Width, at.Y);
        }
        Cv2.PutText(_image, text, at, HersheyFonts.HersheySimplex, scale, colour, 1, LineTypes.AntiAlias);
    }

    /// <summary>Hershey fonts have no µ or ²: spell them out.</summary>
    public static string Ascii(string s) => new(s.Replace("µ", "u").Replace("²", "2").Replace("α", "a").Replace("β", "b").Where(c => c < 128).ToArray());

    private static (double, double) Pad((double Min, double Max) r)
    {
        if (!(r.Max > r.Min))
            return (r.Min - 1, r.Max + 1);
        double pad = (r.Max - r.Min) * 0.06;
        return (r.Min - pad, r.Max + pad);
    }

    private static IEnumerable<double> Ticks(double lo, double hi)
    {
        double raw = (hi - lo) / 6, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        for (double t = Math.Ceiling(lo / step) * step; t <= hi + step * 1e-9; t += step)
            yield return Math.Abs(t) < step * 1e-9 ? 0 : t;
    }

    private static string Format(double v) => v.ToString(Math.Abs(v) >= 100 ? "0" : "0.##", CultureInfo.InvariantCulture);

    public void Dispose() => _image.Dispose();
}
