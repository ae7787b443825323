using MathNet.Numerics.Distributions;

namespace HistoQuant.Study.Stats;

/// <summary>Spearman's ρ with its two-sided p-value and a 95% confidence interval.</summary>
public sealed record SpearmanResult(double Rho, double P, double CiLow, double CiHigh, int N);

public static class Spearman
{
    /// <summary>
    /// ρ = Pearson correlation of average ranks (MathNet.Numerics). p from Student's t with n − 2 degrees of
    /// freedom (as SciPy). CI: Fisher's z with the Fieller–Hartley–Pearson standard error √(1.06 / (n − 3)),
    /// so it needs n ≥ 4.
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
        if (Math.Abs(rho) >= 1)
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
}
