namespace HistoQuant.Tests;

/// <summary>Tiny synthetic planes for the cell detector's unit tests.</summary>
internal static class CellTestImages
{
    /// <summary>Adds <paramref name="value"/> inside a disc of radius r (pixels) centred at (cx, cy).</summary>
    public static void Disc(float[] plane, int w, double cx, double cy, double r, float value)
    {
        for (int i = 0; i < plane.Length; i++)
        {
            double x = i % w, y = i / w;
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
                plane[i] += value;
        }
    }

    /// <summary>A 0/255 mask of a disc.</summary>
    public static void Disc(byte[] mask, int w, double cx, double cy, double r)
    {
        for (int i = 0; i < mask.Length; i++)
        {
            double x = i % w, y = i / w;
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
                mask[i] = 255;
        }
    }
}
