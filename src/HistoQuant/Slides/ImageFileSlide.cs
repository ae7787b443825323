using System.Buffers.Binary;
using OpenCvSharp;
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
    private const long MaxPixels = 400_000_000; // a plain image this large should be a tiled TIFF

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

    public static ImageFileSlide Open(string path, string kind)
    {
        var header = PngHeader(path);
        if (header is { } h && (long)h.Width * h.Height > MaxPixels)
            throw new SlideException(path, $"{h.Width}x{h.Height} px is too large for a plain image; convert it to a tiled pyramidal TIFF");
        using var bgr = Cv2.ImRead(path, ImreadModes.Color);
        if (bgr.Empty())
            throw new SlideException(path, $"{kind} image could not be decoded (corrupt or truncated)");
        var rgb = new Mat();
        Cv2.CvtColor(bgr, rgb, ColorConversionCodes.BGR2RGB);
        return new ImageFileSlide(path, rgb, header?.Mpp, kind);
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
            if (type == "IDAT" || len > 1 << 24)
                break;
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
