using HistoQuant.Stains;

namespace HistoQuant.Synth;

internal enum BlobKind { Cell, VesselRing, VesselSegment }

/// <summary>
/// A blob of stain: a DAB-positive cell (cytoplasm and nucleus), a negative nucleus (Radius 0), or a
/// DAB-positive capillary: a ring of <see cref="Wall"/> µm around a pale lumen (cross-section) or a straight
/// segment <see cref="Length"/> µm long and 2·Radius wide at <see cref="Angle"/> (cut along its length).
/// </summary>
internal readonly record struct Blob(double X, double Y, double Radius, double Dab, double NucleusX, double NucleusY, double NucleusRadius, double Hematoxylin,
    BlobKind Kind = BlobKind.Cell, double Wall = 0, double Length = 0, double Angle = 0)
{
    /// <summary>How far from (X, Y) the blob reaches.</summary>
    public double Extent => Kind == BlobKind.VesselSegment ? Length / 2 + Radius : Math.Max(Radius, NucleusRadius + Math.Sqrt((NucleusX - X) * (NucleusX - X) + (NucleusY - Y) * (NucleusY - Y)));

    /// <summary>DAB of a capillary at a point (0 outside it).</summary>
    public double VesselDab(double x, double y)
    {
        double dx = x - X, dy = y - Y;
        if (Kind == BlobKind.VesselRing)
        {
            double d = Math.Sqrt(dx * dx + dy * dy);
            return d < Radius && d >= Radius - Wall ? Dab : 0;
        }
        double c = Math.Cos(Angle), s = Math.Sin(Angle);
        double along = Math.Clamp(dx * c + dy * s, -Length / 2, Length / 2);
        double ex = dx - along * c, ey = dy - along * s;
        return ex * ex + ey * ey < Radius * Radius ? Dab : 0;
    }
}

/// <summary>
/// The biology of a synthetic muscle biopsy as functions of position (µm): an irregular tissue outline,
/// muscle fibres as the Voronoi cells of jittered seeds separated by pale endomysium, a sarcolemmal DAB ring on
/// a chosen fraction of fibres, DAB-positive cells with hematoxylin nuclei, negative nuclei, faint
/// non-specific DAB and noise. Everything derives from the seed through hashes of grid coordinates, so any
/// pixel can be rendered on its own, in any order, without holding the slide.
/// </summary>
internal sealed class SyntheticScene
{
    private const double RingMicrons = 2.5;         // sarcolemmal DAB band inside a positive fibre
    private const double BucketMicrons = 40;

    private readonly SynthOptions _o;
    private readonly double _widthUm, _heightUm, _cx, _cy, _ax, _ay;
    private readonly double[] _wobble;
    private readonly List<Blob>[,] _buckets;
    private readonly int _bucketsX, _bucketsY;

    public int PositiveCells { get; }
    public int NegativeNuclei { get; }
    public int Capillaries { get; }
    public double TissueAreaEstimateMm2 { get; }

