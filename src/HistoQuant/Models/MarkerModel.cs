using HistoQuant.Stains;
using HistoQuant.Measures;
using HistoQuant.Measures.Capillaries;
using HistoQuant.Measures.Cells;
using HistoQuant.Measures.Fibres;
using HistoQuant.Measures.Presence;

namespace HistoQuant.Models;

/// <summary>DAB OD thresholds for intensity grades 1+, 2+, 3+ (QuPath's convention). Positive means ≥ Weak.</summary>
public sealed record Thresholds(double Weak, double Moderate, double Strong)
{
    public static readonly Thresholds Default = new(0.2, 0.4, 0.6);

    public string? Problem() =>
        !(double.IsFinite(Weak) && double.IsFinite(Moderate) && double.IsFinite(Strong)) ? "thresholds must be numbers"
        : !(Weak <= Moderate && Moderate <= Strong) ? $"thresholds must satisfy weak ≤ moderate ≤ strong (got {Weak}, {Moderate}, {Strong})"
        : null;
}

/// <summary>
/// How one marker is measured, loaded from models/*.json: which stains, which of them is the chromogen,
/// the intensity thresholds, the compartment the stain sits in, and which measures to report.
/// </summary>
public sealed record MarkerModel(
    string Id,
    string Name,
    string Description,
    StainSet Stains,
    int ChromogenIndex,
    Thresholds Thresholds,
    string Compartment,
    IReadOnlyList<string> Measures,
    string Source)
{
    /// <summary>
    /// Each measure's settings by model section name ("cells", "fibres"...): the section as the file gives it,
    /// parsed by the measure that owns it, or the measure's defaults (see <see cref="MeasureRegistry"/>).
    /// </summary>
    public IReadOnlyDictionary<string, object?> Settings { get; init; } = MeasureRegistry.All
        .Where(m => m.SectionName is not null).ToDictionary(m => m.SectionName!, m => m.DefaultSettings);

    /// <summary>A measure's settings of the type it parses them to.</summary>
    /// <summary>
    /// Whether each slide's stain vectors are re-estimated on its tissue, starting from <see cref="Stains"/> (as
    /// `--stains auto` does): scanners render DAB differently, and fixed vectors then grade the same tissue differently.
    /// An explicit `--stains` overrides it.
    /// </summary>
    public bool EstimateStains { get; init; }

    /// <summary>The model file's JSON as read (kept for results.json's provenance).</summary>
    public string Json { get; init; } = "";

    public T? SettingsOf<T>(string section) where T : class => Settings.GetValueOrDefault(section) as T;

    // Shorthands for the shipped measures' settings, which the CLI and tests read.
    public CellSettings Cells => SettingsOf<CellSection>("cells")!.Settings;
    public bool DetectOnOdSum => SettingsOf<CellSection>("cells")!.DetectOnOdSum;
    public FibreSettings Fibres => SettingsOf<FibreSettings>("fibres")!;
    public CapillarySettings Capillaries => SettingsOf<CapillarySettings>("capillaries")!;
    public PresenceRule? Presence => SettingsOf<PresenceRule>("presence");

    public StainVector Chromogen => Stains[ChromogenIndex];
}
