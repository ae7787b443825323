using System.Buffers.Binary;
using OpenCvSharp;
using HistoQuant.Slides.Codecs;
using HistoQuant.Slides.Tiff;

namespace HistoQuant.Slides;

/// <summary>
/// A plain PNG or JPEG image (a photographed field, a cropped region). These are small by nature, so the
/// image is decoded once and served as 512 px tiles. Pixel size comes from the PNG pHYs chunk when it is
/// plausible for a microscope.
/// </summary>
public sealed class ImageFileSlide : ISlide
{
    private const int Tile = 512;
    // A plain image is decoded whole: 150 Mpx is 450 MB of RGB. Larger images belong in a tiled TIFF.
    private const long MaxPixels = 150_000_000;

    private readonly Mat _rgb;

    public string Path { get; }
    public string Format => "image";
    public IReadOnlyList<SlideLevel> Levels { get; }
    public double? MppX { get; }
    public double? MppY { get; }
    public double? Magnification => null;
    public IReadOnlyDictionary<string, string> Properties { get; }

    private ImageFileSlide(string path, Mat rgb, double? mpp, string kind)
    {
        Path = path;
        _rgb = rgb;
        MppX = MppY = mpp;
        Levels = [new SlideLevel(0, rgb.Cols, rgb.Rows, Math.Min(Tile, rgb.Cols), Math.Min(Tile, rgb.Rows), 1.0)];
        Properties = new Dictionary<string, string> { ["image.Kind"] = kind };
    }

    public static ImageFileSlide Open(string path, string kind) =>
        kind == "JPEG" ? new ImageFileSlide(path, DecodeJpeg(path), null, kind) : OpenPng(path);

    private static void CheckSize(string path, string kind, long width, long height)
    {
        if (width * height > MaxPixels)
            throw new SlideException(path, $"{kind} image of {width}x{height} px is too large for a plain image (limit {MaxPixels / 1_000_000} Mpx); convert it to a tiled pyramidal TIFF");
    }

    /// <summary>Through TurboJPEG: the size is checked before pixels are allocated, and corrupt data is an error.</summary>
    private static unsafe Mat DecodeJpeg(string path)
    {
        var bytes = File.ReadAllBytes(path);
        try
        {
            if (JpegStream.HasZeroQuantiser(bytes))
                throw new InvalidDataException("corrupt JPEG data (a quantisation table holds zeros)");
            var (w, h) = TurboJpeg.Size(bytes);
            CheckSize(path, "JPEG", w, h);
            var rgb = new Mat(h, w, MatType.CV_8UC3);
            try
            {
                TurboJpeg.DecodeToRgb(bytes, new Span<byte>((void*)rgb.Data, checked((int)(rgb.Step() * h))), (int)rgb.Step(), w, h);
                return rgb;
            }
            catch
            {
                rgb.Dispose();
                throw;
            }
        }
        catch (InvalidDataException e)
        {
            throw new SlideException(path, $"JPEG image: {e.Message}");
        }
    }

    private static ImageFileSlide OpenPng(string path)
    {
        var header = PngHeader(path);
        if (header is { } h)
            CheckSize(path, "PNG", h.Width, h.Height);
        using var image = Cv2.ImRead(path, ImreadModes.Unchanged);
        if (image.Empty())
            throw new SlideException(path, "PNG image could not be decoded (corrupt or truncated)");
        return new ImageFileSlide(path, ToRgb(image), header?.Mpp, "PNG");
    }

