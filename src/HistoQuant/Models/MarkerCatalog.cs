using System.Text.Json;
using HistoQuant.Stains;
using HistoQuant.Measures;

namespace HistoQuant.Models;

/// <summary>Finds and validates marker models: `--marker cd163` (an id in a models folder) or `--marker my.json`.</summary>
public static class MarkerCatalog
{
    public const string DefaultId = "dab-generic";

    private static readonly string[] KnownKeys = ["id", "name", "description", "stains", "chromogen", "thresholds", "compartment", "measures", "cells", "fibres", "capillaries", "presence"];
    private static readonly string[] KnownCellKeys = ["detection", "nucleus_threshold", "smooth_sigma_um", "min_nucleus_area_um2", "max_nucleus_area_um2", "expansion_um"];
    private static readonly string[] KnownCompartments = ["any", "nucleus", "cytoplasm", "membrane", "cell", "sarcolemma"];
    // Only measures the tool computes: a model cannot ask for one that would silently come out empty.
    public static readonly string[] KnownMeasures = ["positive_area", "intensity_grades", "positive_cells", "positive_fibres", "capillaries"];

    /// <summary>Folders searched for model ids: $HISTOQUANT_MODELS, the app's own models/ folder, then ./models.</summary>
    public static IEnumerable<string> SearchFolders()
    {
        if (Environment.GetEnvironmentVariable("HISTOQUANT_MODELS") is { Length: > 0 } env)
            yield return env;
        yield return Path.Combine(AppContext.BaseDirectory, "models");
        yield return Path.Combine(Directory.GetCurrentDirectory(), "models");
    }

    public static MarkerModel Resolve(string idOrPath)
    {
        if (File.Exists(idOrPath))
            return Load(idOrPath);
        if (idOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || idOrPath.Contains('/'))
            throw new FormatException($"{idOrPath}: marker model file not found");
        foreach (var folder in SearchFolders())
        {
            var candidate = Path.Combine(folder, idOrPath.ToLowerInvariant() + ".json");
            if (File.Exists(candidate))
                return Load(candidate);
        }
        var known = SearchFolders().Where(Directory.Exists)
            .SelectMany(f => Directory.GetFiles(f, "*.json")).Select(Path.GetFileNameWithoutExtension).Distinct().Order();
        throw new FormatException($"unknown marker '{idOrPath}' (known: {string.Join(", ", known)}; or pass a .json path)");
    }

    public static MarkerModel Load(string path) => Parse(JsonInput.ReadText(path), path);

