using System.Text.Json;
using HistoQuant.Kernels;
using HistoQuant.Slides;

namespace HistoQuant.Pipeline;

/// <summary>
/// Regions of interest from QuPath's annotation export (File › Export objects as GeoJSON): a FeatureCollection or
/// a bare array of Features, Polygon and MultiPolygon geometries with holes, level-0 pixel coordinates.
/// Annotations classified `Ignore*`, `Exclude`, `Artefact` or `Artifact` are cut out; all others are measured
/// (their union). Every problem is one line naming the file and the feature.
/// </summary>
public static class RegionsFile
{
    /// <summary>QuPath draws up to the image border; a vertex this far outside still counts as on the slide.</summary>
    private const double BorderTolerancePx = 2;

    public static bool IsExclusion(string? classification) =>
        classification is { } c && (c.StartsWith("Ignore", StringComparison.OrdinalIgnoreCase)
            || c.Equals("Exclude", StringComparison.OrdinalIgnoreCase) || c.Equals("Artefact", StringComparison.OrdinalIgnoreCase)
            || c.Equals("Artifact", StringComparison.OrdinalIgnoreCase));

    /// <summary>The name QuPath shows for an annotation without a classification.</summary>
    public const string Unclassified = "Unclassified";

    /// <summary>The classes of the included annotations, in order of first appearance; empty when the file cannot be read (measuring says why).</summary>
    public static List<string> IncludedClasses(string path)
    {
        try
        {
            using var doc = JsonInput.Parse(JsonInput.ReadText(path), path);
            var root = doc.RootElement;
            var features = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList()
                : root.ValueKind == JsonValueKind.Object && root.TryGetProperty("features", out var f) && f.ValueKind == JsonValueKind.Array ? f.EnumerateArray().ToList()
                : [root];
            return features.Select(ClassOf).Where(c => !IsExclusion(c)).Select(c => c ?? Unclassified).Distinct().ToList();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or JsonException)
        {
            return [];
        }
    }

    private static string? ClassOf(JsonElement feature) =>
        feature.ValueKind == JsonValueKind.Object && feature.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object
            && p.TryGetProperty("classification", out var c)
            ? c.ValueKind == JsonValueKind.String ? c.GetString() : c.ValueKind == JsonValueKind.Object ? Str(c, "name") : null
            : null;

    /// <param name="onlyClass">Measure only the included annotations of this class (`--per-region`); exclusions always apply.</param>
    public static RegionShape Load(string path, int slideWidth, int slideHeight, string? onlyClass = null)
    {
        string text;
        try
        {
            text = JsonInput.ReadText(path);
        }
        catch (FormatException e)
        {
            throw new SlideException(path, StripPath(e.Message, path));
        }
        JsonDocument doc;
        try
        {
            doc = JsonInput.Parse(text, path);
        }
        catch (FormatException e)
        {
            throw new SlideException(path, StripPath(e.Message, path));
        }
        using var _ = doc;
        var root = doc.RootElement;
        var features = root.ValueKind switch
        {
            JsonValueKind.Array => root.EnumerateArray().ToList(),
            JsonValueKind.Object when Str(root, "type") == "FeatureCollection" && root.TryGetProperty("features", out var f) && f.ValueKind == JsonValueKind.Array
                => f.EnumerateArray().ToList(),
            JsonValueKind.Object when Str(root, "type") == "Feature" => [root],
            _ => throw new SlideException(path, "not a GeoJSON FeatureCollection or array of Features (export annotations from QuPath as GeoJSON)"),
        };
        var included = new List<RegionPolygon>();
        var excluded = new List<RegionPolygon>();
        for (int i = 0; i < features.Count; i++)
        {
            var feature = features[i];
            string where = $"feature {i + 1}";
            if (feature.ValueKind != JsonValueKind.Object || Str(feature, "type") != "Feature")
                throw new SlideException(path, $"{where} is not a GeoJSON Feature");
            var properties = feature.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
            if (properties.ValueKind == JsonValueKind.Object && Str(properties, "objectType") is { } type && type != "annotation")
                throw new SlideException(path, $"{where} is a QuPath {type}, not an annotation (export the annotations, not the detections)");
            string? classification = ClassOf(feature);
            if (!feature.TryGetProperty("geometry", out var geometry) || geometry.ValueKind != JsonValueKind.Object)
                throw new SlideException(path, $"{where} has no geometry");
            var polygons = Polygons(geometry, path, where);
            foreach (var rings in polygons)
            {
                foreach (var (x, y) in rings.SelectMany(r => r))
                    if (x < -BorderTolerancePx || y < -BorderTolerancePx || x > slideWidth + BorderTolerancePx || y > slideHeight + BorderTolerancePx)
                        throw new SlideException(path, $"{where} has a point ({x:0.#}, {y:0.#}) outside the {slideWidth}x{slideHeight} px slide (coordinates must be level-0 pixels)");
                if (IsExclusion(classification))
                    excluded.Add(new RegionPolygon(rings));
                else if (onlyClass is null || (classification ?? Unclassified) == onlyClass)
                    included.Add(new RegionPolygon(rings));
            }
        }
        if (included.Count == 0 && onlyClass is not null)
            throw new SlideException(path, $"no included annotation of class '{onlyClass}'");
        if (included.Count == 0)
            throw new SlideException(path, features.Count == 0 ? "no annotations in the file" : "only exclusions (Ignore*, Exclude, Artefact): nothing to measure");
        return new RegionShape(included, excluded);
    }

    private static List<List<List<(double X, double Y)>>> Polygons(JsonElement geometry, string path, string where)
    {
        string? type = Str(geometry, "type");
        if (!geometry.TryGetProperty("coordinates", out var coordinates) || coordinates.ValueKind != JsonValueKind.Array)
            throw new SlideException(path, $"{where}: {type ?? "the geometry"} has no coordinates");
        return type switch
        {
            "Polygon" => [Rings(coordinates, path, where)],
            "MultiPolygon" => coordinates.EnumerateArray().Select(p => Rings(p, path, where)).ToList(),
            _ => throw new SlideException(path, $"{where}: geometry type '{type}' is not an area (Polygon or MultiPolygon)"),
        };
    }

    private static List<List<(double X, double Y)>> Rings(JsonElement polygon, string path, string where)
    {
        if (polygon.ValueKind != JsonValueKind.Array || polygon.GetArrayLength() == 0)
            throw new SlideException(path, $"{where}: a polygon must be an array of rings");
        var rings = new List<List<(double, double)>>();
        foreach (var ring in polygon.EnumerateArray())
        {
            if (ring.ValueKind != JsonValueKind.Array)
                throw new SlideException(path, $"{where}: a ring must be an array of [x, y] points");
            var points = new List<(double, double)>();
            foreach (var point in ring.EnumerateArray())
            {
                if (point.ValueKind != JsonValueKind.Array || point.GetArrayLength() < 2
                    || point[0].ValueKind != JsonValueKind.Number || point[1].ValueKind != JsonValueKind.Number
                    || !double.IsFinite(point[0].GetDouble()) || !double.IsFinite(point[1].GetDouble()))
                    throw new SlideException(path, $"{where}: a point must be [x, y] numbers");
                points.Add((point[0].GetDouble(), point[1].GetDouble()));
            }
            if (points.Count < 3)
                throw new SlideException(path, $"{where}: a ring has {points.Count} point(s), at least 3 are needed");
            rings.Add(points);
        }
        return rings;
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string StripPath(string message, string path) => message.StartsWith(path + ": ") ? message[(path.Length + 2)..] : message;
}
