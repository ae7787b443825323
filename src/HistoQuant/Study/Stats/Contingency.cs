using MathNet.Numerics;

namespace HistoQuant.Study.Stats;

/// <summary>Fisher's exact test on a 2×2 table, two-sided as in R and SciPy (tables no more likely than the one seen).</summary>
public static class FisherExact
{
    /// <param name="a">row 1, column 1</param><param name="b">row 1, column 2</param>
    /// <param name="c">row 2, column 1</param><param name="d">row 2, column 2</param>
    public static double TwoSided(int a, int b, int c, int d)
    {
        int row1 = a + b, row2 = c + d, col1 = a + c, n = a + b + c + d;
        if (n == 0)
            return 1;
        double LogP(int x) => LogChoose(col1, x) + LogChoose(n - col1, row1 - x) - LogChoose(n, row1);
        double observed = LogP(a);
        double p = 0;
        for (int x = Math.Max(0, row1 - (n - col1)); x <= Math.Min(row1, col1); x++)
        {
            double lp = LogP(x);
            // Relative tolerance as R's fisher.test, so tables equally likely up to rounding count.
            if (lp <= observed + 1e-7)
                p += Math.Exp(lp);
        }
        return Math.Min(1, p);
    }

    private static double LogChoose(int n, int k) => SpecialFunctions.FactorialLn(n) - SpecialFunctions.FactorialLn(k) - SpecialFunctions.FactorialLn(n - k);
}

/// <summary>
/// McNemar's exact test for paired yes/no calls (present before, absent after and the reverse): a two-sided
/// binomial test of the discordant pairs against ½, p = min(1, 2·P(X ≤ min(b, c))), X ~ Bin(b + c, ½).
/// </summary>
public static class McNemarExact
{
    /// <param name="b">pairs that changed one way (e.g. present → absent)</param>
    /// <param name="c">pairs that changed the other way</param>
    public static double TwoSided(int b, int c)
    {
        int n = b + c;
        if (n == 0)
            return 1;
        return Math.Min(1, 2 * MathNet.Numerics.Distributions.Binomial.CDF(0.5, n, Math.Min(b, c)));
    }
}
