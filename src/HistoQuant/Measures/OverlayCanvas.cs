using OpenCvSharp;

namespace HistoQuant.Measures;

/// <summary>The QC overlay being drawn: a BGR image of the slide at <see cref="Scale"/> × level 0.</summary>
public sealed record OverlayCanvas(Mat Bgr, double Scale, int MarkRadius)
{
    public Point At(double x, double y) => new((int)(x * Scale), (int)(y * Scale));

    public static Scalar Colour(int[] rgb) => new(rgb[2], rgb[1], rgb[0]);
}