    public SyntheticScene(SynthOptions o)
    {
        _o = o;
        _widthUm = o.Width * o.Mpp;
        _heightUm = o.Height * o.Mpp;
        _cx = _widthUm / 2;
        _cy = _heightUm / 2;
        _ax = 0.40 * _widthUm;
        _ay = 0.40 * _heightUm;
        var rng = new Random(o.Seed);
        _wobble = [rng.NextDouble() * 6.3, rng.NextDouble() * 6.3, rng.NextDouble() * 6.3, 0.10 + 0.05 * rng.NextDouble()];
        TissueAreaEstimateMm2 = Math.PI * _ax * _ay * 1e-6;

        _bucketsX = (int)Math.Ceiling(_widthUm / BucketMicrons);
        _bucketsY = (int)Math.Ceiling(_heightUm / BucketMicrons);
        _buckets = new List<Blob>[_bucketsX, _bucketsY];
        // With fascicles, positive cells are placed by compartment (SyntheticFascicles) unless asked for at random too.
        PositiveCells = o.Cells ?? (o.FascicleMicrons > 0 || o.CentralNuclei > 0 ? 0 : (int)Math.Round(150 * TissueAreaEstimateMm2));
        NegativeNuclei = o.NegativeNuclei ?? (int)Math.Round(400 * TissueAreaEstimateMm2);
        // Clusters first, so that the scattered cells keep clear of them; without clusters no random draw changes.
        var (clusterPositive, clusterNegative) = AddClusters(rng, o);
        // Blobs do not overlap (1 µm apart at least), so every cell and nucleus in the truth is one object.
        for (int i = 0; i < PositiveCells; i++)
        {
            double r = 7 + 3 * rng.NextDouble(); // CD163+ macrophages: 14–20 µm across
            var (x, y) = FreePointInTissue(rng, r);
            double angle = rng.NextDouble() * 2 * Math.PI, shift = 1.5 * rng.NextDouble();
            Add(new Blob(x, y, r, (0.55 + 0.4 * rng.NextDouble()) * o.DabScale,
                x + shift * Math.Cos(angle), y + shift * Math.Sin(angle), 3 + rng.NextDouble(), 0.45 + 0.15 * rng.NextDouble()));
        }
        if (o.CentralNuclei > 0)
            AddCentralNuclei();
        for (int i = 0; i < NegativeNuclei; i++)
        {
            double r = 2.5 + 1.5 * rng.NextDouble();
            var (x, y) = FreePointInTissue(rng, r, o.CentralNuclei > 0 ? r : null);
            Add(new Blob(x, y, 0, 0, x, y, r, 0.5 + 0.2 * rng.NextDouble()));
        }
        NegativeNuclei += CentralNucleiPlaced;
        PositiveCells += clusterPositive;
        NegativeNuclei += clusterNegative;
        // Capillaries: half cut across (rings 7–10 µm wide with a 1.5 µm DAB wall), half along (3 µm wide, 14–28 µm long).
        Capillaries = o.Capillaries;
        for (int i = 0; i < Capillaries; i++)
        {
            double dab = (0.5 + 0.3 * rng.NextDouble()) * o.DabScale;
            Blob vessel = i % 2 == 0
                ? new Blob(0, 0, 3.5 + 1.5 * rng.NextDouble(), dab, 0, 0, 0, 0, BlobKind.VesselRing, Wall: 1.5)
                : new Blob(0, 0, 1.5, dab, 0, 0, 0, 0, BlobKind.VesselSegment, Length: 14 + 14 * rng.NextDouble(), Angle: rng.NextDouble() * Math.PI);
            var (x, y) = FreePointInTissue(rng, vessel.Extent);
            Add(vessel with { X = x, Y = y, NucleusX = x, NucleusY = y });
        }
        if (o.FascicleMicrons > 0)
        {
            Fascicles = new SyntheticFascicles(o, this, rng);
            PositiveCells += Fascicles.PlacedCells;
        }
    }

    /// <summary>Fascicles, perimysium, vessels and compartment cells; null for a plain sheet of fibres.</summary>
    public SyntheticFascicles? Fascicles { get; }

    internal (double X, double Y) SeedOf(int i, int j) => Seed(i, j);

    internal void AddCell(Blob b) => Add(b);

    /// <summary>No blob within <paramref name="radius"/> + 1 µm of the point.</summary>
    internal bool IsFree(double x, double y, double radius) => !BlobsNear(x - radius, y - radius, x + radius, y + radius).Any(b =>
        Math.Sqrt((b.X - x) * (b.X - x) + (b.Y - y) * (b.Y - y)) < radius + b.Extent + 1);

    internal (int I, int J) NearestSeed(double x, double y)
    {
        var (i, j, _) = NearestSeedEdge(x, y);
        return (i, j);
    }

    /// <summary>The fibre seed nearest to a point and the point's distance to the bisector with the second nearest.</summary>
    internal (int I, int J, double Edge) NearestSeedEdge(double x, double y)
    {
        var (i, j, _, _, edge) = NearestTwoSeeds(x, y);
        return (i, j, edge);
    }

