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
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{path}: cannot be read: {e.Message}");
        }
        int headerLine = Array.FindIndex(lines, l => l.Trim().Length > 0);
        if (headerLine < 0)
            throw new FormatException($"{path}: the manifest is empty (expected a header with a 'slide' column)");
        var header = Csv.Split(lines[headerLine], path, headerLine + 1).Select(h => h.Trim()).ToArray();
        int slideColumn = Array.FindIndex(header, h => h.Equals("slide", StringComparison.OrdinalIgnoreCase));
        if (slideColumn < 0)
            throw new FormatException($"{path}:{headerLine + 1}: no 'slide' column in the header ({string.Join(", ", header)})");
        var duplicate = header.GroupBy(h => h, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1 || g.Key.Length == 0);
        if (duplicate is not null)
            throw new FormatException($"{path}:{headerLine + 1}: {(duplicate.Key.Length == 0 ? "an empty column name" : $"column '{duplicate.Key}' appears twice")} in the header");
        int markerColumn = Array.FindIndex(header, h => h.Equals("marker", StringComparison.OrdinalIgnoreCase));
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";

        var entries = new List<ManifestEntry>();
        var seen = new Dictionary<(string, string?), int>();
        for (int i = headerLine + 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0)
                continue;
            var cells = Csv.Split(lines[i], path, i + 1);
            if (cells.Length != header.Length)
                throw new FormatException($"{path}:{i + 1}: {cells.Length} fields, the header has {header.Length}");
            string slide = cells[slideColumn].Trim();
            if (slide.Length == 0)
                throw new FormatException($"{path}:{i + 1}: the slide is empty");
            string? marker = markerColumn >= 0 && cells[markerColumn].Trim().Length > 0 ? cells[markerColumn].Trim() : null;
            string full = Path.IsPathRooted(slide) ? slide : Path.GetRelativePath(Directory.GetCurrentDirectory(), Path.Combine(folder, slide));
            if (seen.TryGetValue((full, marker), out int first))
                throw new FormatException($"{path}:{i + 1}: slide '{slide}' with marker '{marker}' is already listed on line {first}");
            seen[(full, marker)] = i + 1;
            var columns = new Dictionary<string, string>();
            for (int c = 0; c < header.Length; c++)
                if (c != slideColumn && c != markerColumn)
                    columns[header[c]] = cells[c].Trim();
            entries.Add(new ManifestEntry(full, marker, columns, i + 1));
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
