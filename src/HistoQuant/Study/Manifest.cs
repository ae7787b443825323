namespace HistoQuant.Study;

/// <summary>One slide of a study: its path, the marker it is stained for, and the manifest's other columns.</summary>
public sealed record ManifestEntry(string Slide, string? Marker, IReadOnlyDictionary<string, string> Columns, int Line);

/// <summary>
/// A study manifest: a CSV with a header and at least a <c>slide</c> column; <c>marker</c>, <c>patient</c>,
/// <c>timepoint</c>, <c>group</c> and any other columns are optional and are carried into the results.
/// Slide paths are relative to the manifest's folder. Every problem is reported as "FILE:LINE: what".
/// </summary>
public static class Manifest
{
    public static IReadOnlyList<ManifestEntry> Load(string path)
    {
        var table = CsvTable.Load(path, "the manifest", "slide");
        string slideColumn = table.Columns.First(c => c.Equals("slide", StringComparison.OrdinalIgnoreCase));
        string? markerColumn = table.Columns.FirstOrDefault(c => c.Equals("marker", StringComparison.OrdinalIgnoreCase));
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        // Carried columns go into results.csv after the measured ones: one named like a result would shadow it.
        if (table.Columns.FirstOrDefault(c => c != slideColumn && c != markerColumn
                && Output.ResultsWriter.Columns.Contains(c, StringComparer.OrdinalIgnoreCase)) is { } clash)
            throw new FormatException($"{path}:1: column '{clash}' is also a results column; rename it (e.g. 'manual_{clash}')");

        var entries = new List<ManifestEntry>();
        var seen = new Dictionary<(string, string?), int>();
        foreach (var row in table.Rows)
        {
            string slide = row[slideColumn];
            if (slide.Length == 0)
                throw new FormatException($"{path}:{row.Line}: the slide is empty");
            string? marker = markerColumn is not null && row[markerColumn].Length > 0 ? row[markerColumn] : null;
            string full = Path.IsPathRooted(slide) ? slide : Path.GetRelativePath(Directory.GetCurrentDirectory(), Path.Combine(folder, slide));
            if (seen.TryGetValue((full, marker), out int first))
                throw new FormatException($"{path}:{row.Line}: slide '{slide}' with marker '{marker}' is already listed on line {first}");
            seen[(full, marker)] = row.Line;
            var columns = new Dictionary<string, string>();
            foreach (var column in table.Columns)
                if (column != slideColumn && column != markerColumn)
                    columns[column] = row[column];
            entries.Add(new ManifestEntry(full, marker, columns, row.Line));
        }
        if (entries.Count == 0)
            throw new FormatException($"{path}: the manifest lists no slides");
        return entries;
    }
}

/// <summary>RFC 4180 field splitting for one line (quoted fields may hold commas and doubled quotes).</summary>
internal static class Csv
{
    public static string[] Split(string line, string path, int lineNumber)
    {
        var cells = new List<string>();
        var cur = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { cur.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else cur.Append(c);
            }
            else if (c == '"' && cur.Length == 0) quoted = true;
            else if (c == ',') { cells.Add(cur.ToString()); cur.Clear(); }
            else cur.Append(c);
        }
        if (quoted)
            throw new FormatException($"{path}:{lineNumber}: a quoted field is not closed");
        cells.Add(cur.ToString());
        return cells.ToArray();
    }
}