    /// <summary>The two fibre seeds nearest to a point and the point's distance to the bisector between them.</summary>
    internal (int I, int J, int K, int L, double Edge) NearestTwoSeeds(double x, double y)
    {
        double s = _o.FibreDiameterMicrons;
        int gi = (int)Math.Floor(x / s), gj = (int)Math.Floor(y / s);
        double best = double.MaxValue, second = double.MaxValue, bx = 0, by = 0, sx = 0, sy = 0;
        int bi = 0, bj = 0, si = 0, sj = 0;
        for (int i = gi - 1; i <= gi + 1; i++)
            for (int j = gj - 1; j <= gj + 1; j++)
            {
                var (px, py) = Seed(i, j);
                double d = (px - x) * (px - x) + (py - y) * (py - y) - Weight(i, j);
                if (d < best)
                {
                    second = best; sx = bx; sy = by; si = bi; sj = bj;
                    best = d; bx = px; by = py; bi = i; bj = j;
                }
                else if (d < second)
                {
                    second = d; sx = px; sy = py; si = i; sj = j;
                }
            }
        return (bi, bj, si, sj, (second - best) / (2 * Math.Sqrt((sx - bx) * (sx - bx) + (sy - by) * (sy - by))));
    }

    /// <summary>
    /// Dense infiltrates: sites of a hexagonal grid (11 µm) within 35 µm of a free point in the tissue, each moved
    /// up to 1.4 µm, so that neighbouring nuclei stand 8–14 µm apart and never closer than 6 µm (each site is one
    /// cell in the truth); two in five are positive cells (DAB in a rim up to 5–5.5 µm from the centre; neighbours'
    /// rims overlap as in a real infiltrate), the rest negative nuclei.
    /// </summary>
    private (int Positive, int Negative) AddClusters(Random rng, SynthOptions o)
    {
        const double spacing = 11, reach = 35, jitter = 1.4;
        int positive = 0, negative = 0;
        for (int c = 0; c < o.Clusters; c++)
        {
            var (cx, cy) = FreePointInTissue(rng, reach + 6);
            double row = spacing * Math.Sqrt(3) / 2;
            for (int j = -(int)(reach / row); j <= (int)(reach / row); j++)
                for (int i = -(int)(reach / spacing) - 1; i <= (int)(reach / spacing) + 1; i++)
                {
                    double gx = (i + (j & 1) * 0.5) * spacing, gy = j * row;
                    if (gx * gx + gy * gy > reach * reach)
                        continue;
                    double a = rng.NextDouble() * 2 * Math.PI, d = jitter * Math.Sqrt(rng.NextDouble());
                    double x = cx + gx + d * Math.Cos(a), y = cy + gy + d * Math.Sin(a);
                    if (!InTissue(x, y))
                        continue;
                    double r = 3 + 0.5 * rng.NextDouble(), hem = 0.45 + 0.2 * rng.NextDouble();
                    if (rng.Next(5) < 2)
                    {
                        Add(new Blob(x, y, r + 2, (0.55 + 0.4 * rng.NextDouble()) * o.DabScale, x, y, r, hem));
                        positive++;
                    }
                    else
                    {
                        Add(new Blob(x, y, 0, 0, x, y, r, hem));
                        negative++;
                    }
                }
        }
        return (positive, negative);
    }

    /// <summary>
    /// A point in tissue with no blob within <paramref name="radius"/> + 1 µm; with <paramref name="peripheral"/> (a
    /// nucleus's radius) also short of a fibre's interior (see <see cref="SynthOptions.CentralNuclei"/>); after 1000
    /// tries anywhere (a large nucleus between touching fibres may fit nowhere else; the truth counts it as it lies).
    /// </summary>
    private (double X, double Y) FreePointInTissue(Random rng, double radius, double? peripheral = null)
    {
        for (int attempt = 0; ; attempt++)
        {
            var (x, y) = PointInTissue(rng);
            if (peripheral is { } r && attempt <= 1000 && FibreDepth(x, y).Depth + r > InternalNucleusMicrons - 1)
                continue;
            if (attempt > 1000 || !BlobsNear(x - radius, y - radius, x + radius, y + radius).Any(b =>
                    Math.Sqrt((b.X - x) * (b.X - x) + (b.Y - y) * (b.Y - y)) < radius + b.Extent + 1))
                return (x, y);
        }
    }

    /// <summary>The fibre a point belongs to and how far it lies inside that fibre's outline (µm; negative in the endomysium).</summary>
    private (int I, int J, double Depth) FibreDepth(double x, double y)
    {
        var (i, j, edge) = NearestSeedEdge(x, y);
        return (i, j, edge - _o.EndomysiumMicrons / 2 - (Fascicles?.Shrink(i, j) ?? 0));
    }

