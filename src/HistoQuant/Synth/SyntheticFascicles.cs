using OpenCvSharp;

namespace HistoQuant.Synth;

/// <summary>Ground truth of a synthetic slide's compartments (see <see cref="SyntheticFascicles"/>).</summary>
public sealed record CompartmentTruth(
    int Fascicles,
    int Vessels,
    double FascicleAreaMm2,
    double PerimysiumAreaMm2,
    double PerivascularAreaMm2,
    int EndomysialCells,
    int PerimysialCells,
    int PerivascularCells,
    int InvadingCells,
    double PositiveCellsPerMm2Endomysial,
    double PositiveCellsPerMm2Perimysial,
    double PositiveCellsPerMm2Perivascular,
    int PerifascicularFibres,
    int CentralFibres,
    double PositiveFibresPctPerifascicular,
    double PositiveFibresPctCentral,
    double FibreMinFeretMedianUmPerifascicular,
    double FibreMinFeretMedianUmCentral);

/// <summary>
/// Fascicles for a synthetic slide: fascicle centres on a jittered grid (FascicleMicrons apart); fibre seeds closer than
/// PerimysiumMicrons/2 to the border between two fascicles are dropped and their Voronoi cells become perimysium
/// (pale connective tissue, hematoxylin about 0.03; fibres take 0.05 more than without fascicles, so the septa are
/// paler than fibres yet still tissue). Vessels (lumen 10–18 µm in radius, a 5 µm wall) sit in the perimysium.
/// Positive cells come as endomysial clusters (on the endomysium between fibres, away from the fascicle border),
/// perivascular clusters (in the perimysial part of the perivascular band), scattered perimysial cells and cells
/// inside fibres (invading, ≥ 10 µm from the outline). Each fibre's depth is the graph distance (Gabriel neighbours
/// among the kept seeds) from the fibres next to a dropped seed; the first PerifascicularLayers layers get their own
/// MHC class I fraction and shrink by PerifascicularAtrophy of the fibre diameter.
/// </summary>
internal sealed class SyntheticFascicles
{
    private const double LumenMin = 10, LumenSpread = 8, WallMicrons = 5;
    private readonly SynthOptions _o;
    private readonly SyntheticScene _scene;
    private readonly double _widthUm, _heightUm;
    private readonly Dictionary<(int, int), int> _depth = new();
    private readonly List<(double X, double Y, double R)> _vessels = [];
    private int _endomysial, _perimysial, _perivascular, _invading;

    public SyntheticFascicles(SynthOptions o, SyntheticScene scene, Random rng)
    {
        _o = o;
        _scene = scene;
        _widthUm = o.Width * o.Mpp;
        _heightUm = o.Height * o.Mpp;
        ComputeDepths();
        for (int v = 0, attempt = 0; v < o.Vessels && attempt < 20000; attempt++)
        {
            double r = LumenMin + LumenSpread * rng.NextDouble();
            var (x, y) = (rng.NextDouble() * _widthUm, rng.NextDouble() * _heightUm);
            if (!AllPerimysium(x, y, r + WallMicrons + 3) || _vessels.Any(u => Dist(u.X, u.Y, x, y) < u.R + r + 2 * WallMicrons + 20))
                continue;
            _vessels.Add((x, y, r));
            v++;
        }
        Place(rng, o.EndomysialCells, 80, CellPlaceTruth.Endomysial);
        Place(rng, o.PerivascularCells, 0, CellPlaceTruth.Perivascular);
        Place(rng, o.PerimysialCells, -1, CellPlaceTruth.Perimysial);
        Place(rng, o.InvadingCells, -1, CellPlaceTruth.Invading);
    }

    private enum CellPlaceTruth { Endomysial, Perimysial, Perivascular, Invading }

    private static double Dist(double ax, double ay, double bx, double by) => Math.Sqrt((ax - bx) * (ax - bx) + (ay - by) * (ay - by));

