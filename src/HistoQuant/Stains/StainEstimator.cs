namespace HistoQuant.Stains;

/// <summary>
/// Estimates two stain vectors from optical densities of tissue pixels, after Macenko et al. (2009), as
/// QuPath and HistomicsTK do: drop nearly transparent pixels, find the plane of the two largest principal
/// directions of the OD cloud, and take the directions at the 1st and 99th percentile of the angle within
/// that plane as the two pure stains. Which is which is decided by closeness to the reference pair.
/// </summary>
public static class StainEstimator
{
    public const double MinOpticalDensity = 0.15;
    public const double AnglePercentile = 1.0;

    /// <param name="od">Optical densities, three per pixel (R, G, B).</param>
    public static StainSet Estimate(ReadOnlySpan<float> od, StainSet reference, Background background, string name)
    {
        int n = od.Length / 3;
        // Mean and covariance of the dense enough pixels (uncentred, as in Macenko: the stains pass through 0).
        var c = new double[3, 3];
        int used = 0;
        for (int i = 0; i < n; i++)
        {
            double r = od[i * 3], g = od[i * 3 + 1], b = od[i * 3 + 2];
            if (Math.Sqrt(r * r + g * g + b * b) < MinOpticalDensity)
                continue;
            c[0, 0] += r * r; c[0, 1] += r * g; c[0, 2] += r * b;
            c[1, 1] += g * g; c[1, 2] += g * b; c[2, 2] += b * b;
            used++;
        }
        if (used < 1000)
            throw new InvalidOperationException($"too few stained pixels ({used}) to estimate stain vectors");
        c[1, 0] = c[0, 1]; c[2, 0] = c[0, 2]; c[2, 1] = c[1, 2];
        var (values, vectors) = SymmetricEigen(c);
        var order = Enumerable.Range(0, 3).OrderByDescending(k => values[k]).ToArray();
        var e1 = Column(vectors, order[0]);
        var e2 = Column(vectors, order[1]);
        if (e1[0] + e1[1] + e1[2] < 0)
            e1 = e1.Select(v => -v).ToArray(); // the main direction points into positive OD

        var angles = new List<double>(used);
        for (int i = 0; i < n; i++)
        {
            double r = od[i * 3], g = od[i * 3 + 1], b = od[i * 3 + 2];
            if (Math.Sqrt(r * r + g * g + b * b) < MinOpticalDensity)
                continue;
            angles.Add(Math.Atan2(r * e2[0] + g * e2[1] + b * e2[2], r * e1[0] + g * e1[1] + b * e1[2]));
        }
        angles.Sort();
        double low = angles[(int)(angles.Count * AnglePercentile / 100)];
        double high = angles[Math.Min(angles.Count - 1, (int)(angles.Count * (100 - AnglePercentile) / 100))];
        var a = Direction(e1, e2, low);
        var b2 = Direction(e1, e2, high);

        var first = new StainVector(reference.Stain1.Name, a[0], a[1], a[2]);
        var second = new StainVector(reference.Stain2.Name, b2[0], b2[1], b2[2]);
        // Pair them with the reference stains the way that bends them least.
        if (first.AngleDegrees(reference.Stain1) + second.AngleDegrees(reference.Stain2) >
            first.AngleDegrees(reference.Stain2) + second.AngleDegrees(reference.Stain1))
            (first, second) = (second with { Name = reference.Stain1.Name }, first with { Name = reference.Stain2.Name });
        return new StainSet(name, first, second, null, background);
    }

    private static double[] Direction(double[] e1, double[] e2, double angle)
    {
        var v = new double[3];
        for (int k = 0; k < 3; k++)
            v[k] = Math.Cos(angle) * e1[k] + Math.Sin(angle) * e2[k];
        if (v.Sum() < 0)
            v = v.Select(x => -x).ToArray();
        // Stain absorbances are non-negative; tiny negative components are estimation noise.
        return v.Select(x => Math.Max(x, 1e-6)).ToArray();
    }

    private static double[] Column(double[,] m, int k) => [m[0, k], m[1, k], m[2, k]];

    /// <summary>Eigenvalues and eigenvectors (columns) of a symmetric 3×3 matrix by cyclic Jacobi rotations.</summary>
    internal static (double[] Values, double[,] Vectors) SymmetricEigen(double[,] input)
    {
        var a = (double[,])input.Clone();
        var v = new double[3, 3] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
        for (int sweep = 0; sweep < 50; sweep++)
        {
            double off = Math.Abs(a[0, 1]) + Math.Abs(a[0, 2]) + Math.Abs(a[1, 2]);
            if (off < 1e-15 * (Math.Abs(a[0, 0]) + Math.Abs(a[1, 1]) + Math.Abs(a[2, 2]) + 1e-300))
                break;
            for (int p = 0; p < 2; p++)
                for (int q = p + 1; q < 3; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-300)
                        continue;
                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double cos = 1 / Math.Sqrt(t * t + 1), sin = t * cos;
                    for (int k = 0; k < 3; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = cos * akp - sin * akq;
                        a[k, q] = sin * akp + cos * akq;
                    }
                    for (int k = 0; k < 3; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = cos * apk - sin * aqk;
                        a[q, k] = sin * apk + cos * aqk;
                    }
                    for (int k = 0; k < 3; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = cos * vkp - sin * vkq;
                        v[k, q] = sin * vkp + cos * vkq;
                    }
                }
        }
        return ([a[0, 0], a[1, 1], a[2, 2]], v);
    }
}
