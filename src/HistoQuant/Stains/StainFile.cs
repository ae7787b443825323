using System.Text.Json;

namespace HistoQuant.Stains;

/// <summary>
/// Stain sets stored as JSON, the format `--stains FILE` reads:
/// <code>{ "name": "lab H-DAB", "stains": [ { "name": "Hematoxylin", "od": [0.65, 0.70, 0.29] },
///   { "name": "DAB", "od": [0.27, 0.57, 0.78] } ], "background": [242, 240, 245] }</code>
/// A third stain is optional (the residual is used); background is optional (255).
/// </summary>
public static class StainFile
{
    public static StainSet Load(string path) => Parse(JsonInput.ReadText(path), path);

    public static StainSet Parse(string json, string source)
    {
        using var doc = JsonInput.Parse(json, source);
        return FromJson(doc.RootElement, source);
    }

    /// <summary>Reads a stain set from a JSON object; also used for the "stains" member of a marker model.</summary>
    public static StainSet FromJson(JsonElement root, string source)
    {
        if (root.ValueKind == JsonValueKind.String)
            return StainPresets.Find(root.GetString()!) ?? throw new FormatException($"{source}: unknown stain preset '{root.GetString()}' (known: {string.Join(", ", StainPresets.All.Select(s => s.Name))})");
        if (root.ValueKind != JsonValueKind.Object)
            throw new FormatException($"{source}: stains must be a preset name or an object with \"stains\"");
        string name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : Path.GetFileNameWithoutExtension(source);
        if (!root.TryGetProperty("stains", out var arr) || arr.ValueKind != JsonValueKind.Array || arr.GetArrayLength() is < 2 or > 3)
            throw new FormatException($"{source}: \"stains\" must be an array of 2 or 3 stains");
        var vectors = new List<StainVector>();
        int i = 0;
        foreach (var s in arr.EnumerateArray())
        {
            i++;
            string sname = s.TryGetProperty("name", out var sn) && sn.ValueKind == JsonValueKind.String ? sn.GetString()! : $"Stain {i}";
            // A residual third vector (cross product) may have negative components; real stains may not.
            var od = ReadTriple(s, "od", $"{source}: stain {i} ({sname})", allowNegative: i == 3);
            vectors.Add(new StainVector(sname, od[0], od[1], od[2]));
        }
        Background? background = null;
        if (root.TryGetProperty("background", out _))
        {
            var b = ReadTriple(root, "background", $"{source}: background");
            background = new Background(b[0], b[1], b[2]);
        }
        try
        {
            return new StainSet(name, vectors[0], vectors[1], vectors.Count > 2 ? vectors[2] : null, background);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"{source}: {e.Message}");
        }
    }

    private static double[] ReadTriple(JsonElement obj, string prop, string where, bool allowNegative = false)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(prop, out var v) || v.ValueKind != JsonValueKind.Array || v.GetArrayLength() != 3)
            throw new FormatException($"{where}: \"{prop}\" must be an array of three numbers");
        var values = v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number ? x.GetDouble() : double.NaN).ToArray();
        if (values.Any(x => !double.IsFinite(x) || (x < 0 && !allowNegative)))
            throw new FormatException($"{where}: \"{prop}\" must hold three {(allowNegative ? "" : "non-negative ")}numbers");
        return values;
    }

    public static string ToJson(StainSet s) => JsonSerializer.Serialize(new
    {
        name = s.Name,
        stains = new[] { s.Stain1, s.Stain2, s.Stain3 }.Select(v => new { name = v.Name, od = new[] { v.R, v.G, v.B } }),
        background = new[] { s.Background.R, s.Background.G, s.Background.B },
    }, new JsonSerializerOptions { WriteIndented = true });
}
