using System.Globalization;

namespace HistoQuant.Study;

/// <summary>
/// `--shard K/N`: this process measures the K-th of N deterministic shares of the batch, so a cluster's job
/// array (SLURM --array, a Kubernetes indexed Job) spreads a cohort over nodes with no coordination: item i
/// goes to shard (i mod N) + 1, in the order slides and manifest rows are given.
/// </summary>
public readonly record struct Shard(int Index, int Count)
{
    public static readonly Shard All = new(1, 1);

    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && k >= 1 && k <= n)
            return new Shard(k, n);
        throw new FormatException($"--shard must be K/N with 1 ≤ K ≤ N (got '{text}')");
    }

    public IEnumerable<T> Take<T>(IEnumerable<T> items)
    {
        int count = Count, index = Index;
        return items.Where((_, i) => i % count == index - 1);
    }
}
