using System.Text.Json;
using HistoQuant.Stains;
using HistoQuant.Measures;

namespace HistoQuant.Models;

/// <summary>Finds and validates marker models: `--marker cd163` (an id in a models folder) or `--marker my.json`.</summary>
public static class MarkerCatalog
{
    public const string DefaultId = "dab-generic";

    private static readonly string[] TopKeys = ["id", "name", "description", "stains", "chromogen", "thresholds", "compartment", "measures", "estimate_stains"];
    private static readonly string[] KnownKeys = [.. TopKeys, .. MeasureRegistry.All.Select(m => m.SectionName).OfType<string>()];
    // Only compartments some measure grades by: a model cannot name one that would silently be graded as another.
    private static readonly string[] KnownCompartments = MeasureRegistry.All.SelectMany(m => m.Compartments).Distinct().ToArray();
    // Only measures the tool computes: a model cannot ask for one that would silently come out empty.
    public static readonly string[] KnownMeasures = MeasureRegistry.ModelNames.ToArray();

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

            bool estimateStains = false;
            if (root.TryGetProperty("estimate_stains", out var estimate))
            {
                if (estimate.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    throw new FormatException($"{source}: \"estimate_stains\" must be true or false");
                estimateStains = estimate.GetBoolean();
            }

            var model = new MarkerModel(id, name, description, stains, chromogen, thresholds, compartment, measures, source) { EstimateStains = estimateStains };
            CheckCompartment(model, source);
            if (MeasureRegistry.All.Where(m => m.ModelNames.Any(model.Measures.Contains)).Select(m => m.Unmet(model.Measures)).OfType<string>().FirstOrDefault() is { } unmet)
                throw new FormatException($"{source}: {unmet}");
            var settings = new Dictionary<string, object?>(model.Settings);
            foreach (var measure in MeasureRegistry.All)
                if (measure.SectionName is { } section && root.TryGetProperty(section, out var sectionJson))
                    settings[section] = measure.ParseSection(new ModelSection(sectionJson, section, source));
            return model with { Settings = settings, Json = json };
        }
    }

    /// <summary>A compartment must be one that a measure the model asks for grades by ("any" always is).</summary>
    private static void CheckCompartment(MarkerModel model, string source)
    {
        if (model.Compartment == "any")
            return;
        var request = new MeasureRequest(model.Measures, model.Settings, ForceCells: false);
        var graders = MeasureRegistry.All.Where(m => m.Compartments.Contains(model.Compartment)).ToList();
        if (graders.Count > 0 && !graders.Any(m => m.IsWanted(request)))
            throw new FormatException($"{source}: compartment \"{model.Compartment}\" is graded by {string.Join(" or ", graders.SelectMany(m => m.ModelNames))}, which \"measures\" does not list");
    }

    private static string RequiredString(JsonElement root, string key, string source) =>
        OptionalString(root, key) is { Length: > 0 } s ? s : throw new FormatException($"{source}: missing or empty \"{key}\"");

    private static string? OptionalString(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw new FormatException($"\"{key}\" must be a string") : null;

    private static double Number(JsonElement obj, string key, string source) =>
        obj.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble()
        : throw new FormatException($"{source}: thresholds.{key} must be a number");
}