    /// <summary>Central nuclei placed by <see cref="AddCentralNuclei"/> (counted among the negative nuclei).</summary>
    public int CentralNucleiPlaced { get; private set; }

    /// <summary>
    /// A central nucleus at the seed of each fibre the seed's hash picks (SynthOptions.CentralNuclei), where the seed
    /// lies deep enough in its fibre for the whole nucleus to be 5 µm past the internal-nucleus depth (small fibres
    /// of a varied mosaic may not be). Hash-drawn, so the slide's other random draws stay as they were.
    /// </summary>
    private void AddCentralNuclei()
    {
        double s = _o.FibreDiameterMicrons;
        for (int i = 0; i <= (int)(_widthUm / s); i++)
            for (int j = 0; j <= (int)(_heightUm / s); j++)
            {
                if (Hash.Unit(_o.Seed, i, j, 7) >= _o.CentralNuclei || !OwnsItsSeed(i, j))
                    continue;
                var (x, y) = Seed(i, j);
                double r = 3 + Hash.Unit(_o.Seed, i, j, 8);
                if (x >= _widthUm || y >= _heightUm || !InTissue(x, y) || FibreDepth(x, y).Depth < InternalNucleusMicrons + r + 5 || !IsFree(x, y, r))
                    continue;
                Add(new Blob(x, y, 0, 0, x, y, r, 0.5 + 0.2 * Hash.Unit(_o.Seed, i, j, 9)));
                CentralNucleiPlaced++;
            }
    }

    private (double X, double Y) PointInTissue(Random rng)
    {
        while (true)
        {
            double x = rng.NextDouble() * _widthUm, y = rng.NextDouble() * _heightUm;
            if (InTissue(x, y))
                return (x, y);
        }
    }

    private void Add(Blob b)
    {
        int bx = Math.Clamp((int)(b.X / BucketMicrons), 0, _bucketsX - 1), by = Math.Clamp((int)(b.Y / BucketMicrons), 0, _bucketsY - 1);
        (_buckets[bx, by] ??= new List<Blob>()).Add(b);
    }

    /// <summary>Blobs that may touch a rectangle (µm).</summary>
    public List<Blob> BlobsNear(double x0, double y0, double x1, double y1)
    {
        var found = new List<Blob>();
        const double reach = 20; // largest blob extent: a capillary segment's half-length plus its radius
        int bx0 = Math.Max(0, (int)((x0 - reach) / BucketMicrons)), bx1 = Math.Min(_bucketsX - 1, (int)((x1 + reach) / BucketMicrons));
        int by0 = Math.Max(0, (int)((y0 - reach) / BucketMicrons)), by1 = Math.Min(_bucketsY - 1, (int)((y1 + reach) / BucketMicrons));
        for (int bx = bx0; bx <= bx1; bx++)
            for (int by = by0; by <= by1; by++)
                if (_buckets[bx, by] is { } list)
                    found.AddRange(list);
        return found;
    }

    /// <summary>The irregular outline: an ellipse whose radius wobbles with angle.</summary>
    public bool InTissue(double x, double y)
    {
        double dx = (x - _cx) / _ax, dy = (y - _cy) / _ay;
        double theta = Math.Atan2(dy, dx);
        double limit = 1 + _wobble[3] * (Math.Sin(2 * theta + _wobble[0]) + 0.6 * Math.Sin(3 * theta + _wobble[1]) + 0.4 * Math.Sin(5 * theta + _wobble[2]));
        return dx * dx + dy * dy <= limit * limit;
    }

    /// <summary>Fibre seed of grid cell (i, j): jittered by a hash, so fibres vary in size and shape.</summary>
    private (double X, double Y) Seed(int i, int j)
    {
        double s = _o.FibreDiameterMicrons;
        return ((i + 0.5 + 0.6 * (Hash.Unit(_o.Seed, i, j, 1) - 0.5)) * s, (j + 0.5 + 0.6 * (Hash.Unit(_o.Seed, i, j, 2) - 0.5)) * s);
    }

