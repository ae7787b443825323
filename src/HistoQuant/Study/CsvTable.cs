using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

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

    private static string ReadText(string path)
    {
        if (Directory.Exists(path) || !File.Exists(path))
            throw new FormatException($"{path}: {InputFile.Problem(path)}");
        // An empty file has no lines (the header check says so); a pipe reports no size either and is never opened.
        if (new FileInfo(path).Length == 0)
            return "";
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{path}: cannot be read: {e.Message}");
        }
    }

    /// <summary>
    /// The separator the header uses: a comma, or a semicolon (what Excel writes where the comma is the decimal
    /// separator) or a tab when the header has those and no comma.
    /// </summary>
    public static char SeparatorOf(string headerLine) =>
        headerLine.Contains(',') ? ',' : headerLine.Contains(';') ? ';' : headerLine.Contains('\t') ? '\t' : ',';

    public static CsvTable Load(string path, string what, params string[] required)
    {
        string text = ReadText(path);
        var records = Records(text, path);
        if (records.Count == 0)
            throw new FormatException($"{path}: {what} is empty (expected a header{(required.Length > 0 ? $" with a '{required[0]}' column" : "")})");
        var (headerCells, headerLine) = records[0];
        var header = headerCells.Select(h => h.Trim()).ToArray();
        foreach (var column in required)
            if (!header.Contains(column, StringComparer.OrdinalIgnoreCase))
                throw new FormatException($"{path}:{headerLine}: no '{column}' column in the header ({string.Join(", ", header)})");
        var duplicate = header.GroupBy(h => h, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1 || g.Key.Length == 0);
        if (duplicate is not null)
            throw new FormatException($"{path}:{headerLine}: {(duplicate.Key.Length == 0 ? "an empty column name" : $"column '{duplicate.Key}' appears twice")} in the header");
        var rows = new List<CsvRow>();
        foreach (var (cells, line) in records.Skip(1))
        {
            if (cells.Length != header.Length)
                throw new FormatException($"{path}:{line}: {cells.Length} fields, the header has {header.Length}");
            var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (int c = 0; c < header.Length; c++)
                map[header[c]] = cells[c].Trim();
            rows.Add(new CsvRow(map, line));
        }
        return new CsvTable(path, header, rows);
    }

    /// <summary>Every non-blank record (RFC 4180: quoted fields may hold separators, quotes and line breaks) with the line it starts on.</summary>
    private static List<(string[] Cells, int Line)> Records(string text, string path)
    {
        string firstLine = text.Split('\n').FirstOrDefault(l => l.Trim().Length > 0) ?? "";
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            Delimiter = SeparatorOf(firstLine).ToString(),
            Mode = CsvMode.RFC4180,
            IgnoreBlankLines = true,
            DetectColumnCountChanges = false,
        };
        int badLine = 0;
        config.BadDataFound = args => badLine = args.Context.Parser!.RawRow;
        var records = new List<(string[], int)>();
        using var parser = new CsvParser(new StringReader(text), config);
        int consumed = 0, lineBreaks = 0;
        long scanned = 0;
        try
        {
            while (parser.Read())
            {
                var cells = parser.Record ?? [];
                // The line a record starts on, from where its raw text begins (a record may span lines).
                long start = Math.Clamp(parser.CharCount - parser.RawRecord.Length, 0, text.Length);
                for (; scanned < start; scanned++)
                    if (text[(int)scanned] == '\n')
                        lineBreaks++;
                int line = lineBreaks + 1;
                consumed = line;
                // An odd number of quotes: a quoted field runs to the end of the file.
                if (parser.RawRecord.Count(c => c == '"') % 2 == 1)
                    throw new FormatException($"{path}:{Math.Max(line, 1)}: a quoted field is not closed");
                if (badLine != 0)
                    throw new FormatException($"{path}:{Math.Max(line, 1)}: a quote inside an unquoted field (quote the whole field and double the quote)");
                if (cells.All(c => c.Trim().Length == 0))
                    continue;
                records.Add((cells, line));
            }
        }
        catch (CsvHelperException e) when (e is not BadDataException)
        {
            throw new FormatException($"{path}:{consumed + 1}: not readable as CSV ({e.Message.Split('\n')[0]})");
        }
        return records;
    }
}