    /// <summary>Nearest fascicle centre and the distance to the border with the second nearest.</summary>
    private (int I, int J, double Border) Fascicle(double x, double y)
    {
        double f = _o.FascicleMicrons;
        int gi = (int)Math.Floor(x / f), gj = (int)Math.Floor(y / f);
        double best = double.MaxValue, second = double.MaxValue;
        (double X, double Y) b = default, s = default;
        int bi = 0, bj = 0;
        for (int i = gi - 1; i <= gi + 1; i++)
            for (int j = gj - 1; j <= gj + 1; j++)
            {
                double px = (i + 0.5 + 0.5 * (Hash.Unit(_o.Seed, i, j, 50) - 0.5)) * f, py = (j + 0.5 + 0.5 * (Hash.Unit(_o.Seed, i, j, 51) - 0.5)) * f;
                double d = (px - x) * (px - x) + (py - y) * (py - y);
                if (d < best)
                {
                    second = best; s = b;
                    best = d; b = (px, py); bi = i; bj = j;
                }
                else if (d < second)
                {
                    second = d; s = (px, py);
                }
            }
        return (bi, bj, (second - best) / (2 * Dist(s.X, s.Y, b.X, b.Y)));
    }

    /// <summary>A fibre seed on a fascicle border: its Voronoi cell is perimysium.</summary>
    public bool IsRemoved(int i, int j)
    {
        var (x, y) = _scene.SeedOf(i, j);
        return Fascicle(x, y).Border < _o.PerimysiumMicrons / 2;
    }

    private bool PerimysiumAt(double x, double y) => _scene.InTissue(x, y) && _scene.NearestSeed(x, y) is var (i, j) && IsRemoved(i, j);

    private bool AllPerimysium(double x, double y, double r)
    {
        if (!PerimysiumAt(x, y))
            return false;
        for (int k = 0; k < 12; k++)
            if (!PerimysiumAt(x + r * Math.Cos(k * Math.PI / 6), y + r * Math.Sin(k * Math.PI / 6)))
                return false;
        return true;
    }

    /// <summary>Distance from a point to the nearest lumen's edge (negative inside a lumen).</summary>
    private double VesselDistance(double x, double y)
    {
        double best = double.MaxValue;
        foreach (var v in _vessels)
            best = Math.Min(best, Dist(v.X, v.Y, x, y) - v.R);
        return best;
    }

    public int? Depth(int i, int j) => _depth.TryGetValue((i, j), out int d) ? d : null;

    public bool Perifascicular(int i, int j) => Depth(i, j) is { } d && d <= _o.PerifascicularLayers;

    /// <summary>How far the fibre's outline moves in (µm): perifascicular atrophy.</summary>
    public double Shrink(int i, int j) => Perifascicular(i, j) ? _o.PerifascicularAtrophy * _o.FibreDiameterMicrons / 2 : 0;

    public bool IsPositive(int i, int j) => Hash.Unit(_o.Seed, i, j, 3) < (Perifascicular(i, j) ? _o.PerifascicularPositive ?? _o.FibresPositive : _o.FibresPositive);

    /// <summary>Hematoxylin and DAB of a vessel's lumen or wall, or null elsewhere.</summary>
    public (double H, double Dab)? Vessel(double x, double y, double nonSpecific)
    {
        foreach (var v in _vessels)
        {
            double d = Dist(v.X, v.Y, x, y);
            if (d < v.R)
                return (0, 0);
            if (d < v.R + WallMicrons)
                return (0.14 + 0.03 * Hash.Smooth(_o.Seed, x / 3, y / 3), 0.3 * nonSpecific);
        }
        return null;
    }

    public static (double H, double Dab) Perimysium(int seed, double x, double y, double nonSpecific) =>
        (0.03 + 0.004 * Hash.Smooth(seed, x / 8, y / 25), 0.3 * nonSpecific);

