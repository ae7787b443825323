namespace HistoQuant.Slides;

/// <summary>One resolution of a slide's pyramid, as a grid of tiles.</summary>
/// <param name="Downsample">Level-0 width divided by this level's width (OpenSlide's convention).</param>
public sealed record SlideLevel(int Index, int Width, int Height, int TileWidth, int TileHeight, double Downsample)
{
    public int TilesAcross => (Width + TileWidth - 1) / TileWidth;
    public int TilesDown => (Height + TileHeight - 1) / TileHeight;
    public long TileCount => (long)TilesAcross * TilesDown;

    /// <summary>The part of tile (col,row) that lies inside the level; edge tiles are cut.</summary>
    public TileRect TileBounds(int col, int row)
    {
        int x = col * TileWidth, y = row * TileHeight;
        return new TileRect(col, row, x, y, Math.Min(TileWidth, Width - x), Math.Min(TileHeight, Height - y));
    }
}

/// <summary>A tile's position on its level and the size of its valid pixels.</summary>
public readonly record struct TileRect(int Col, int Row, int X, int Y, int Width, int Height);