    /// <summary>
    /// Power-diagram weight of fibre (i, j): its radius squared, the radius (s/2)(1 + v(2u - 1)) for size variation v.
    /// The cell boundaries stay straight, and the distance to the one between two fibres is still
    /// (second - best) / (2 × seed distance) with these weighted squared distances. Exactly 0 without variation, so
    /// the mosaic is unchanged to the last bit.
    /// </summary>
    private double Weight(int i, int j)
    {
        if (_o.FibreSizeVariation == 0)
            return 0;
        double r = _o.FibreDiameterMicrons / 2 * (1 + _o.FibreSizeVariation * (2 * Hash.Unit(_o.Seed, i, j, 8) - 1));
        return r * r;
    }

    /// <summary>A fibre exists when its seed lies in its own cell (with weights a small fibre's cell can be empty).</summary>
    private bool OwnsItsSeed(int i, int j)
    {
        if (_o.FibreSizeVariation == 0)
            return true;
        var (x, y) = Seed(i, j);
        return NearestSeed(x, y) == (i, j);
    }

    public bool FibreIsSarcoplasmic(int i, int j) => Hash.Unit(_o.Seed, i, j, 6) < _o.FibresSarcoplasmic;

    /// <summary>Ring-positive: the chosen fraction, and every sarcoplasmic fibre (diffuse staining comes with the ring).</summary>
    public bool FibreIsPositive(int i, int j) => (Fascicles?.IsPositive(i, j) ?? Hash.Unit(_o.Seed, i, j, 3) < _o.FibresPositive) || FibreIsSarcoplasmic(i, j);

    /// <summary>
    /// Minimal Feret diameter (µm) and area (µm²) of fibre (i, j) without its half of the endomysium and its
    /// <paramref name="shrink"/>, sampled every 0.5 µm; null when the tissue's edge cuts it.
    /// </summary>
    internal (double MinFeret, double Area)? WholeFibre(int i, int j, double shrink = 0)
    {
        var (sx, sy) = Seed(i, j);
        double reach = _o.FibreDiameterMicrons * (1.3 + _o.FibreSizeVariation), step = 0.5;
        var points = new List<OpenCvSharp.Point2f>();
        for (double y = sy - reach; y <= sy + reach; y += step)
            for (double x = sx - reach; x <= sx + reach; x += step)
            {
                var (bi, bj, edge) = NearestSeedEdge(x, y);
                if ((bi, bj) != (i, j) || edge < _o.EndomysiumMicrons / 2 + shrink)
                    continue;
                if (!InTissue(x, y))
                    return null;
                points.Add(new OpenCvSharp.Point2f((float)x, (float)y));
            }
        if (points.Count < 3)
            return null;
        return (MinFeret(points, step), points.Count * step * step);
    }

    /// <summary>
    /// The smallest caliper width of the convex hull of samples taken every <paramref name="step"/> µm, plus a step
    /// (the samples are points; the fibre reaches half a step beyond each).
    /// </summary>
    private static double MinFeret(List<OpenCvSharp.Point2f> points, double step)
    {
        if (points.Count < 3)
            return step;
        var hull = OpenCvSharp.Cv2.ConvexHull(points);
        double best = double.MaxValue;
        for (int a = 0; a < hull.Length; a++)
        {
            var p = hull[a];
            var q = hull[(a + 1) % hull.Length];
            double ex = q.X - p.X, ey = q.Y - p.Y, len = Math.Sqrt(ex * ex + ey * ey);
            if (len < 1e-9)
                continue;
            double far = hull.Max(r => Math.Abs((r.X - p.X) * ey - (r.Y - p.Y) * ex) / len);
            best = Math.Min(best, far);
        }
        return best == double.MaxValue ? step : best + step;
    }

