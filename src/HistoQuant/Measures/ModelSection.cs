using System.Text.Json;

namespace HistoQuant.Measures;

/// <summary>
/// A measure's section of a marker model file ("cells", "fibres"...): unknown keys and out-of-range values are
/// errors that name the file and the key.
/// </summary>
public readonly record struct ModelSection(JsonElement Json, string Name, string Source)
{
    public void OnlyKeys(params string[] known)
    {
        if (Json.ValueKind != JsonValueKind.Object)
            throw new FormatException($"{Source}: \"{Name}\" must be an object");
        foreach (var p in Json.EnumerateObject())
            if (!known.Contains(p.Name))
                throw new FormatException($"{Source}: unknown key \"{Name}.{p.Name}\" (known: {string.Join(", ", known)})");
    }

    public double Get(string key, double fallback, double min, double max)
    {
        if (!Json.TryGetProperty(key, out var v))
            return fallback;
        if (v.ValueKind != JsonValueKind.Number || v.GetDouble() < min || v.GetDouble() > max)
            throw new FormatException($"{Source}: {Name}.{key} must be a number between {min} and {max}");
        return v.GetDouble();
    }

    /// <summary>A string value that must be one of <paramref name="allowed"/>; <paramref name="fallback"/> when absent.</summary>
    public string Choice(string key, string fallback, params string[] allowed)
    {
        if (!Json.TryGetProperty(key, out var v))
            return fallback;
        string? s = v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return s is not null && allowed.Contains(s) ? s
            : throw new FormatException($"{Source}: {Name}.{key} must be {string.Join(" or ", allowed.Select(a => $"\"{a}\""))}");
    }

    public FormatException Error(string problem) => new($"{Source}: {problem}");
}