    private void ComputeDepths()
    {
        double s = _o.FibreDiameterMicrons;
        int ni = (int)(_widthUm / s) + 1, nj = (int)(_heightUm / s) + 1;
        bool Kept(int i, int j) => _scene.SeedOf(i, j) is var (x, y) && x < _widthUm && y < _heightUm && x >= 0 && y >= 0 && _scene.InTissue(x, y) && !IsRemoved(i, j);
        bool Gabriel(int i, int j, int k, int l)
        {
            var (ax, ay) = _scene.SeedOf(i, j);
            var (bx, by) = _scene.SeedOf(k, l);
            double mx = (ax + bx) / 2, my = (ay + by) / 2, r = Dist(ax, ay, bx, by) / 2;
            for (int p = Math.Min(i, k) - 1; p <= Math.Max(i, k) + 1; p++)
                for (int q = Math.Min(j, l) - 1; q <= Math.Max(j, l) + 1; q++)
                    if ((p, q) != (i, j) && (p, q) != (k, l) && _scene.SeedOf(p, q) is var (cx, cy) && Dist(cx, cy, mx, my) < r)
                        return false;
            return true;
        }
        var queue = new Queue<(int, int)>();
        for (int i = 0; i < ni; i++)
            for (int j = 0; j < nj; j++)
            {
                if (!Kept(i, j))
                    continue;
                bool border = false;
                for (int di = -1; di <= 1 && !border; di++)
                    for (int dj = -1; dj <= 1 && !border; dj++)
                        if ((di, dj) != (0, 0) && IsRemoved(i + di, j + dj) && _scene.SeedOf(i + di, j + dj) is var (x, y) && _scene.InTissue(x, y) && Gabriel(i, j, i + di, j + dj))
                            border = true;
                if (border)
                {
                    _depth[(i, j)] = 1;
                    queue.Enqueue((i, j));
                }
            }
        while (queue.Count > 0)
        {
            var (i, j) = queue.Dequeue();
            for (int di = -1; di <= 1; di++)
                for (int dj = -1; dj <= 1; dj++)
                    if ((di, dj) != (0, 0) && !_depth.ContainsKey((i + di, j + dj)) && Kept(i + di, j + dj) && Gabriel(i, j, i + di, j + dj))
                    {
                        _depth[(i + di, j + dj)] = _depth[(i, j)] + 1;
                        queue.Enqueue((i + di, j + dj));
                    }
        }
    }

    /// <summary>Places positive cells of one compartment; endomysial ones in clusters of about 8 around centres at least
    /// <paramref name="minDepthMicrons"/> inside a fascicle.</summary>
    private void Place(Random rng, int count, double minDepthMicrons, CellPlaceTruth where)
    {
        double cx = 0, cy = 0;
        int placed = 0;
        for (int attempt = 0; placed < count && attempt < 200000; attempt++)
        {
            // Endomysial macrophages squeeze between fibres: narrower than those in loose connective tissue.
            bool squeezed = where == CellPlaceTruth.Endomysial;
            double r = squeezed ? 4.5 + 1.5 * rng.NextDouble() : 7 + 3 * rng.NextDouble();
            double x, y;
            bool newCluster = placed % 8 == 0 && attempt % 50 == 0 || attempt % 2000 == 0;
            if (where == CellPlaceTruth.Endomysial && !newCluster)
                (x, y) = (cx + (rng.NextDouble() - 0.5) * 120, cy + (rng.NextDouble() - 0.5) * 120);
            else if (where == CellPlaceTruth.Perivascular && _vessels.Count > 0)
            {
                var v = _vessels[rng.Next(_vessels.Count)];
                double angle = rng.NextDouble() * 2 * Math.PI, d = v.R + WallMicrons + r + 1 + (_o.PerivascularMicrons - WallMicrons - r - 6) * rng.NextDouble();
                (x, y) = (v.X + d * Math.Cos(angle), v.Y + d * Math.Sin(angle));
            }
            else
                (x, y) = (rng.NextDouble() * _widthUm, rng.NextDouble() * _heightUm);
            if (!_scene.InTissue(x, y) || !_scene.IsFree(x, y, r))
                continue;
            var (i, j, edge) = _scene.NearestSeedEdge(x, y);
            bool ok = where switch
            {
                CellPlaceTruth.Endomysial => !IsRemoved(i, j) && edge < 1.0 && Fascicle(x, y).Border > _o.PerimysiumMicrons / 2 + minDepthMicrons
                    && VesselDistance(x, y) > _o.PerivascularMicrons + 15,
                CellPlaceTruth.Perivascular => _vessels.Count > 0 && AllPerimysium(x, y, r + 2) && VesselDistance(x, y) <= _o.PerivascularMicrons - 4,
                CellPlaceTruth.Perimysial => AllPerimysium(x, y, r + 2) && VesselDistance(x, y) > _o.PerivascularMicrons + 15,
                _ => !IsRemoved(i, j) && edge > _o.EndomysiumMicrons / 2 + Shrink(i, j) + 12,
            };
            if (where == CellPlaceTruth.Endomysial && newCluster)
            {
                if (ok)
                    (cx, cy) = (x, y);
                else
                    continue;
            }
            if (!ok)
                continue;
            double angle2 = rng.NextDouble() * 2 * Math.PI, shift = 1.5 * rng.NextDouble();
            _scene.AddCell(new Blob(x, y, r, (0.55 + 0.4 * rng.NextDouble()) * _o.DabScale,
                x + shift * Math.Cos(angle2), y + shift * Math.Sin(angle2), squeezed ? 2.5 + 0.5 * rng.NextDouble() : 3 + rng.NextDouble(), 0.45 + 0.15 * rng.NextDouble()));
            placed++;
        }
        switch (where)
        {
            case CellPlaceTruth.Endomysial: _endomysial = placed; break;
            case CellPlaceTruth.Perimysial: _perimysial = placed; break;
            case CellPlaceTruth.Perivascular: _perivascular = placed; break;
            default: _invading = placed; break;
        }
    }

