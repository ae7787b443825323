namespace HistoQuant.Slides;

/// <summary>
/// Renders a whole slide small (thumbnails, tissue detection) by area-averaging the tiles of the smallest
/// pyramid level that still has at least the requested resolution. Tiles stream through; only the output
/// and its running sums are held.
/// </summary>
public static class SlideOverview
{
    /// <summary>The output size for a long side of <paramref name="maxSide"/> px (never larger than level 0).</summary>
    public static (int Width, int Height) FitWithin(SlideLevel level0, int maxSide)
    {
        double scale = Math.Min(1.0, (double)maxSide / Math.Max(level0.Width, level0.Height));
        return (Math.Max(1, (int)Math.Round(level0.Width * scale)), Math.Max(1, (int)Math.Round(level0.Height * scale)));
    }

    /// <summary>The level whose downsample is the largest not above the one the output needs.</summary>
    public static SlideLevel SourceLevel(ISlide slide, int outWidth)
    {
        double wanted = (double)slide.Levels[0].Width / outWidth;
        return slide.Levels.Where(l => l.Downsample <= wanted * 1.0001 && l.Width >= outWidth)
            .OrderByDescending(l => l.Downsample).FirstOrDefault() ?? slide.Levels[0];
    }

    /// <summary>The overview is a whole pyramid level: tiles are copied, not averaged.</summary>
    private static RgbImage Copy(ISlide slide, SlideLevel level, int maxThreads)
    {
        var pixels = new byte[level.Width * level.Height * 3];
        int tilesAcross = level.TilesAcross;
        TileWorkers.For((int)level.TileCount, maxThreads, level.TileBufferBytes() + 64, (t, buffer) =>
        {
            var rect = level.TileBounds(t % tilesAcross, t / tilesAcross);
            slide.ReadTile(level.Index, rect.Col, rect.Row, buffer);
            for (int y = 0; y < rect.Height; y++)
                buffer.AsSpan(y * level.TileWidth * 3, rect.Width * 3).CopyTo(pixels.AsSpan(((rect.Y + y) * level.Width + rect.X) * 3));
        });
        return new RgbImage(level.Width, level.Height, pixels);
    }

    public static RgbImage Render(ISlide slide, int outWidth, int outHeight, int maxThreads = 0)
    {
        var level = SourceLevel(slide, outWidth);
        if (level.Width == outWidth && level.Height == outHeight)
            return Copy(slide, level, maxThreads);
        var sums = new uint[outWidth * outHeight * 3];
        var counts = new uint[outWidth * outHeight];
        var gate = new object();
        // Output column/row of each level column/row: floor(x · out / level) keeps every output pixel a
        // whole block of source pixels (or an almost-whole one for non-integer ratios).
        var mapX = new int[level.Width];
        for (int x = 0; x < level.Width; x++) mapX[x] = (int)((long)x * outWidth / level.Width);
        var mapY = new int[level.Height];
        for (int y = 0; y < level.Height; y++) mapY[y] = (int)((long)y * outHeight / level.Height);

        var tiles = new List<TileRect>();
        for (int r = 0; r < level.TilesDown; r++)
            for (int c = 0; c < level.TilesAcross; c++)
                tiles.Add(level.TileBounds(c, r));
        int stride = level.TileWidth * 3;
        TileWorkers.For(tiles.Count, maxThreads, level.TileBufferBytes() + 64, (t, buffer) =>
        {
            var rect = tiles[t];
            slide.ReadTile(level.Index, rect.Col, rect.Row, buffer);
            int ox0 = mapX[rect.X], ox1 = mapX[rect.X + rect.Width - 1];
            int oy0 = mapY[rect.Y], oy1 = mapY[rect.Y + rect.Height - 1];
            int lw = ox1 - ox0 + 1, lh = oy1 - oy0 + 1;
            var localSums = new uint[lw * lh * 3];
            var localCounts = new uint[lw * lh];
            for (int y = 0; y < rect.Height; y++)
            {
                int oy = mapY[rect.Y + y] - oy0;
                for (int x = 0; x < rect.Width; x++)
                {
                    int o = oy * lw + mapX[rect.X + x] - ox0;
                    int i = y * stride + x * 3;
                    localSums[o * 3] += buffer[i];
                    localSums[o * 3 + 1] += buffer[i + 1];
                    localSums[o * 3 + 2] += buffer[i + 2];
                    localCounts[o]++;
                }
            }
            lock (gate)
            {
                for (int y = 0; y < lh; y++)
                    for (int x = 0; x < lw; x++)
                    {
                        int o = (oy0 + y) * outWidth + ox0 + x, l = y * lw + x;
                        sums[o * 3] += localSums[l * 3];
                        sums[o * 3 + 1] += localSums[l * 3 + 1];
                        sums[o * 3 + 2] += localSums[l * 3 + 2];
                        counts[o] += localCounts[l];
                    }
            }
        });

        var pixels = new byte[outWidth * outHeight * 3];
        for (int o = 0; o < counts.Length; o++)
        {
            uint n = Math.Max(counts[o], 1);
            for (int c = 0; c < 3; c++)
                pixels[o * 3 + c] = (byte)((sums[o * 3 + c] + n / 2) / n);
        }
        return new RgbImage(outWidth, outHeight, pixels);
    }
}
