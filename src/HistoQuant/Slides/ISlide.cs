namespace HistoQuant.Slides;

/// <summary>
/// A whole-slide image read tile by tile. Implementations only read pixels and metadata;
/// they never hold a whole level in memory (plain images excepted, which are small by nature).
/// </summary>
public interface ISlide : IDisposable
{
    string Path { get; }

    /// <summary>Short format name: aperio-svs, ome-tiff, generic-tiff, dicom-wsi, image, or OpenSlide's vendor (hamamatsu, mirax...).</summary>
    string Format { get; }

    /// <summary>Pyramid levels, largest first; level 0 is full resolution.</summary>
    IReadOnlyList<SlideLevel> Levels { get; }

    /// <summary>Microns per pixel at level 0 as the file states it; null when the file has none.</summary>
    double? MppX { get; }
    double? MppY { get; }

    /// <summary>Objective magnification as the file states it; null when unknown.</summary>
    double? Magnification { get; }

    /// <summary>Vendor and container properties (Aperio key/values, TIFF facts), for `info`.</summary>
    IReadOnlyDictionary<string, string> Properties { get; }

    /// <summary>
    /// Decodes tile (col,row) of a level into <paramref name="rgb"/> as packed RGB24 with a row stride of
    /// TileWidth*3. Pixels outside the level (edge tiles) are unspecified. Safe to call from several threads.
    /// </summary>
    void ReadTile(int level, int col, int row, Span<byte> rgb);
}

public static class SlideExtensions
{
    public static int TileBufferBytes(this SlideLevel level) => level.TileWidth * level.TileHeight * 3;
}

/// <summary>Pixel sizes a microscope slide can have; anything else in a file or on the command line is refused.</summary>
public static class PixelSize
{
    public const double Min = Tiff.SlideMetadata.MinPlausibleMpp, Max = Tiff.SlideMetadata.MaxPlausibleMpp;

    public static bool IsPlausible(double micronsPerPixel) => Tiff.SlideMetadata.IsPlausibleMpp(micronsPerPixel);
}
