using System.Globalization;

namespace HistoQuant.Study;

/// <summary>One data row of a CSV table, by column name (case-insensitive), with the line it came from.</summary>
public sealed record CsvRow(IReadOnlyDictionary<string, string> Cells, int Line)
{
    public string this[string column] => Cells.TryGetValue(column, out var v) ? v : "";

    /// <summary>The cell as a number, or null when empty or not a number.</summary>
    public double? Number(string column) =>
        double.TryParse(this[column], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v : null;
}

/// <summary>
/// A CSV file with a header (results.csv, manual scores, clinical data), read whole: these tables are small.
/// Problems are reported as "FILE:LINE: what".
/// </summary>
public sealed record CsvTable(string Path, IReadOnlyList<string> Columns, IReadOnlyList<CsvRow> Rows)
{
    public bool Has(string column) => Columns.Contains(column, StringComparer.OrdinalIgnoreCase);

    /// <param name="what">How error messages name an empty file ("the file", "the manifest").</param>
    public static CsvTable Load(string path, params string[] required) => Load(path, "the file", required);

    private static string[] ReadLines(string path)
    {
        if (Directory.Exists(path) || !File.Exists(path))
            throw new FormatException($"{path}: {InputFile.Problem(path)}");
        // An empty file has no lines (the header check says so); a pipe reports no size either and is never opened.
        if (new FileInfo(path).Length == 0)
            return [];
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{path}: cannot be read: {e.Message}");
        }
    }

    public static CsvTable Load(string path, string what, params string[] required)
    {
        string[] lines = ReadLines(path);
        int headerLine = Array.FindIndex(lines, l => l.Trim().Length > 0);
        if (headerLine < 0)
            throw new FormatException($"{path}: {what} is empty (expected a header{(required.Length > 0 ? $" with a '{required[0]}' column" : "")})");
        var header = Csv.Split(lines[headerLine], path, headerLine + 1).Select(h => h.Trim()).ToArray();
        foreach (var column in required)
            if (!header.Contains(column, StringComparer.OrdinalIgnoreCase))
                throw new FormatException($"{path}:{headerLine + 1}: no '{column}' column in the header ({string.Join(", ", header)})");
        var duplicate = header.GroupBy(h => h, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1 || g.Key.Length == 0);
        if (duplicate is not null)
            throw new FormatException($"{path}:{headerLine + 1}: {(duplicate.Key.Length == 0 ? "an empty column name" : $"column '{duplicate.Key}' appears twice")} in the header");
        var rows = new List<CsvRow>();
        for (int i = headerLine + 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0)
                continue;
            var cells = Csv.Split(lines[i], path, i + 1);
            if (cells.Length != header.Length)
                throw new FormatException($"{path}:{i + 1}: {cells.Length} fields, the header has {header.Length}");
            var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (int c = 0; c < header.Length; c++)
                map[header[c]] = cells[c].Trim();
            rows.Add(new CsvRow(map, i + 1));
        }
        return new CsvTable(path, header, rows);
    }
}
