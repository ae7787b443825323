using MathNet.Numerics.Distributions;

namespace HistoQuant.Study.Stats;

/// <summary>Bland–Altman bias and 95% limits of agreement (bias ± 1.96 SD of the differences, SD with n − 1).</summary>
public sealed record BlandAltmanResult(double Bias, double LoaLow, double LoaHigh, double SdDifference, int N);

/// <summary>
/// Agreement between two measurements of the same items (a pathologist's and the tool's). Differences and
/// orderings are tool − manual.
/// </summary>
public static class Agreement
{
    /// <summary>
    /// Intraclass correlations for n items × k raters from the two-way ANOVA (McGraw &amp; Wong 1996):
    /// ICC(A,1), absolute agreement, = (MSR − MSE) / (MSR + (k − 1)·MSE + k·(MSC − MSE)/n), Shrout &amp; Fleiss' ICC(2,1);
    /// ICC(C,1), consistency, = (MSR − MSE) / (MSR + (k − 1)·MSE), Shrout &amp; Fleiss' ICC(3,1).
    /// </summary>
    public static (double A1, double C1)? Icc(IReadOnlyList<double[]> items)
    {
        int n = items.Count;
        if (n < 2)
            return null;
        int k = items[0].Length;
        if (k < 2 || items.Any(r => r.Length != k))
            return null;
        double grand = items.Sum(r => r.Sum()) / (n * k);
        double ssRows = k * items.Sum(r => Math.Pow(r.Average() - grand, 2));
        double ssCols = 0;
        for (int j = 0; j < k; j++)
            ssCols += n * Math.Pow(items.Average(r => r[j]) - grand, 2);
        double ssTotal = items.Sum(r => r.Sum(v => (v - grand) * (v - grand)));
        double ssError = ssTotal - ssRows - ssCols;
        double msr = ssRows / (n - 1), msc = ssCols / (k - 1), mse = ssError / ((n - 1) * (k - 1));
        double a1 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n);
        double c1 = (msr - mse) / (msr + (k - 1) * mse);
        return (a1, c1);
    }

    public static BlandAltmanResult? BlandAltman(IReadOnlyList<double> manual, IReadOnlyList<double> tool)
    {
        int n = manual.Count;
        if (n < 2)
            return null;
        var d = tool.Zip(manual, (t, m) => t - m).ToArray();
        double bias = d.Average();
        double sd = Math.Sqrt(d.Sum(x => (x - bias) * (x - bias)) / (n - 1));
        double q = Normal.InvCDF(0, 1, 0.975);
        return new BlandAltmanResult(bias, bias - q * sd, bias + q * sd, sd, n);
    }

    /// <summary>Lin's concordance correlation coefficient (1989), with population (1/n) moments as Lin defines it.</summary>
    public static double? LinCcc(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count;
        if (n < 2)
            return null;
        double mx = x.Average(), my = y.Average();
        double sxx = x.Sum(v => (v - mx) * (v - mx)) / n, syy = y.Sum(v => (v - my) * (v - my)) / n;
        double sxy = x.Zip(y, (a, b) => (a - mx) * (b - my)).Sum() / n;
        double denominator = sxx + syy + (mx - my) * (mx - my);
        return denominator > 0 ? 2 * sxy / denominator : null;
    }

    /// <summary>
    /// Cohen's κ with quadratic weights for ordinal grades (categories are the integers from the lowest to the
    /// highest grade seen in either rating): κ = 1 − Σ w·observed / Σ w·expected, w = (i − j)².
    /// </summary>
    public static double? QuadraticWeightedKappa(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int n = a.Count;
        if (n == 0 || b.Count != n)
            return null;
        int lo = Math.Min(a.Min(), b.Min()), hi = Math.Max(a.Max(), b.Max()), k = hi - lo + 1;
        if (k == 1)
            return null; // one category: agreement is undefined
        var observed = new double[k, k];
        var rowTotals = new double[k];
        var colTotals = new double[k];
        for (int i = 0; i < n; i++)
        {
            observed[a[i] - lo, b[i] - lo]++;
            rowTotals[a[i] - lo]++;
            colTotals[b[i] - lo]++;
        }
        double num = 0, den = 0;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                double w = (i - j) * (i - j);
                num += w * observed[i, j];
                den += w * rowTotals[i] * colTotals[j] / n;
            }
        return den > 0 ? 1 - num / den : null;
    }
}
