namespace HistoQuant.Study.Stats;

/// <summary>Ranks with ties given their average rank (1-based), and the tie groups' sizes.</summary>
public static class Ranks
{
    public static double[] Average(IReadOnlyList<double> values) => Average(values, out _);

    public static double[] Average(IReadOnlyList<double> values, out List<int> tieSizes)
    {
        int n = values.Count;
        var order = Enumerable.Range(0, n).OrderBy(i => values[i]).ToArray();
        var ranks = new double[n];
        tieSizes = [];
        for (int start = 0; start < n;)
        {
            int end = start;
            while (end + 1 < n && values[order[end + 1]] == values[order[start]])
                end++;
            double rank = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++)
                ranks[order[k]] = rank;
            if (end > start)
                tieSizes.Add(end - start + 1);
            start = end + 1;
        }
        return ranks;
    }

    /// <summary>Σ(t³ − t) over tie groups, the tie correction of rank tests' variances.</summary>
    public static double TieTerm(IEnumerable<int> tieSizes) => tieSizes.Sum(t => (double)t * t * t - t);
}
