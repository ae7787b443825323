namespace HistoQuant.Measures.Cells;

/// <summary>
/// Per-slide cell measures. Positive means class 1+ or more; the cell H-score is
/// 1·%1+ + 2·%2+ + 3·%3+ of all cells (0–300), QuPath's convention.
/// </summary>
public sealed record CellSummary(int TotalCells, int PositiveCells, double PositiveCellsPct, double? PositiveCellsPerMm2, double CellHScore)
{
    public static CellSummary From(IReadOnlyCollection<DetectedCell> cells, double? tissueAreaMm2)
    {
        int total = cells.Count;
        int[] byClass = new int[4];
        foreach (var c in cells)
            byClass[c.Class]++;
        int positive = total - byClass[0];
        double Pct(int k) => total > 0 ? 100.0 * k / total : 0;
        return new CellSummary(total, positive, Pct(positive),
            tissueAreaMm2 is > 0 ? positive / tissueAreaMm2.Value : null,
            Pct(byClass[1]) + 2 * Pct(byClass[2]) + 3 * Pct(byClass[3]));
    }
}