    public static MarkerModel Parse(string json, string source)
    {
        var doc = JsonInput.Parse(json, source);
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new FormatException($"{source}: a marker model must be a JSON object");
            foreach (var p in root.EnumerateObject())
                if (!KnownKeys.Contains(p.Name))
                    throw new FormatException($"{source}: unknown key \"{p.Name}\" (known: {string.Join(", ", KnownKeys)})");

            string id = RequiredString(root, "id", source);
            string name = OptionalString(root, "name") ?? id;
            string description = OptionalString(root, "description") ?? "";
            if (!root.TryGetProperty("stains", out var stainsJson))
                throw new FormatException($"{source}: missing \"stains\" (a preset name such as \"H-DAB\", or an object)");
            var stains = StainFile.FromJson(stainsJson, source);

            int chromogen = 1;
            if (OptionalString(root, "chromogen") is { } chromogenName)
            {
                chromogen = Enumerable.Range(0, 3).FirstOrDefault(i => string.Equals(stains[i].Name, chromogenName, StringComparison.OrdinalIgnoreCase), -1);
                if (chromogen < 0)
                    throw new FormatException($"{source}: chromogen \"{chromogenName}\" is not one of the stains ({stains.Stain1.Name}, {stains.Stain2.Name})");
            }

            var thresholds = Thresholds.Default;
            if (root.TryGetProperty("thresholds", out var t))
            {
                if (t.ValueKind != JsonValueKind.Object)
                    throw new FormatException($"{source}: \"thresholds\" must be an object with weak, moderate, strong");
                thresholds = new Thresholds(Number(t, "weak", source), Number(t, "moderate", source), Number(t, "strong", source));
                if (thresholds.Problem() is { } why)
                    throw new FormatException($"{source}: {why}");
            }

            string compartment = OptionalString(root, "compartment") ?? "any";
            if (!KnownCompartments.Contains(compartment))
                throw new FormatException($"{source}: unknown compartment \"{compartment}\" (known: {string.Join(", ", KnownCompartments)})");

            var measures = new List<string>();
            if (root.TryGetProperty("measures", out var m))
            {
                if (m.ValueKind != JsonValueKind.Array)
                    throw new FormatException($"{source}: \"measures\" must be an array of names");
                foreach (var item in m.EnumerateArray())
                {
                    string? s = item.ValueKind == JsonValueKind.String ? item.GetString() : null;
                    if (s is null || !KnownMeasures.Contains(s))
                        throw new FormatException($"{source}: unknown measure {item} (known: {string.Join(", ", KnownMeasures)})");
                    measures.Add(s);
                }
            }
            else
                measures.AddRange(["positive_area", "intensity_grades"]);

            var model = new MarkerModel(id, name, description, stains, chromogen, thresholds, compartment, measures, source);
            if (root.TryGetProperty("cells", out var cells))
                model = WithCells(model, cells, source);
            if (root.TryGetProperty("fibres", out var fibres))
                model = model with { Fibres = ParseFibres(new Section(fibres, "fibres", source), model.Fibres) };
            if (root.TryGetProperty("capillaries", out var capillaries))
                model = model with { Capillaries = ParseCapillaries(new Section(capillaries, "capillaries", source), model.Capillaries) };
            if (root.TryGetProperty("presence", out var presence))
                model = model with { Presence = ParsePresence(presence, source) };
            return model;
        }
    }

    private static MarkerModel WithCells(MarkerModel model, JsonElement cells, string source)
    {
        var section = new Section(cells, "cells", source);
        section.OnlyKeys(KnownCellKeys);
        string detection = OptionalString(cells, "detection") ?? "hematoxylin";
        if (detection is not ("hematoxylin" or "od-sum"))
            throw new FormatException($"{source}: cells.detection must be \"hematoxylin\" or \"od-sum\"");
        var s = model.Cells;
        s = s with
        {
            NucleusThreshold = section.Get("nucleus_threshold", s.NucleusThreshold, 0.01, 3),
            SmoothSigmaMicrons = section.Get("smooth_sigma_um", s.SmoothSigmaMicrons, 0, 10),
            MinNucleusArea = section.Get("min_nucleus_area_um2", s.MinNucleusArea, 1, 10000),
            MaxNucleusArea = section.Get("max_nucleus_area_um2", s.MaxNucleusArea, 1, 10000),
            CellExpansionMicrons = section.Get("expansion_um", s.CellExpansionMicrons, 0, 50),
        };
        if (s.MinNucleusArea > s.MaxNucleusArea)
            throw new FormatException($"{source}: cells.min_nucleus_area_um2 is larger than cells.max_nucleus_area_um2");
        return model with { Cells = s, DetectOnOdSum = detection == "od-sum" };
    }

    /// <summary>A section of numeric settings: unknown keys and out-of-range values are errors that name the key.</summary>
    private readonly record struct Section(JsonElement Json, string Name, string Source)
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
    }

    private static Measures.Fibres.FibreSettings ParseFibres(Section s, Measures.Fibres.FibreSettings d)
    {
        s.OnlyKeys("min_area_um2", "max_area_um2", "min_solidity", "band_um", "ring_fraction", "gap_fraction", "valley_contrast", "valley_um", "marker_depth_um", "nucleus_od", "smooth_sigma_um");
        var f = d with
        {
            MinAreaMicrons2 = s.Get("min_area_um2", d.MinAreaMicrons2, 10, 1e6),
            MaxAreaMicrons2 = s.Get("max_area_um2", d.MaxAreaMicrons2, 10, 1e6),
            MinSolidity = s.Get("min_solidity", d.MinSolidity, 0, 1),
            BandMicrons = s.Get("band_um", d.BandMicrons, 0.5, 20),
            RingFraction = s.Get("ring_fraction", d.RingFraction, 0.01, 1),
            GapFraction = s.Get("gap_fraction", d.GapFraction, 0.05, 1),
            ValleyContrast = s.Get("valley_contrast", d.ValleyContrast, 0, 0.9),
            ValleyMicrons = s.Get("valley_um", d.ValleyMicrons, 0.5, 20),
            MarkerDepthMicrons = s.Get("marker_depth_um", d.MarkerDepthMicrons, 1, 50),
            NucleusOd = s.Get("nucleus_od", d.NucleusOd, 0.01, 3),
            SmoothSigmaMicrons = s.Get("smooth_sigma_um", d.SmoothSigmaMicrons, 0, 10),
        };
        if (f.MinAreaMicrons2 > f.MaxAreaMicrons2)
            throw new FormatException($"{s.Source}: fibres.min_area_um2 is larger than fibres.max_area_um2");
        return f with { MarginMicrons = Math.Max(f.MarginMicrons, Math.Sqrt(f.MaxAreaMicrons2 / Math.PI) * 1.2) };
    }

    private static Measures.Capillaries.CapillarySettings ParseCapillaries(Section s, Measures.Capillaries.CapillarySettings d)
    {
        s.OnlyKeys("min_area_um2", "max_area_um2", "min_elongation", "min_lumen_um2", "max_lumen_counterstain");
        var c = d with
        {
            MinAreaMicrons2 = s.Get("min_area_um2", d.MinAreaMicrons2, 1, 10000),
            MaxAreaMicrons2 = s.Get("max_area_um2", d.MaxAreaMicrons2, 1, 10000),
            MinElongation = s.Get("min_elongation", d.MinElongation, 1, 100),
            MinLumenMicrons2 = s.Get("min_lumen_um2", d.MinLumenMicrons2, 0.25, 1000),
            MaxLumenCounterstain = s.Get("max_lumen_counterstain", d.MaxLumenCounterstain, 0, 3),
        };
        if (c.MinAreaMicrons2 > c.MaxAreaMicrons2)
            throw new FormatException($"{s.Source}: capillaries.min_area_um2 is larger than capillaries.max_area_um2");
        return c;
    }

    private static PresenceRule ParsePresence(JsonElement json, string source)
    {
        new Section(json, "presence", source).OnlyKeys("measure", "at_least");
        string measure = json.TryGetProperty("measure", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
        if (!PresenceRule.Measures.Contains(measure))
            throw new FormatException($"{source}: presence.measure must be one of {string.Join(", ", PresenceRule.Measures)}");
        if (!json.TryGetProperty("at_least", out var t) || t.ValueKind != JsonValueKind.Number || !double.IsFinite(t.GetDouble()))
            throw new FormatException($"{source}: presence.at_least must be a number");
        return new PresenceRule(measure, t.GetDouble());
    }

    private static string RequiredString(JsonElement root, string key, string source) =>
        OptionalString(root, key) is { Length: > 0 } s ? s : throw new FormatException($"{source}: missing or empty \"{key}\"");

    private static string? OptionalString(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw new FormatException($"\"{key}\" must be a string") : null;

    private static double Number(JsonElement obj, string key, string source) =>
        obj.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble()
        : throw new FormatException($"{source}: thresholds.{key} must be a number");
}
