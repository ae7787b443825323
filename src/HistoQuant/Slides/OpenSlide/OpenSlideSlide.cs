using System.Globalization;
using HistoQuant.Slides.Tiff;

namespace HistoQuant.Slides.OpenSlide;

/// <summary>
/// A slide read through OpenSlide. OpenSlide has no tile API of its own, only read_region; levels are cut into a
/// grid of the format's native tile size (as OpenSlide reports it) so reads line up with what is stored.
/// </summary>
internal sealed unsafe class OpenSlideSlide : ISlide
{
    private const int DefaultTile = 512;
    private readonly IntPtr _osr;
    private readonly OpenSlideLibrary.Api _api;
    [ThreadStatic] private static uint[]? t_argb;

    public string Path { get; }
    public string Format { get; }
    public IReadOnlyList<SlideLevel> Levels { get; }
    public double? MppX { get; }
    public double? MppY { get; }
    public double? Magnification { get; }
    public IReadOnlyDictionary<string, string> Properties { get; }

    private OpenSlideSlide(string path, IntPtr osr, string vendor)
    {
        Path = path;
        _osr = osr;
        _api = OpenSlideLibrary.Functions;
        Format = vendor;
        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        byte** names = _api.GetPropertyNames(osr);
        for (int i = 0; names != null && names[i] != null; i++)
            if (OpenSlideLibrary.Utf8(names[i]) is { } name && OpenSlideLibrary.Utf8(_api.GetPropertyValue(osr, names[i])) is { } value)
                props[name] = value.ReplaceLineEndings(" ");
        Properties = props;
        MppX = Mpp(props, "openslide.mpp-x");
        MppY = Mpp(props, "openslide.mpp-y");
        Magnification = Number(props, "openslide.objective-power") is > 0 and var m ? m : null;

        int count = _api.GetLevelCount(osr);
        var levels = new List<SlideLevel>();
        for (int i = 0; i < count; i++)
        {
            long w, h;
            _api.GetLevelDimensions(osr, i, &w, &h);
            if (w < 1 || h < 1 || w > int.MaxValue || h > int.MaxValue)
                throw new SlideException(path, $"OpenSlide reports level {i} as {w}x{h} px");
            levels.Add(new SlideLevel(i, (int)w, (int)h, TileSide(props, i, "width", (int)w), TileSide(props, i, "height", (int)h),
                _api.GetLevelDownsample(osr, i)));
        }
        if (levels.Count == 0)
            throw new SlideException(path, "OpenSlide reports no levels");
        Levels = levels;
    }

    /// <summary>Opens the file with OpenSlide; its error string, when it has one, becomes the one-line problem.</summary>
    public static OpenSlideSlide Open(string path, string vendor)
    {
        var api = OpenSlideLibrary.Functions;
        IntPtr osr;
        fixed (byte* p = OpenSlideLibrary.Utf8Z(path))
            osr = api.Open(p);
        if (osr == IntPtr.Zero)
            throw new SlideException(path, $"OpenSlide does not recognise it as a {vendor} slide");
        try
        {
            if (OpenSlideLibrary.Utf8(api.GetError(osr)) is { } error)
                throw new SlideException(path, $"OpenSlide: {OneLine(error)}");
            return new OpenSlideSlide(path, osr, vendor);
        }
        catch
        {
            api.Close(osr);
            throw;
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    private static double? Number(Dictionary<string, string> props, string key) =>
        props.TryGetValue(key, out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;

    private static double? Mpp(Dictionary<string, string> props, string key) => Number(props, key) is { } v && SlideMetadata.IsPlausibleMpp(v) ? v : null;

    /// <summary>The native tile size when OpenSlide states a sensible one; 512 px otherwise (and never beyond the level).</summary>
    private static int TileSide(Dictionary<string, string> props, int level, string axis, int levelSide)
    {
        int side = Number(props, $"openslide.level[{level}].tile-{axis}") is { } t && t >= 128 && t <= 2048 ? (int)t : DefaultTile;
        return Math.Min(side, levelSide);
    }

    public void ReadTile(int level, int col, int row, Span<byte> rgb)
    {
        var lv = Levels[level];
        if (col < 0 || row < 0 || col >= lv.TilesAcross || row >= lv.TilesDown)
            throw new ArgumentOutOfRangeException(nameof(col), $"tile ({col},{row}) is outside the {lv.TilesAcross}x{lv.TilesDown} grid");
        var r = lv.TileBounds(col, row);
        int n = r.Width * r.Height;
        var argb = t_argb is { } buf && buf.Length >= n ? buf : t_argb = new uint[lv.TileWidth * lv.TileHeight];
        // read_region takes the top-left corner in level-0 coordinates.
        long x0 = (long)Math.Round(r.X * lv.Downsample), y0 = (long)Math.Round(r.Y * lv.Downsample);
        fixed (uint* p = argb)
            _api.ReadRegion(_osr, p, x0, y0, level, r.Width, r.Height);
        if (OpenSlideLibrary.Utf8(_api.GetError(_osr)) is { } error)
            throw new SlideException(Path, $"OpenSlide: {OneLine(error)}");
        int stride = lv.TileWidth * 3;
        for (int y = 0; y < r.Height; y++)
            ToRgbOverWhite(argb.AsSpan(y * r.Width, r.Width), rgb.Slice(y * stride, r.Width * 3));
    }

    /// <summary>
    /// OpenSlide's pixels are premultiplied ARGB (alpha 0 outside the scanned area, partial at region edges).
    /// Un-premultiplying (c·255/a) and then compositing over white (c'·a/255 + 255·(1 − a/255)) cancel to c + 255 − a,
    /// so unscanned areas read as glass, not black (which would be 100% "DAB").
    /// </summary>
    internal static void ToRgbOverWhite(ReadOnlySpan<uint> argb, Span<byte> rgb)
    {
        for (int i = 0; i < argb.Length; i++)
        {
            uint p = argb[i];
            int white = 255 - (int)(p >> 24);
            // Premultiplied channels never exceed alpha; Min guards a malformed pixel from wrapping.
            rgb[i * 3] = (byte)Math.Min(255, (int)((p >> 16) & 0xFF) + white);
            rgb[i * 3 + 1] = (byte)Math.Min(255, (int)((p >> 8) & 0xFF) + white);
            rgb[i * 3 + 2] = (byte)Math.Min(255, (int)(p & 0xFF) + white);
        }
    }

    public void Dispose() => _api.Close(_osr);
}