    /// <summary>
    /// What a perfect detector measures on the fibres it sees: over every fibre with at least
    /// <paramref name="minMicrons2"/> inside the tissue (those cut by the tissue's edge by their visible part, as the
    /// tool measures them), the medians of minimal Feret diameter and area and the coefficient of variation (sample SD
    /// / mean) of the minimal Feret diameter; null above <paramref name="most"/> fibres. One raster pass over the
    /// tissue every 0.5 µm (bands in parallel): each fibre keeps its sample count and, per row, its leftmost and
    /// rightmost sample, whose convex hull is the hull of all its samples. With them, the % of those fibres with an
    /// internal nucleus as the tool defines one (InternalNucleusArea).
    /// </summary>
    public (double MinFeret, double Area, double MinFeretCv, double CentralNucleiPct)? FibreMedians(double minMicrons2, int most)
    {
        const double step = 0.5;
        double s = _o.FibreDiameterMicrons;
        if (_widthUm * _heightUm / (s * s) > 2 * most)
            return null; // far too many fibres: the pass would cost more than rendering
        int rows = (int)(_heightUm / step), band = 64;
        var parts = new Dictionary<(int, int), FibreSamples>[(rows + band - 1) / band];
        Parallel.For(0, parts.Length, b =>
        {
            var mine = new Dictionary<(int, int), FibreSamples>();
            for (int r = b * band; r < Math.Min(rows, (b + 1) * band); r++)
            {
                double y = (r + 0.5) * step;
                for (double x = step / 2; x < _widthUm; x += step)
                {
                    if (!InTissue(x, y))
                        continue;
                    var (i, j, edge) = NearestSeedEdge(x, y);
                    if (Fascicles?.IsRemoved(i, j) ?? false)
                        continue;
                    if (edge < _o.EndomysiumMicrons / 2 + (Fascicles?.Shrink(i, j) ?? 0))
                        continue;
                    if (!mine.TryGetValue((i, j), out var f))
                        mine[(i, j)] = f = new FibreSamples();
                    f.Add(x, y);
                }
            }
            foreach (var f in mine.Values)
                f.EndRow();
            parts[b] = mine;
        });
        var all = new Dictionary<(int, int), FibreSamples>();
        foreach (var part in parts)
            foreach (var (key, f) in part)
                if (all.TryGetValue(key, out var g))
                    g.Merge(f);
                else
                    all[key] = f;
        var keptKeys = all.Where(p => p.Value.Count * step * step >= minMicrons2).Select(p => p.Key).ToList();
        var kept = keptKeys.Select(k => (MinFeret: all[k].MinFeret(step), Area: all[k].Count * step * step)).ToList();
        if (kept.Count < 2 || kept.Count > most)
            return null;
        double mean = kept.Average(f => f.MinFeret);
        double sd = Math.Sqrt(kept.Sum(f => (f.MinFeret - mean) * (f.MinFeret - mean)) / (kept.Count - 1));
        var internalNucleus = InternalNucleusArea();
        double central = 100.0 * keptKeys.Count(k => internalNucleus.GetValueOrDefault(k) >= InternalNucleusMicrons2) / keptKeys.Count;
        return (Median(kept.Select(f => f.MinFeret)), Median(kept.Select(f => f.Area)), sd / mean, central);
    }

    // The tool's definition of an internal (central) nucleus (FibreSettings: internal_nucleus_um, 6 µm² of nucleus).
    private const double InternalNucleusMicrons = 4, InternalNucleusMicrons2 = 6;

    /// <summary>
    /// Per fibre, the nucleus area (µm²) at least InternalNucleusMicrons inside its outline: every nucleus disk (of
    /// nuclei and cells alike; wherever they were scattered, some lie deep in a fibre) sampled every 0.25 µm.
    /// </summary>
    private Dictionary<(int, int), double> InternalNucleusArea()
    {
        const double step = 0.25;
        var area = new Dictionary<(int, int), double>();
        foreach (var list in _buckets)
            foreach (var b in list ?? [])
            {
                if (b.Kind != BlobKind.Cell || b.NucleusRadius <= 0)
                    continue;
                double r = b.NucleusRadius;
                for (double y = b.NucleusY - r + step / 2; y < b.NucleusY + r; y += step)
                    for (double x = b.NucleusX - r + step / 2; x < b.NucleusX + r; x += step)
                    {
                        if ((x - b.NucleusX) * (x - b.NucleusX) + (y - b.NucleusY) * (y - b.NucleusY) >= r * r || !InTissue(x, y))
                            continue;
                        var (i, j, depth) = FibreDepth(x, y);
                        if (depth >= InternalNucleusMicrons && !(Fascicles?.IsRemoved(i, j) ?? false))
                            area[(i, j)] = area.GetValueOrDefault((i, j)) + step * step;
                    }
            }
        return area;
    }

    /// <summary>A fibre's samples: how many, and each row's leftmost and rightmost.</summary>
    private sealed class FibreSamples
    {
        private readonly List<OpenCvSharp.Point2f> _ends = [];
        private double _y = double.NaN, _left, _right;
        public long Count { get; private set; }

