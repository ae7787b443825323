namespace HistoQuant.Slides.Codecs;

/// <summary>Turns decompressed 8-bit TIFF samples into packed RGB.</summary>
internal static class PixelUnpack
{
    /// <summary>Undoes TIFF horizontal differencing (Predictor=2) for 8-bit samples, row by row.</summary>
    public static void UndoHorizontalPredictor(Span<byte> data, int width, int rows, int samplesPerPixel)
    {
        int stride = width * samplesPerPixel;
        for (int y = 0; y < rows; y++)
        {
            var row = data.Slice(y * stride, stride);
            for (int i = samplesPerPixel; i < stride; i++)
                row[i] += row[i - samplesPerPixel];
        }
    }

    /// <summary>
    /// Copies <paramref name="rows"/> rows of <paramref name="width"/> pixels into an RGB tile buffer whose
    /// row stride is <paramref name="dstStride"/> bytes. Gray is replicated, extra samples (alpha) dropped.
    /// </summary>
    public static void ToRgb(ReadOnlySpan<byte> src, int width, int rows, int samplesPerPixel, bool minIsWhite, Span<byte> dst, int dstStride,
        TiffAlpha alpha = TiffAlpha.None)
    {
        int srcStride = width * samplesPerPixel;
        int colours = samplesPerPixel >= 3 ? 3 : 1;
        // The sample after the colours is alpha only when ExtraSamples says so (0 = unspecified data, ignored).
        bool hasAlpha = alpha != TiffAlpha.None && samplesPerPixel > colours;
        for (int y = 0; y < rows; y++)
        {
            var s = src.Slice(y * srcStride, srcStride);
            var d = dst.Slice(y * dstStride, width * 3);
            if (samplesPerPixel == 3)
            {
                s.CopyTo(d);
                continue;
            }
            for (int x = 0; x < width; x++)
            {
                int i = x * samplesPerPixel;
                for (int c = 0; c < 3; c++)
                {
                    int v = s[i + (colours == 3 ? c : 0)];
                    if (colours == 1 && minIsWhite) v = 255 - v;
                    if (hasAlpha)
                    {
                        // Composited over white, as glass: a transparent pixel must not read as dark stain.
                        int a = s[i + colours];
                        v = alpha == TiffAlpha.Associated ? Math.Min(255, v + 255 - a) : (v * a + 255 * (255 - a) + 127) / 255;
                    }
                    d[x * 3 + c] = (byte)v;
                }
            }
        }
    }

    /// <summary>Full-range ITU-R BT.601 YCbCr to RGB, in place (Aperio 33003 JPEG 2000 tiles).</summary>
    public static void YCbCrToRgbInPlace(Span<byte> rgb, int width, int rows, int stride)
    {
        for (int y = 0; y < rows; y++)
        {
            var row = rgb.Slice(y * stride, width * 3);
            for (int x = 0; x < row.Length; x += 3)
            {
                double luma = row[x], cb = row[x + 1] - 128.0, cr = row[x + 2] - 128.0;
                row[x] = Clamp(luma + 1.402 * cr);
                row[x + 1] = Clamp(luma - 0.344136 * cb - 0.714136 * cr);
                row[x + 2] = Clamp(luma + 1.772 * cb);
            }
        }
    }

    private static byte Clamp(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);
}

/// <summary>What TIFF's ExtraSamples says the sample after the colours is.</summary>
public enum TiffAlpha { None, Associated, Unassociated }
