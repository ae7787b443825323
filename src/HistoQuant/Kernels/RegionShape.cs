using HistoQuant.Slides;

namespace HistoQuant.Kernels;

/// <summary>One polygon with its holes (rings of level-0 pixel coordinates), filled by the even-odd rule.</summary>
public sealed class RegionPolygon
{
    internal readonly (double X0, double Y0, double X1, double Y1)[] Edges;
    public double MinX { get; }
    public double MinY { get; }
    public double MaxX { get; }
    public double MaxY { get; }

    /// <summary>The outer ring, then the holes, as given.</summary>
    public IReadOnlyList<IReadOnlyList<(double X, double Y)>> Rings { get; }

    public RegionPolygon(IReadOnlyList<IReadOnlyList<(double X, double Y)>> rings)
    {
        Rings = rings;
        var edges = new List<(double, double, double, double)>();
        foreach (var ring in rings)
            for (int i = 0; i < ring.Count; i++)
            {
                var (a, b) = (ring[i], ring[(i + 1) % ring.Count]);
                if (a.Y != b.Y)
                    edges.Add((a.X, a.Y, b.X, b.Y)); // horizontal edges never cross a pixel-centre row
            }
        Edges = edges.ToArray();
        var points = rings.SelectMany(r => r).ToList();
        (MinX, MaxX, MinY, MaxY) = (points.Min(p => p.X), points.Max(p => p.X), points.Min(p => p.Y), points.Max(p => p.Y));
    }

    /// <summary>The x where the polygon's edges cross the horizontal line at <paramref name="y"/>, sorted.</summary>
    internal void Crossings(double y, List<double> xs)
    {
        xs.Clear();
        foreach (var (x0, y0, x1, y1) in Edges)
            // Half-open in y, so a vertex on the line is counted once.
            if ((y0 <= y && y < y1) || (y1 <= y && y < y0))
                xs.Add(x0 + (y - y0) * (x1 - x0) / (y1 - y0));
        xs.Sort();
    }
}

/// <summary>
/// Where measurement happens: the union of the included polygons minus the union of the excluded ones, at
/// level-0 pixel precision. A pixel belongs to the region when its centre does. Written by hand rather than
/// rasterised with a geometry library because it is evaluated per tile row inside the pixel pass, as spans.
/// </summary>
public sealed class RegionShape
{
    public IReadOnlyList<RegionPolygon> Included { get; }
    public IReadOnlyList<RegionPolygon> Excluded { get; }

    public RegionShape(IReadOnlyList<RegionPolygon> included, IReadOnlyList<RegionPolygon> excluded)
    {
        Included = included;
        Excluded = excluded;
    }

    public double MinX => Included.Min(p => p.MinX);
    public double MinY => Included.Min(p => p.MinY);
    public double MaxX => Included.Max(p => p.MaxX);
    public double MaxY => Included.Max(p => p.MaxY);

    public bool Contains(double x, double y) => InAny(Included, x, y) && !InAny(Excluded, x, y);

    private static bool InAny(IReadOnlyList<RegionPolygon> polygons, double x, double y)
    {
        var xs = new List<double>();
        foreach (var p in polygons)
        {
            if (x < p.MinX || x > p.MaxX || y < p.MinY || y > p.MaxY)
                continue;
            p.Crossings(y, xs);
            int left = 0;
            while (left < xs.Count && xs[left] <= x)
                left++;
            if (left % 2 == 1)
                return true;
        }
        return false;
    }

    /// <summary>Whether the region's bounding box meets the level-0 rectangle (a tile worth reading).</summary>
    public bool Touches(TileRect r) =>
        Included.Any(p => p.MaxX >= r.X && p.MinX <= r.X + r.Width && p.MaxY >= r.Y && p.MinY <= r.Y + r.Height);

    /// <summary>
    /// The region's pixel runs in each row of a tile, in tile coordinates: pixel x is in when x + 0.5 lies in an
    /// included polygon and in no excluded one.
    /// </summary>
    public List<(int Start, int End)>[] RowRuns(TileRect r)
    {
        var inc = Included.Where(p => p.MaxY >= r.Y && p.MinY <= r.Y + r.Height).ToList();
        var exc = Excluded.Where(p => p.MaxY >= r.Y && p.MinY <= r.Y + r.Height).ToList();
        var rows = new List<(int, int)>[r.Height];
        var xs = new List<double>();
        for (int y = 0; y < r.Height; y++)
        {
            double yc = r.Y + y + 0.5;
            var included = Union(inc, yc, r, xs);
            rows[y] = exc.Count == 0 || included.Count == 0 ? included : Subtract(included, Union(exc, yc, r, xs));
        }
        return rows;
    }

    private static List<(int Start, int End)> Union(List<RegionPolygon> polygons, double yc, TileRect r, List<double> xs)
    {
        var runs = new List<(int Start, int End)>();
        foreach (var p in polygons)
        {
            if (yc < p.MinY || yc > p.MaxY)
                continue;
            p.Crossings(yc, xs);
            for (int k = 0; k + 1 < xs.Count; k += 2)
            {
                // Pixels whose centres x + 0.5 lie in [a, b).
                int a = (int)Math.Clamp(Math.Ceiling(xs[k] - 0.5), r.X, r.X + r.Width) - r.X;
                int b = (int)Math.Clamp(Math.Ceiling(xs[k + 1] - 0.5), r.X, r.X + r.Width) - r.X;
                if (b > a)
                    runs.Add((a, b));
            }
        }
        if (runs.Count < 2)
            return runs;
        runs.Sort();
        var merged = new List<(int Start, int End)> { runs[0] };
        foreach (var run in runs.Skip(1))
            if (run.Start <= merged[^1].End)
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, run.End));
            else
                merged.Add(run);
        return merged;
    }

    /// <summary>Sorted disjoint runs a minus sorted disjoint runs b.</summary>
    internal static List<(int Start, int End)> Subtract(List<(int Start, int End)> a, List<(int Start, int End)> b)
    {
        var result = new List<(int, int)>();
        int j = 0;
        foreach (var (s0, e0) in a)
        {
            int s = s0;
            while (j < b.Count && b[j].End <= s)
                j++;
            int k = j;
            while (k < b.Count && b[k].Start < e0)
            {
                if (b[k].Start > s)
                    result.Add((s, b[k].Start));
                s = Math.Max(s, b[k].End);
                k++;
            }
            if (s < e0)
                result.Add((s, e0));
        }
        return result;
    }

    /// <summary>Runs in both sorted disjoint lists.</summary>
    internal static List<(int Start, int End)> Intersect(List<(int Start, int End)> a, List<(int Start, int End)> b)
    {
        var result = new List<(int, int)>();
        int i = 0, j = 0;
        while (i < a.Count && j < b.Count)
        {
            int s = Math.Max(a[i].Start, b[j].Start), e = Math.Min(a[i].End, b[j].End);
            if (s < e)
                result.Add((s, e));
            if (a[i].End < b[j].End) i++;
            else j++;
        }
        return result;
    }
}