        public void Add(double x, double y)
        {
            Count++;
            if (y != _y)
            {
                EndRow();
                _y = y;
                _left = _right = x;
            }
            else
            {
                _left = Math.Min(_left, x);
                _right = Math.Max(_right, x);
            }
        }

        public void EndRow()
        {
            if (double.IsNaN(_y))
                return;
            _ends.Add(new OpenCvSharp.Point2f((float)_left, (float)_y));
            _ends.Add(new OpenCvSharp.Point2f((float)_right, (float)_y));
            _y = double.NaN;
        }

        public void Merge(FibreSamples other)
        {
            Count += other.Count;
            _ends.AddRange(other._ends);
        }

        public double MinFeret(double step) => SyntheticScene.MinFeret(_ends, step);
    }

    /// <summary>The median, 0 for no values.</summary>
    internal static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToList();
        return v.Count == 0 ? 0 : v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
    }

    /// <summary>Fibres (grid cells) whose seed lies in the tissue: the truth's fibre count.</summary>
    public (int Fibres, int Positive, int Sarcoplasmic) CountFibres()
    {
        double s = _o.FibreDiameterMicrons;
        int fibres = 0, positive = 0, sarcoplasmic = 0;
        for (int i = 0; i <= (int)(_widthUm / s); i++)
            for (int j = 0; j <= (int)(_heightUm / s); j++)
            {
                var (x, y) = Seed(i, j);
                if (x < _widthUm && y < _heightUm && InTissue(x, y) && !(Fascicles?.IsRemoved(i, j) ?? false) && OwnsItsSeed(i, j))
                {
                    fibres++;
                    if (FibreIsPositive(i, j))
                        positive++;
                    if (FibreIsSarcoplasmic(i, j))
                        sarcoplasmic++;
                }
            }
        return (fibres, positive, sarcoplasmic);
    }

    /// <summary>
    /// Fibres cut by the section edge: grid cells whose seed lies outside the tissue (so the truth's fibre count leaves
    /// them out) but that keep at least <paramref name="minMicrons2"/> of fibre inside it. A detector sees them as
    /// fibres; sampled every 2 µm.
    /// </summary>
    public int CountCutFibres(double minMicrons2)
    {
        const double step = 2;
        double s = _o.FibreDiameterMicrons;
        var area = new Dictionary<(int, int), double>();
        for (double y = step / 2; y < _heightUm; y += step)
            for (double x = step / 2; x < _widthUm; x += step)
            {
                if (!InTissue(x, y))
                    continue;
                var (i, j, edge) = Nearest(x, y);
                var (sx, sy) = Seed(i, j);
                if (edge < _o.EndomysiumMicrons / 2 || (sx < _widthUm && sy < _heightUm && InTissue(sx, sy)))
                    continue;
                area[(i, j)] = area.GetValueOrDefault((i, j)) + step * step;
            }
        return area.Values.Count(a => a >= minMicrons2);
    }

    /// <summary>The fibre (grid cell) nearest a point and the point's distance to the bisector with the next one.</summary>
    private (int I, int J, double Edge) Nearest(double x, double y)
    {
        double s = _o.FibreDiameterMicrons;
        int gi = (int)Math.Floor(x / s), gj = (int)Math.Floor(y / s);
        double best = double.MaxValue, second = double.MaxValue;
        double bx = 0, by = 0, sx = 0, sy = 0;
        int bi = 0, bj = 0;
        for (int i = gi - 1; i <= gi + 1; i++)
            for (int j = gj - 1; j <= gj + 1; j++)
            {
                var (px, py) = Seed(i, j);
                double d = (px - x) * (px - x) + (py - y) * (py - y) - Weight(i, j);
                if (d < best)
                {
                    second = best; sx = bx; sy = by;
                    best = d; bx = px; by = py; bi = i; bj = j;
                }
                else if (d < second)
                {
                    second = d; sx = px; sy = py;
                }
            }
        return (bi, bj, (second - best) / (2 * Math.Sqrt((sx - bx) * (sx - bx) + (sy - by) * (sy - by))));
    }

    /// <summary>Hematoxylin and DAB concentrations (OD units) of the fibre pattern at a point in tissue.</summary>
    public (double H, double Dab) Fibres(double x, double y)
    {
        double s = _o.FibreDiameterMicrons;
        int gi = (int)Math.Floor(x / s), gj = (int)Math.Floor(y / s);
        double best = double.MaxValue, second = double.MaxValue;
        double bx = 0, by = 0, sx = 0, sy = 0;
        int bi = 0, bj = 0;
        for (int i = gi - 1; i <= gi + 1; i++)
            for (int j = gj - 1; j <= gj + 1; j++)
            {
                var (px, py) = Seed(i, j);
                double d = (px - x) * (px - x) + (py - y) * (py - y) - Weight(i, j);
                if (d < best)
                {
                    second = best; sx = bx; sy = by;
                    best = d; bx = px; by = py; bi = i; bj = j;
                }
                else if (d < second)
                {
                    second = d; sx = px; sy = py;
                }
            }
        // Distance to the bisector between the two nearest seeds: how far inside its fibre the point lies.
        double edge = (second - best) / (2 * Math.Sqrt((sx - bx) * (sx - bx) + (sy - by) * (sy - by)));
        double nonSpecific = (0.02 + 0.015 * Hash.Smooth(_o.Seed, x / 150, y / 150)) * _o.DabScale;
        double gap = _o.EndomysiumMicrons;
        if (Fascicles is { } fascicles)
        {
            if (fascicles.Vessel(x, y, nonSpecific) is { } vessel)
                return vessel;
            if (fascicles.IsRemoved(bi, bj))
                return SyntheticFascicles.Perimysium(_o.Seed, x, y, nonSpecific);
            // An atrophic fibre's lost width is loose connective tissue, not a pale gap the tissue mask would call glass.
            double shrink = fascicles.Shrink(bi, bj);
            if (edge >= gap / 2 && edge < gap / 2 + shrink)
                return SyntheticFascicles.Perimysium(_o.Seed, x, y, nonSpecific);
            gap += 2 * shrink;
        }
        if (edge < gap / 2)
            return (_o.EndomysiumOd, 0.3 * nonSpecific);
        double h = 0.03 + 0.03 * Hash.Unit(_o.Seed, bi, bj, 4) + (Fascicles is null ? 0 : 0.05); // muscle fibres take little hematoxylin
        if (edge < gap / 2 + RingMicrons && FibreIsPositive(bi, bj))
            return (h, (0.45 + 0.35 * Hash.Unit(_o.Seed, bi, bj, 5)) * _o.DabScale);
        if (FibreIsSarcoplasmic(bi, bj))
            return (h, (0.25 + 0.15 * Hash.Unit(_o.Seed, bi, bj, 7)) * _o.DabScale + nonSpecific);
        return (h, nonSpecific);
    }
}