    public int PlacedCells => _endomysial + _perimysial + _perivascular + _invading;

    /// <summary>The truth: compartment areas sampled on a grid of about 1 µm (perivascular before fascicle before
    /// perimysium; lumina in none), cells as placed, fibre groups by depth. A fascicle ends at its outer fibres' outlines
    /// (the endomysium and atrophy gap on their perimysial side is perimysium), as the measure draws it.</summary>
    public CompartmentTruth Truth()
    {
        double step = Math.Max(1, Math.Sqrt(_widthUm * _heightUm / 16e6));
        long fascicle = 0, perimysium = 0, perivascular = 0;
        var fascicles = new HashSet<(int, int)>();
        object gate = new();
        Parallel.For(0, (int)(_heightUm / step), row =>
        {
            long f = 0, p = 0, v = 0;
            var seen = new HashSet<(int, int)>();
            double y = (row + 0.5) * step;
            for (double x = step / 2; x < _widthUm; x += step)
            {
                if (!_scene.InTissue(x, y))
                    continue;
                double dv = VesselDistance(x, y);
                if (dv < 0)
                    continue;
                if (dv <= _o.PerivascularMicrons)
                    v++;
                else if (_scene.NearestTwoSeeds(x, y) is var (i, j, k, l, edge) && !IsRemoved(i, j)
                    && !(IsRemoved(k, l) && edge < _o.EndomysiumMicrons / 2 + Shrink(i, j)))
                {
                    f++;
                    var fa = Fascicle(x, y);
                    seen.Add((fa.I, fa.J));
                }
                else
                    p++;
            }
            lock (gate)
            {
                fascicle += f; perimysium += p; perivascular += v;
                fascicles.UnionWith(seen);
            }
        });
        double mm2 = step * step * 1e-6;
        double fa = fascicle * mm2, pa = perimysium * mm2, va = perivascular * mm2;
        // The groups hold whole fibres: one cut by the section's edge is a fragment, in neither group (as in the tool).
        var feret = _depth.Keys.ToDictionary(k => k, k => MinFeret(k.Item1, k.Item2));
        var outer = _depth.Where(d => d.Value <= _o.PerifascicularLayers && feret[d.Key] is not null).Select(d => d.Key).ToList();
        var inner = _depth.Where(d => d.Value > _o.PerifascicularLayers && feret[d.Key] is not null).Select(d => d.Key).ToList();
        double Pct(List<(int, int)> g) => g.Count > 0 ? 100.0 * g.Count(k => IsPositive(k.Item1, k.Item2)) / g.Count : 0;
        double Feret(List<(int, int)> g) => SyntheticScene.Median(g.Select(k => feret[k]).OfType<double>());
        return new CompartmentTruth(fascicles.Count, _vessels.Count, fa, pa, va, _endomysial, _perimysial, _perivascular, _invading,
            fa > 0 ? _endomysial / fa : 0, pa > 0 ? _perimysial / pa : 0, va > 0 ? _perivascular / va : 0,
            outer.Count, inner.Count, Pct(outer), Pct(inner), Feret(outer), Feret(inner));
    }

    private double? MinFeret(int i, int j) => _scene.WholeFibre(i, j, Shrink(i, j))?.MinFeret;
}
