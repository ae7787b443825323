using MathNet.Numerics.Distributions;

namespace HistoQuant.Study.Stats;

/// <summary>A test's statistic, two-sided p-value and how it was computed ("exact" or "normal").</summary>
public sealed record TestResult(double Statistic, double P, string Method, int N);

/// <summary>
/// Wilcoxon signed-rank and Mann–Whitney U tests, two-sided, following SciPy 1.10's defaults so results can be
/// checked against it: zero differences dropped (Wilcoxon's method); exact null distributions for small
/// samples without ties or zeros (signed-rank: n ≤ 50; U: a group of at most 8), otherwise the normal approximation
/// with the tie correction (and, for U only, a continuity correction).
/// </summary>
public static class RankTests
{
    public static TestResult? WilcoxonSignedRank(IReadOnlyList<double> differences)
    {
        var d = differences.Where(x => x != 0 && double.IsFinite(x)).ToList();
        int n = d.Count;
        if (n == 0)
            return null;
        var ranks = Ranks.Average(d.Select(Math.Abs).ToList(), out var ties);
        double rPlus = 0;
        for (int i = 0; i < n; i++)
            if (d[i] > 0)
                rPlus += ranks[i];
        double rMinus = n * (n + 1) / 2.0 - rPlus;
        double w = Math.Min(rPlus, rMinus);
        bool hadZeros = d.Count < differences.Count(double.IsFinite);
        if (n <= 50 && ties.Count == 0 && !hadZeros)
        {
            // Exact: counts of subsets of {1..n} by rank sum.
            var counts = SignedRankCounts(n);
            double total = Math.Pow(2, n);
            double lower = 0;
            for (int s = 0; s <= (int)w; s++)
                lower += counts[s];
            return new TestResult(w, Math.Min(1, 2 * lower / total), "exact", n);
        }
        double mean = n * (n + 1) / 4.0;
        double variance = n * (n + 1) * (2 * n + 1) / 24.0 - Ranks.TieTerm(ties) / 48.0;
        if (variance <= 0)
            return new TestResult(w, 1, "normal", n);
        double z = (w - mean) / Math.Sqrt(variance);
        return new TestResult(w, Math.Min(1, 2 * Normal.CDF(0, 1, -Math.Abs(z))), "normal", n);
    }

    private static double[] SignedRankCounts(int n)
    {
        int max = n * (n + 1) / 2;
        var counts = new double[max + 1];
        counts[0] = 1;
        for (int k = 1; k <= n; k++)
            for (int s = max; s >= k; s--)
                counts[s] += counts[s - k];
        return counts;
    }

    /// <summary>U of the first sample (SciPy's statistic), two-sided.</summary>
    public static TestResult? MannWhitneyU(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n1 = x.Count, n2 = y.Count;
        if (n1 == 0 || n2 == 0)
            return null;
        var all = x.Concat(y).ToList();
        var ranks = Ranks.Average(all, out var ties);
        double r1 = 0;
        for (int i = 0; i < n1; i++)
            r1 += ranks[i];
        double u1 = r1 - n1 * (n1 + 1) / 2.0;
        double u2 = (double)n1 * n2 - u1;
        double big = Math.Max(u1, u2);
        // SciPy's rule (one group of at most 8, no ties), within a size the exact recurrence handles quickly.
        if ((n1 <= 8 || n2 <= 8) && ties.Count == 0 && (long)n1 * n2 <= 20000)
        {
            var counts = UCounts(n1, n2);
            double total = counts.Sum();
            // P(U ≥ big), doubled: the U distribution is symmetric.
            double upper = 0;
            for (int u = (int)Math.Ceiling(big); u < counts.Length; u++)
                upper += counts[u];
            return new TestResult(u1, Math.Min(1, 2 * upper / total), "exact", n1 + n2);
        }
        double mean = n1 * n2 / 2.0;
        int n = n1 + n2;
        double variance = n1 * n2 / 12.0 * ((n + 1) - Ranks.TieTerm(ties) / (n * (n - 1.0)));
        if (variance <= 0)
            return new TestResult(u1, 1, "normal", n);
        double z = (big - mean - 0.5) / Math.Sqrt(variance);
        return new TestResult(u1, Math.Min(1, 2 * Normal.CDF(0, 1, -z)), "normal", n);
    }

    /// <summary>Number of arrangements giving each U for sample sizes m, n (recurrence on the largest element).</summary>
    private static double[] UCounts(int m, int n)
    {
        var memo = new Dictionary<(int, int), double[]>();
        double[] F(int a, int b)
        {
            if (memo.TryGetValue((a, b), out var cached))
                return cached;
            var result = new double[a * b + 1];
            if (a == 0 || b == 0)
                result[0] = 1;
            else
            {
                // The largest value comes from the first sample (adds b to U) or from the second (adds 0).
                var withA = F(a - 1, b);
                var withB = F(a, b - 1);
                for (int u = 0; u < withA.Length; u++)
                    result[u + b] += withA[u];
                for (int u = 0; u < withB.Length; u++)
                    result[u] += withB[u];
            }
            memo[(a, b)] = result;
            return result;
        }
        return F(m, n);
    }
}
