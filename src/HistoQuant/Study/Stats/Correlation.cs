using MathNet.Numerics.Distributions;

namespace HistoQuant.Study.Stats;

/// <summary>Spearman's ρ with its two-sided p-value and a 95% confidence interval.</summary>
public sealed record SpearmanResult(double Rho, double P, double CiLow, double CiHigh, int N);

public static class Spearman
{
    /// <summary>
    /// ρ = Pearson correlation of average ranks (MathNet.Numerics). p: for n ≤ <see cref="MaxExactN"/> exact, from
    /// all n! pairings of the ranks (two-sided: the share with |ρ| at least the observed one), since the t
    /// approximation means nothing at such n (it gives p = 0 for ρ = 1 with three points); above, from Student's t
    /// with n − 2 degrees of freedom (as SciPy). CI: Fisher's z with the Fieller–Hartley–Pearson standard error
    /// √(1.06 / (n − 3)), so it needs n ≥ 4.
    /// </summary>
    public static SpearmanResult? Compute(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count;
        if (n < 3 || y.Count != n)
            return null;
        double rho = MathNet.Numerics.Statistics.Correlation.Spearman(x, y);
        if (double.IsNaN(rho))
            return null; // a constant variable
        double p;
        if (n <= MaxExactN)
            p = ExactP(x, y);
        else if (Math.Abs(rho) >= 1)
            p = 0;
        else
        {
            double t = rho * Math.Sqrt((n - 2) / (1 - rho * rho));
            p = 2 * StudentT.CDF(0, 1, n - 2, -Math.Abs(t));
        }
        double low = double.NaN, high = double.NaN;
        if (n >= 4 && Math.Abs(rho) < 1)
        {
            double z = Math.Atanh(rho), se = Math.Sqrt(1.06 / (n - 3)), q = Normal.InvCDF(0, 1, 0.975);
            low = Math.Tanh(z - q * se);
            high = Math.Tanh(z + q * se);
        }
        return new SpearmanResult(rho, Math.Min(1, p), low, high, n);
    }

    /// <summary>Up to 9! = 362 880 pairings: milliseconds.</summary>
    public const int MaxExactN = 9;

    /// <summary>Two-sided exact permutation p: ranks of y permuted against the ranks of x (ties keep their average ranks).</summary>
    internal static double ExactP(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count;
        double[] rx = MathNet.Numerics.Statistics.ArrayStatistics.RanksInplace(x.ToArray(), MathNet.Numerics.Statistics.RankDefinition.Average);
        double[] ry = MathNet.Numerics.Statistics.ArrayStatistics.RanksInplace(y.ToArray(), MathNet.Numerics.Statistics.RankDefinition.Average);
        double mean = (n + 1) / 2.0;
        for (int i = 0; i < n; i++)
        {
            rx[i] -= mean;
            ry[i] -= mean;
        }
        // With the rank variances fixed, |ρ| orders as |Σ rx·ry| does.
        double observed = Math.Abs(Dot(rx, ry)) - 1e-9;
        long atLeast = 0, total = 0;
        var perm = (double[])ry.Clone();
        var c = new int[n];
        void Count()
        {
            total++;
            if (Math.Abs(Dot(rx, perm)) >= observed)
                atLeast++;
        }
        // Heap's algorithm: every permutation once, one swap apart.
        Count();
        for (int i = 1; i < n;)
        {
            if (c[i] < i)
            {
                int j = i % 2 == 0 ? 0 : c[i];
                (perm[j], perm[i]) = (perm[i], perm[j]);
                Count();
                c[i]++;
                i = 1;
            }
            else
            {
                c[i] = 0;
                i++;
            }
        }
        return (double)atLeast / total;
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
            s += a[i] * b[i];
        return s;
    }
}
