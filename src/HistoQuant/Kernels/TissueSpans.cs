namespace HistoQuant.Kernels;

/// <summary>
/// Which pixels of a tile are tissue, as runs per row (compressed sparse rows): row y's runs are
/// [Start[k], End[k]) for k in RowStart[y] .. RowStart[y+1]-1. A tissue mask at low resolution becomes a few
/// runs per row, so kernels skip glass without a per-pixel test.
/// </summary>
public sealed class TissueSpans
{
    public int Rows { get; }
    public int[] RowStart { get; }
    public int[] Start { get; }
    public int[] End { get; }

    public TissueSpans(int rows, int[] rowStart, int[] start, int[] end)
    {
        Rows = rows;
        RowStart = rowStart;
        Start = start;
        End = end;
    }

    public static TissueSpans Full(int width, int rows)
    {
        var rowStart = new int[rows + 1];
        var start = new int[rows];
        var end = new int[rows];
        for (int y = 0; y < rows; y++)
        {
            rowStart[y + 1] = y + 1;
            end[y] = width;
        }
        return new TissueSpans(rows, rowStart, start, end);
    }

    public long PixelCount
    {
        get
        {
            long n = 0;
            for (int k = 0; k < RowStart[Rows]; k++)
                n += End[k] - Start[k];
            return n;
        }
    }
}
