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
    public static void ToRgb(ReadOnlySpan<byte> src, int width, int rows, int samplesPerPixel, bool minIsWhite, Span<byte> dst, int dstStride)
    {
        int srcStride = width * samplesPerPixel;
        for (int y = 0; y < rows; y++)
        {
            var s = src.Slice(y * srcStride, srcStride);
            var d = dst.Slice(y * dstStride, width * 3);
            if (samplesPerPixel == 3)
                s.CopyTo(d);
            else if (samplesPerPixel >= 4)
            {
                for (int x = 0; x < width; x++)
                {
                    d[x * 3] = s[x * samplesPerPixel];
                    d[x * 3 + 1] = s[x * samplesPerPixel + 1];
                    d[x * 3 + 2] = s[x * samplesPerPixel + 2];
                }
            }
            else
            {
                for (int x = 0; x < width; x++)
                {
                    byte v = s[x * samplesPerPixel];
                    if (minIsWhite) v = (byte)(255 - v);
                    d[x * 3] = d[x * 3 + 1] = d[x * 3 + 2] = v;
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