/// <summary>Deterministic hashing of integer coordinates to [0, 1), and smooth value noise.</summary>
internal static class Hash
{
    public static uint Mix(int seed, int a, int b, int c)
    {
        unchecked
        {
            uint h = (uint)seed * 0x9E3779B1u ^ (uint)a * 0x85EBCA77u ^ (uint)b * 0xC2B2AE3Du ^ (uint)c * 0x27D4EB2Fu;
            h ^= h >> 15;
            h *= 0x2C1B3C6Du;
            h ^= h >> 12;
            h *= 0x297A2D39u;
            h ^= h >> 15;
            return h;
        }
    }

    public static double Unit(int seed, int a, int b, int c) => Mix(seed, a, b, c) / 4294967296.0;

    /// <summary>Approximately normal noise (sum of three uniforms, unit variance).</summary>
    public static double Normal(int seed, int a, int b, int c) =>
        (Unit(seed, a, b, c) + Unit(seed, a, b, c + 101) + Unit(seed, a, b, c + 202) - 1.5) * 2.0;

    /// <summary>Bilinear value noise in [0, 1) on a unit grid.</summary>
    public static double Smooth(int seed, double x, double y)
    {
        int ix = (int)Math.Floor(x), iy = (int)Math.Floor(y);
        double fx = x - ix, fy = y - iy;
        double a = Unit(seed, ix, iy, 9), b = Unit(seed, ix + 1, iy, 9), c = Unit(seed, ix, iy + 1, 9), d = Unit(seed, ix + 1, iy + 1, 9);
        return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
    }
}
