namespace HistoQuant.Study;

/// <summary>One slide of a study: its path, the marker it is stained for, and the manifest's other columns.</summary>
/// <param name="Regions">The row's `regions` file (QuPath annotations), relative to the manifest; null when none.</param>
public sealed record ManifestEntry(string Slide, string? Marker, IReadOnlyDictionary<string, string> Columns, int Line, string? Regions = null);

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
        if (table.Columns.FirstOrDefault(c => c != slideColumn && c != markerColumn && !c.Equals("regions", StringComparison.OrdinalIgnoreCase)
                && Output.ResultsWriter.Columns.Contains(c, StringComparer.OrdinalIgnoreCase)) is { } clash)
            throw new FormatException($"{path}:1: column '{clash}' is also a results column; rename it (e.g. 'manual_{clash}')");

        var entries = new List<ManifestEntry>();
        var seen = new Dictionary<(string, string?, string?), int>();
        var known = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var row in table.Rows)
        {
            string slide = row[slideColumn];
            if (slide.Length == 0)
                throw new FormatException($"{path}:{row.Line}: the slide is empty");
            string? marker = markerColumn is not null && row[markerColumn].Length > 0 ? row[markerColumn] : null;
            if (marker is not null && !known.Contains(marker))
            {
                try
                {
                    Models.MarkerCatalog.Resolve(marker);
                }
                catch (FormatException e)
                {
                    throw new FormatException($"{path}:{row.Line}: {e.Message}");
                }
                known.Add(marker);
            }
            string full = Path.IsPathRooted(slide) ? slide : Path.GetRelativePath(Directory.GetCurrentDirectory(), Path.Combine(folder, slide));
            string? regions = null;
            if (table.Has("regions") && row["regions"] is { Length: > 0 } r)
                regions = Path.IsPathRooted(r) ? r : Path.GetRelativePath(Directory.GetCurrentDirectory(), Path.Combine(folder, r));
            if (seen.TryGetValue((full, marker, regions), out int first))
                throw new FormatException($"{path}:{row.Line}: slide '{slide}' with marker '{marker}'{(regions is null ? "" : $" and regions '{row["regions"]}'")} is already listed on line {first}");
            seen[(full, marker, regions)] = row.Line;
            var columns = new Dictionary<string, string>();
            foreach (var column in table.Columns)
                if (column != slideColumn && column != markerColumn && !column.Equals("regions", StringComparison.OrdinalIgnoreCase))
                    columns[column] = row[column];
            entries.Add(new ManifestEntry(full, marker, columns, row.Line, regions));
        }
        if (entries.Count == 0)
            throw new FormatException($"{path}: the manifest lists no slides");
        return entries;
    }
}
