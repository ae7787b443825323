namespace HistoQuant.Study.Stats;

/// <summary>Corrections for testing many measures at once.</summary>
public static class MultipleTesting
{
    /// <summary>
    /// Benjamini–Hochberg adjusted p-values (false discovery rate), as R's p.adjust(p, "BH"): sorted
    /// descending, q_i = min over j ≥ i of p_j · m / j, capped at 1. Missing p-values stay missing and do not count in m.
    /// </summary>
    public static double?[] BenjaminiHochberg(IReadOnlyList<double?> p)
    {
        var present = Enumerable.Range(0, p.Count).Where(i => p[i] is { } v && double.IsFinite(v)).OrderByDescending(i => p[i]!.Value).ToList();
        var q = new double?[p.Count];
        int m = present.Count;
        double running = 1;
        for (int k = 0; k < m; k++)
        {
            int rank = m - k; // 1-based rank in ascending order
            running = Math.Min(running, p[present[k]]!.Value * m / rank);
            q[present[k]] = Math.Min(1, running);
        }
        return q;
    }
}
