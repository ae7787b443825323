using System.Text.Json;
using HistoQuant.Stains;

namespace HistoQuant.Models;

/// <summary>Finds and validates marker models: `--marker cd163` (an id in a models folder) or `--marker my.json`.</summary>
public static class MarkerCatalog
{
    public const string DefaultId = "dab-generic";

    private static readonly string[] KnownKeys = ["id", "name", "description", "stains", "chromogen", "thresholds", "compartment", "measures", "cells"];
    private static readonly string[] KnownCellKeys = ["detection", "nucleus_threshold", "smooth_sigma_um", "min_nucleus_area_um2", "max_nucleus_area_um2", "expansion_um"];
    private static readonly string[] KnownCompartments = ["any", "nucleus", "cytoplasm", "membrane", "cell", "sarcolemma"];
    // Only measures the tool computes: a model cannot ask for one that would silently come out empty.
    public static readonly string[] KnownMeasures = ["positive_area", "intensity_grades", "positive_cells"];

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
            return root.TryGetProperty("cells", out var cells) ? WithCells(model, cells, source) : model;
        }
    }

    private static MarkerModel WithCells(MarkerModel model, JsonElement cells, string source)
    {
        if (cells.ValueKind != JsonValueKind.Object)
            throw new FormatException($"{source}: \"cells\" must be an object");
        foreach (var p in cells.EnumerateObject())
            if (!KnownCellKeys.Contains(p.Name))
                throw new FormatException($"{source}: unknown key \"cells.{p.Name}\" (known: {string.Join(", ", KnownCellKeys)})");
        string detection = OptionalString(cells, "detection") ?? "hematoxylin";
        if (detection is not ("hematoxylin" or "od-sum"))
            throw new FormatException($"{source}: cells.detection must be \"hematoxylin\" or \"od-sum\"");
        var s = model.Cells;
        double Get(string key, double fallback, double min, double max)
        {
            if (!cells.TryGetProperty(key, out var v))
                return fallback;
            if (v.ValueKind != JsonValueKind.Number || v.GetDouble() < min || v.GetDouble() > max)
                throw new FormatException($"{source}: cells.{key} must be a number between {min} and {max}");
            return v.GetDouble();
        }
        s = s with
        {
            NucleusThreshold = Get("nucleus_threshold", s.NucleusThreshold, 0.01, 3),
            SmoothSigmaMicrons = Get("smooth_sigma_um", s.SmoothSigmaMicrons, 0, 10),
            MinNucleusArea = Get("min_nucleus_area_um2", s.MinNucleusArea, 1, 10000),
            MaxNucleusArea = Get("max_nucleus_area_um2", s.MaxNucleusArea, 1, 10000),
            CellExpansionMicrons = Get("expansion_um", s.CellExpansionMicrons, 0, 50),
        };
        if (s.MinNucleusArea > s.MaxNucleusArea)
            throw new FormatException($"{source}: cells.min_nucleus_area_um2 is larger than cells.max_nucleus_area_um2");
        return model with { Cells = s, DetectOnOdSum = detection == "od-sum" };
    }

    private static string RequiredString(JsonElement root, string key, string source) =>
        OptionalString(root, key) is { Length: > 0 } s ? s : throw new FormatException($"{source}: missing or empty \"{key}\"");

    private static string? OptionalString(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw new FormatException($"\"{key}\" must be a string") : null;

    private static double Number(JsonElement obj, string key, string source) =>
        obj.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble()
        : throw new FormatException($"{source}: thresholds.{key} must be a number");
}
