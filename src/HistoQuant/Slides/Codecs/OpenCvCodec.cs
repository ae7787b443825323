using OpenCvSharp;

namespace HistoQuant.Slides.Codecs;

/// <summary>
/// Decodes one compressed tile (JPEG, JPEG 2000, PNG...) with OpenCV's codecs (libjpeg-turbo, OpenJPEG)
/// and writes it as packed RGB into the caller's buffer, in one pass (OpenCV decodes to BGR).
/// </summary>
internal static class OpenCvCodec
{
    static OpenCvCodec()
    {
        // OpenJPEG warns once per tile that Aperio codestreams carry no colour space; errors still surface as empty images.
        Cv2.SetLogLevel(LogLevel.ERROR);
    }

    /// <returns>The decoded image's width and height; (0,0) when the data is not decodable.</returns>
    public static unsafe (int Width, int Height) DecodeToRgb(ReadOnlySpan<byte> encoded, Span<byte> dst, int dstWidth, int dstHeight)
    {
        using var mat = Cv2.ImDecode(encoded, ImreadModes.Color);
        if (mat.Empty() || mat.Type() != MatType.CV_8UC3)
            return (0, 0);
        int w = Math.Min(mat.Cols, dstWidth), h = Math.Min(mat.Rows, dstHeight);
        fixed (byte* p = dst)
        {
            using var target = Mat.FromPixelData(h, w, MatType.CV_8UC3, (IntPtr)p, dstWidth * 3L);
            using var source = mat[new Rect(0, 0, w, h)];
            Cv2.CvtColor(source, target, ColorConversionCodes.BGR2RGB);
        }
        return (mat.Cols, mat.Rows);
    }
}
