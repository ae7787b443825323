using System.Text;
using System.Text.Json;
using HistoQuant.Measures;
using HistoQuant.Pipeline;

namespace HistoQuant.Output;

/// <summary>
/// results.json: an array with one object per row, in the order of results.csv's columns (slide facts, every
/// registered measure's columns, the run's), then the manifest columns, the parameter fingerprint and the details.
/// Counts are written as integers, calls as "yes"/"no"/"", numbers whole (not rounded as in the CSV).
/// </summary>
public static class ResultsJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Write(IEnumerable<SlideResult> results)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartArray();
            foreach (var r in results)
                WriteRow(w, r);
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteRow(Utf8JsonWriter w, SlideResult r)
    {
        w.WriteStartObject();
        w.WriteString("slide", r.Slide);
        w.WriteString("marker", r.Marker);
        w.WriteString("regions", r.Regions);
        w.WriteString("region", r.Region);
        w.WriteString("status", r.Status);
        w.WriteString("error", r.Error);
        w.WriteString("stain_check", r.StainCheck);
        w.WriteString("warnings", r.Warnings);
        WriteNumber(w, "width_px", r.WidthPx);
        WriteNumber(w, "height_px", r.HeightPx);
        WriteNumber(w, "mpp", r.Mpp);
        foreach (var c in MeasureRegistry.Columns)
        {
            double? v = r[c.Name];
            if (c.Kind == ColumnKind.YesNo)
                w.WriteString(c.Name, c.ToCsv(v));
            else if (c.Kind == ColumnKind.Count && v is { } count)
                w.WriteNumber(c.Name, (long)count);
            else
                WriteNumber(w, c.Name, v);
        }
        w.WriteString("device", r.Device);
        WriteNumber(w, "seconds", r.Seconds);
        w.WritePropertyName("manifest");
        JsonSerializer.Serialize(w, r.Manifest, Options);
        WriteNumber(w, "input_order", r.InputOrder);
        w.WriteString("parameters", r.Parameters);
        w.WritePropertyName("provenance");
        JsonSerializer.Serialize(w, r.Provenance, Options);
        w.WritePropertyName("details");
        JsonSerializer.Serialize(w, r.Details, Options);
        w.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter w, string name, double? v)
    {
        if (v is not { } x)
            w.WriteNull(name);
        else if (double.IsFinite(x))
            w.WriteNumber(name, x);
        else
            w.WriteString(name, x.ToString(System.Globalization.CultureInfo.InvariantCulture)); // NaN, Infinity, -Infinity
    }

    /// <summary>Rows of a results.json; columns it lacks (an older file) are empty, names it does not know are ignored.</summary>
    public static List<SlideResult> Read(string json)
    {
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
            throw new JsonException("results.json must be an array of rows");
        return doc.RootElement.EnumerateArray().Select(ReadRow).ToList();
    }

    private static SlideResult ReadRow(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw new JsonException("a row of results.json must be an object");
        string Required(string name) => e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()!
            : throw new JsonException($"a row of results.json has no \"{name}\"");
        string Text(string name) => e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "";
        double? Number(string name) => e.TryGetProperty(name, out var p) ? p.ValueKind switch
        {
            JsonValueKind.Number => p.GetDouble(),
            JsonValueKind.String when double.TryParse(p.GetString(), System.Globalization.CultureInfo.InvariantCulture, out double x) => x,
            _ => null,
        } : null;

        var values = new Dictionary<string, double?>();
        foreach (var c in MeasureRegistry.Columns)
            if (e.TryGetProperty(c.Name, out var p))
                values[c.Name] = c.Kind == ColumnKind.YesNo ? c.Parse(p.ValueKind == JsonValueKind.String ? p.GetString()! : "") : Number(c.Name);
        return new SlideResult
        {
            Slide = Required("slide"),
            Marker = Required("marker"),
            Regions = Text("regions"),
            Region = Text("region"),
            Status = Required("status"),
            Error = Text("error"),
            StainCheck = Text("stain_check"),
            Warnings = Text("warnings"),
            WidthPx = Number("width_px") is { } width ? (int)width : null,
            HeightPx = Number("height_px") is { } height ? (int)height : null,
            Mpp = Number("mpp"),
            Values = values,
            Device = Text("device"),
            Seconds = Number("seconds") ?? 0,
            Manifest = e.TryGetProperty("manifest", out var m) ? m.Deserialize<Dictionary<string, string>>(Options) : null,
            InputOrder = Number("input_order") is { } order ? (int)order : null,
            Parameters = Text("parameters"),
            Provenance = e.TryGetProperty("provenance", out var prov) && prov.ValueKind == JsonValueKind.Object ? prov.Deserialize<SlideProvenance>(Options) : null,
            Details = e.TryGetProperty("details", out var d) ? d.Deserialize<SlideDetails>(Options) : null,
        };
    }
}
