using HistoQuant.Kernels;
using HistoQuant.Slides;
using HistoQuant.Stains;

namespace HistoQuant.Kernels;

/// <summary>
/// Which parts of the slide are tissue, at low resolution: mask pixel (mx,my) covers level-0 pixels x with
/// floor(x · Width / Level0Width) = mx (same for y). Null <see cref="Mask"/> means "everything is tissue".
/// </summary>
public sealed class TissueMask
{
    public int Width { get; }
    public int Height { get; }
    public int Level0Width { get; }
    public int Level0Height { get; }
    public byte[]? Mask { get; }

    /// <summary>Glass colour seen on the slide (median of the brightest mask pixels); null for --tissue all.</summary>
    public Background? Glass { get; }

    /// <summary>The regions of interest measurement is restricted to (`--regions`), at level-0 precision; null = the whole slide.</summary>
    public RegionShape? Region { get; }

    public TissueMask(int width, int height, int level0Width, int level0Height, byte[]? mask, Background? glass, RegionShape? region = null)
    {
        Width = width;
        Height = height;
        Level0Width = level0Width;
        Level0Height = level0Height;
        Mask = mask;
        Glass = glass;
        Region = region;
    }

    /// <summary>The tissue without the regions of interest (objects are segmented on it, then kept by their centre).</summary>
    public TissueMask WithoutRegion() => Region is null ? this : new(Width, Height, Level0Width, Level0Height, Mask, Glass);

    /// <summary>This tissue, restricted to <paramref name="region"/>: only pixels and objects inside it count.</summary>
    public TissueMask Within(RegionShape region) => new(Width, Height, Level0Width, Level0Height, Mask, Glass, region);

    public static TissueMask All(SlideLevel level0) => new(1, 1, level0.Width, level0.Height, null, null);

    public bool IsAllTissue => Mask is null;

    public double TissueFraction => Mask is null ? 1.0 : Mask.Count(v => v != 0) / (double)Mask.Length;

    private int MaskX(int x) => (int)((long)x * Width / Level0Width);
    private int MaskY(int y) => (int)((long)y * Height / Level0Height);

    /// <summary>Whether the level-0 point lies on tissue.</summary>
    public bool IsTissue(double x, double y)
    {
        if (Region is not null && !Region.Contains(x, y))
            return false;
        if (Mask is null)
            return true;
        int mx = Math.Clamp((int)(x * Width / Level0Width), 0, Width - 1), my = Math.Clamp((int)(y * Height / Level0Height), 0, Height - 1);
        return Mask[my * Width + mx] != 0;
    }

    /// <summary>True when any mask pixel under the level-0 rectangle is tissue (the tile must be read).</summary>
    public bool Touches(TileRect r)
    {
        if (Region is not null && !Region.Touches(r))
            return false;
        if (Mask is null)
            return true;
        int mx0 = MaskX(r.X), mx1 = MaskX(r.X + r.Width - 1), my0 = MaskY(r.Y), my1 = MaskY(r.Y + r.Height - 1);
        for (int my = my0; my <= my1; my++)
            for (int mx = mx0; mx <= mx1; mx++)
                if (Mask[my * Width + mx] != 0)
                    return true;
        return false;
    }

    /// <summary>The level-0 tiles that touch tissue, row by row: the only ones any stage needs to decode.</summary>
    public List<TileRect> TissueTiles(SlideLevel level0)
    {
        var tiles = new List<TileRect>();
        for (int r = 0; r < level0.TilesDown; r++)
            for (int c = 0; c < level0.TilesAcross; c++)
            {
                var rect = level0.TileBounds(c, r);
                if (Touches(rect))
                    tiles.Add(rect);
            }
        return tiles;
    }

    /// <summary>Tissue runs of a level-0 tile, row by row (inside the regions, when there are any).</summary>
    public TissueSpans SpansFor(TileRect r)
    {
        var tissue = MaskSpansFor(r);
        if (Region is null)
            return tissue;
        var regionRows = Region.RowRuns(r);
        var rowStart = new int[r.Height + 1];
        var starts = new List<int>();
        var ends = new List<int>();
        for (int y = 0; y < r.Height; y++)
        {
            var mask = new List<(int Start, int End)>();
            for (int k = tissue.RowStart[y]; k < tissue.RowStart[y + 1]; k++)
                mask.Add((tissue.Start[k], tissue.End[k]));
            foreach (var (a, b) in RegionShape.Intersect(mask, regionRows[y]))
            {
                starts.Add(a);
                ends.Add(b);
            }
            rowStart[y + 1] = starts.Count;
        }
        return new TissueSpans(r.Height, rowStart, starts.ToArray(), ends.ToArray());
    }

    private TissueSpans MaskSpansFor(TileRect r)
    {
        if (Mask is null)
            return TissueSpans.Full(r.Width, r.Height);
        var rowStart = new int[r.Height + 1];
        var starts = new List<int>();
        var ends = new List<int>();
        // Columns where the mask column changes inside the tile; runs only start or end there.
        var cuts = new List<(int X, int Mx)>();
        int prev = -1;
        for (int x = 0; x < r.Width; x++)
        {
            int mx = MaskX(r.X + x);
            if (mx != prev)
            {
                cuts.Add((x, mx));
                prev = mx;
            }
        }
        for (int y = 0; y < r.Height; y++)
        {
            int rowOffset = MaskY(r.Y + y) * Width;
            int open = -1;
            for (int k = 0; k < cuts.Count; k++)
            {
                bool tissue = Mask[rowOffset + cuts[k].Mx] != 0;
                if (tissue && open < 0)
                    open = cuts[k].X;
                else if (!tissue && open >= 0)
                {
                    starts.Add(open);
                    ends.Add(cuts[k].X);
                    open = -1;
                }
            }
            if (open >= 0)
            {
                starts.Add(open);
                ends.Add(r.Width);
            }
            rowStart[y + 1] = starts.Count;
        }
        return new TissueSpans(r.Height, rowStart, starts.ToArray(), ends.ToArray());
    }
}
