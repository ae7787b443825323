using System.Globalization;

namespace HistoQuant.Slides.Tiff;

/// <summary>
/// A slide stored as TIFF: Aperio SVS, OME-TIFF, or a generic (pyramidal) TIFF. Decides which images form
/// the pyramid and where the pixel size comes from; <see cref="TiffImage"/> does the decoding.
/// </summary>
public sealed class TiffSlide : ISlide
{
    private readonly TiffFile _file;
    private readonly TiffImage[] _levels;

    public string Path { get; }
    public string Format { get; }
    public IReadOnlyList<SlideLevel> Levels { get; }
    public double? MppX { get; }
    public double? MppY { get; }
    public double? Magnification { get; }
    public IReadOnlyDictionary<string, string> Properties { get; }

    private TiffSlide(string path, TiffFile file, string format, TiffImage[] levels, SlideMetadata meta)
    {
        Path = path;
        _file = file;
        Format = format;
        _levels = levels;
        MppX = meta.MppX;
        MppY = meta.MppY;
        Magnification = meta.Magnification;
        Properties = meta.Properties;
        var baseImage = levels[0];
        Levels = levels.Select((img, i) => new SlideLevel(i, img.Width, img.Height, img.TileWidth, img.TileHeight,
            (double)baseImage.Width / img.Width)).ToArray();
    }

    /// <summary>A slide from an opened TIFF (which it keeps, and closes when disposed) and the levels its format chose.</summary>
    internal static TiffSlide Create(string path, TiffFile file, string format, List<TiffImage> levels, SlideMetadata meta)
    {
        if (levels.Count == 0)
            throw new SlideException(path, $"{format} file has no tiled full-resolution image");
        levels = KeepPyramid(levels);
        foreach (var img in levels)
        {
            if (img.UnsupportedReason() is { } why)
                throw new SlideException(path, $"level {img.Width}x{img.Height} uses {why}, which HistoQuant cannot decode");
        }
        var props = new Dictionary<string, string>(meta.Properties, StringComparer.OrdinalIgnoreCase)
        {
            ["tiff.ByteOrder"] = file.BigEndian ? "big-endian" : "little-endian",
            ["tiff.BigTIFF"] = file.BigTiff ? "yes" : "no",
            ["tiff.Compression"] = levels[0].Compression.ToString(CultureInfo.InvariantCulture),
            ["tiff.Photometric"] = levels[0].Photometric.ToString(CultureInfo.InvariantCulture),
        };
        return new TiffSlide(path, file, format, levels.ToArray(), meta with { Properties = props });
    }

    internal static bool IsAssociatedImage(string? description) => IsAssociated(description);

    private static bool IsAssociated(string? description) =>
        description is not null && (description.Contains("\nlabel ", StringComparison.Ordinal)
            || description.Contains("\nmacro ", StringComparison.Ordinal));

    /// <summary>Levels must shrink and keep the aspect ratio of level 0; anything else (labels, overviews) is dropped.</summary>
    private static List<TiffImage> KeepPyramid(List<TiffImage> candidates)
    {
        var baseImage = candidates[0];
        var kept = new List<TiffImage> { baseImage };
        double aspect = (double)baseImage.Width / baseImage.Height;
        foreach (var img in candidates.Skip(1).OrderByDescending(i => i.Width))
        {
            var last = kept[^1];
            double a = (double)img.Width / img.Height;
            bool smaller = img.Width < last.Width && img.Height < last.Height;
            // Rounding of odd sizes moves the aspect ratio by a pixel or two at the smallest levels.
            bool sameShape = Math.Abs(a - aspect) / aspect < 0.02 + 2.0 / Math.Min(img.Width, img.Height);
            if (smaller && sameShape)
                kept.Add(img);
        }
        return kept;
    }

    internal static SlideMetadata FromTags(TiffFile file, TiffDirectory dir)
    {
        var (mx, my, note) = SlideMetadata.FromResolutionTags(
            dir.GetRational(TiffTag.XResolution, file), dir.GetRational(TiffTag.YResolution, file),
            dir.GetLong(TiffTag.ResolutionUnit, file));
        var props = new Dictionary<string, string>();
        if (note is not null)
            props["histoquant.ResolutionNote"] = note;
        return new SlideMetadata(mx, my, null, props);
    }

    public void ReadTile(int level, int col, int row, Span<byte> rgb) => _levels[level].ReadTile(col, row, rgb);

    public void Dispose() => _file.Dispose();
}
