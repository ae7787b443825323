using HistoQuant.Slides;
using HistoQuant.Stains;
using HistoQuant.Kernels;

namespace HistoQuant.Pipeline;

/// <summary>
/// Collects optical densities of tissue pixels at full resolution for stain estimation: up to 48 tissue
/// tiles spread evenly over the slide, every 3rd pixel of each, so the sample is a few hundred thousand
/// pixels whatever the slide size (averaged overview pixels would mix the stains).
/// </summary>
public static class StainSampler
{
    public static float[] Sample(ISlide slide, TissueMask tissue, Background background, int maxTiles = 48, int step = 3)
    {
        var level = slide.Levels[0];
        var tiles = tissue.TissueTiles(level);
        var chosen = Enumerable.Range(0, Math.Min(maxTiles, tiles.Count)).Select(i => tiles[(int)((long)i * tiles.Count / Math.Min(maxTiles, tiles.Count))]).ToList();
        var lut = ChannelLut.OpticalDensity(background);
        var perTile = new float[chosen.Count][];
        TileWorkers.For(chosen.Count, 0, level.TileBufferBytes() + 64, (i, buffer) =>
        {
            var t = chosen[i];
            slide.ReadTile(0, t.Col, t.Row, buffer);
            var od = new List<float>();
            for (int y = 0; y < t.Height; y += step)
                for (int x = 0; x < t.Width; x += step)
                {
                    if (!tissue.IsTissue(t.X + x, t.Y + y))
                        continue;
                    int p = (y * level.TileWidth + x) * 3;
                    od.Add(lut[buffer[p]]);
                    od.Add(lut[256 + buffer[p + 1]]);
                    od.Add(lut[512 + buffer[p + 2]]);
                }
            perTile[i] = od.ToArray();
        });
        return perTile.SelectMany(p => p).ToArray();
    }
}
