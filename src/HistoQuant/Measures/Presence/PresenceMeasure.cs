namespace HistoQuant.Measures.Presence;

/// <summary>A present/absent call per slide from one other column (the model's "presence" section).</summary>
public sealed class PresenceMeasure : IMeasure
{
    public string Name => "presence";

    public IReadOnlyList<Column> Columns { get; } = [new("present", ColumnKind.YesNo) { Ordinal = true }];

    public IReadOnlyList<string> ModelNames => [];

    public string? SectionName => "presence";

    public object? ParseSection(ModelSection section)
    {
        section.OnlyKeys("measure", "at_least");
        var basis = MeasureRegistry.Columns.Where(c => c.PresenceBasis).Select(c => c.Name).ToArray();
        var json = section.Json;
        string measure = json.TryGetProperty("measure", out var m) && m.ValueKind == System.Text.Json.JsonValueKind.String ? m.GetString()! : "";
        if (!basis.Contains(measure))
            throw section.Error($"presence.measure must be one of {string.Join(", ", basis)}");
        if (!json.TryGetProperty("at_least", out var t) || t.ValueKind != System.Text.Json.JsonValueKind.Number || !double.IsFinite(t.GetDouble()))
            throw section.Error("presence.at_least must be a number");
        return new PresenceRule(measure, t.GetDouble());
    }

    public string Fingerprint(object? settings) => settings?.ToString() ?? "no presence call";

    public bool IsWanted(MeasureRequest request) => request.Settings.GetValueOrDefault(SectionName!) is PresenceRule;

    public void Summarise(SlideSummary slide, IDictionary<string, double?> values)
    {
        var rule = (PresenceRule)slide.Settings[SectionName!]!;
        values["present"] = rule.Call(c => values.TryGetValue(c, out var v) ? v : null) switch { true => 1, false => 0, null => null };
    }

    public string? Headline => "present";
}
