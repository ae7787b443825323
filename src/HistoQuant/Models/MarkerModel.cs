using HistoQuant.Stains;
using HistoQuant.Measures;

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
    /// <summary>Cell detection parameters (the model's "cells" section; QuPath's defaults otherwise).</summary>
    public Measures.Cells.CellSettings Cells { get; init; } = new();

    /// <summary>Find nuclei in the summed OD instead of hematoxylin (nuclear markers such as Ki-67).</summary>
    public bool DetectOnOdSum { get; init; }

    /// <summary>Muscle fibre segmentation and scoring (the model's "fibres" section; defaults otherwise).</summary>
    public Measures.Fibres.FibreSettings Fibres { get; init; } = new();

    /// <summary>Capillary-like object rule (the model's "capillaries" section; defaults otherwise).</summary>
    public Measures.Capillaries.CapillarySettings Capillaries { get; init; } = new();

    /// <summary>The present/absent call, when the model declares one.</summary>
    public PresenceRule? Presence { get; init; }

    public StainVector Chromogen => Stains[ChromogenIndex];
}
