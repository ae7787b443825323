namespace HistoQuant.Slides;

/// <summary>Reads an arbitrary rectangle of one level by composing the tiles it overlaps.</summary>
public static class RegionReader
{
    /// <param name="rgb">Receives the region as packed RGB with a row stride of width*3.</param>
    /// <param name="tileBuffer">Scratch space of at least the level's tile buffer size.</param>
    public static void Read(ISlide slide, int level, int x, int y, int width, int height, Span<byte> rgb, byte[] tileBuffer)
    {
        var l = slide.Levels[level];
        if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > l.Width || y + height > l.Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"region {x},{y} {width}x{height} is outside level {level} ({l.Width}x{l.Height})");
        int c0 = x / l.TileWidth, c1 = (x + width - 1) / l.TileWidth, r0 = y / l.TileHeight, r1 = (y + height - 1) / l.TileHeight;
        for (int r = r0; r <= r1; r++)
            for (int c = c0; c <= c1; c++)
            {
                slide.ReadTile(level, c, r, tileBuffer);
                var t = l.TileBounds(c, r);
                int ix0 = Math.Max(x, t.X), ix1 = Math.Min(x + width, t.X + t.Width);
                int iy0 = Math.Max(y, t.Y), iy1 = Math.Min(y + height, t.Y + t.Height);
                for (int yy = iy0; yy < iy1; yy++)
                    tileBuffer.AsSpan(((yy - t.Y) * l.TileWidth + ix0 - t.X) * 3, (ix1 - ix0) * 3)
                        .CopyTo(rgb.Slice(((yy - y) * width + ix0 - x) * 3));
            }
    }
}