    /// <summary>
    /// 8-bit RGB from whatever the PNG holds: 16-bit samples scaled down, grey expanded, and an alpha channel
    /// composited over white, so that transparent pixels read as glass rather than as black (100% "DAB").
    /// </summary>
    private static Mat ToRgb(Mat image)
    {
        using var eight = new Mat();
        if (image.Depth() == MatType.CV_16U)
            image.ConvertTo(eight, MatType.CV_8U, 1.0 / 257);
        else
            image.CopyTo(eight);
        var rgb = new Mat();
        switch (eight.Channels())
        {
            case 1:
                Cv2.CvtColor(eight, rgb, ColorConversionCodes.GRAY2RGB);
                break;
            case 4:
            {
                using var bgr = new Mat();
                using var alpha = new Mat();
                Cv2.CvtColor(eight, bgr, ColorConversionCodes.BGRA2BGR);
                Cv2.ExtractChannel(eight, alpha, 3);
                using var alpha3 = new Mat();
                Cv2.CvtColor(alpha, alpha3, ColorConversionCodes.GRAY2BGR);
                using var white = new Mat(bgr.Size(), MatType.CV_8UC3, Scalar.All(255));
                using var blended = new Mat();
                // out = bgr·a + 255·(1 − a), a = alpha / 255
                Cv2.BlendLinear(bgr, white, ToWeights(alpha), ToWeights(alpha, invert: true), blended);
                Cv2.CvtColor(blended, rgb, ColorConversionCodes.BGR2RGB);
                break;
            }
            default:
                Cv2.CvtColor(eight, rgb, ColorConversionCodes.BGR2RGB);
                break;
        }
        return rgb;
    }

    private static Mat ToWeights(Mat alpha, bool invert = false)
    {
        var w = new Mat();
        alpha.ConvertTo(w, MatType.CV_32F, invert ? -1.0 / 255 : 1.0 / 255, invert ? 1.0 : 0.0);
        return w;
    }

    public unsafe void ReadTile(int level, int col, int row, Span<byte> rgb)
    {
        var lv = Levels[level];
        var r = lv.TileBounds(col, row);
        int stride = lv.TileWidth * 3;
        byte* src = (byte*)_rgb.Data;
        long srcStride = _rgb.Step();
        for (int y = 0; y < r.Height; y++)
            new ReadOnlySpan<byte>(src + (r.Y + y) * srcStride + r.X * 3L, r.Width * 3).CopyTo(rgb.Slice(y * stride, r.Width * 3));
    }

    /// <summary>Reads IHDR and pHYs from a PNG without decoding it; null for other formats.</summary>
    private static (int Width, int Height, double? Mpp)? PngHeader(string path)
    {
        using var fs = File.OpenRead(path);
        Span<byte> sig = stackalloc byte[8];
        if (fs.Read(sig) != 8 || !sig.SequenceEqual(PngFormat.Signature))
            return null;
        int width = 0, height = 0;
        double? mpp = null;
        Span<byte> head = stackalloc byte[8];
        while (fs.Read(head) == 8)
        {
            uint len = BinaryPrimitives.ReadUInt32BigEndian(head);
            string type = System.Text.Encoding.ASCII.GetString(head[4..]);
            // A chunk longer than what is left of the file is corrupt; libpng would try to allocate for it.
            if (len > fs.Length - fs.Position)
                throw new SlideException(path, $"PNG chunk {type} claims {len} bytes, more than the file holds (corrupt or truncated)");
            if (type == "IDAT" || type == "IEND" || len > 1 << 24)
            {
                fs.Seek(len + 4, SeekOrigin.Current); // pixel data: only its length is checked here
                continue;
            }
            var body = new byte[len + 4];
            if (fs.Read(body) != body.Length)
                break;
            if (type == "IHDR" && len >= 8)
            {
                width = (int)BinaryPrimitives.ReadUInt32BigEndian(body);
                height = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(4));
            }
            else if (type == "pHYs" && len == 9 && body[8] == 1)
            {
                // Pixels per metre.
                uint ppm = BinaryPrimitives.ReadUInt32BigEndian(body);
                double m = ppm > 0 ? 1e6 / ppm : double.NaN;
                mpp = SlideMetadata.IsPlausibleMpp(m) ? m : null;
            }
        }
        return (width, height, mpp);
    }

    public void Dispose() => _rgb.Dispose();
}
