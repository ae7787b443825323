using HistoQuant.Kernels;
using HistoQuant.Measures.Pixels;

namespace HistoQuant.Measures;

/// <summary>
/// One measure, registered in <see cref="MeasureRegistry"/>: the model section it reads, the objects it detects,
/// the per-slide columns it adds and the GeoJSON features and overlay marks of its objects. results.csv/json,
/// `compare`, `validate`, presence rules, the fingerprint of a run and the progress line all read this one list.
/// </summary>
public interface IMeasure
{
    /// <summary>Short name: the progress stage and the key of its objects, e.g. "cells".</summary>
    string Name { get; }

    /// <summary>Per-slide columns in results order.</summary>
    IReadOnlyList<Column> Columns { get; }

    /// <summary>Names in a model's "measures" list that ask for this measure.</summary>
    IReadOnlyList<string> ModelNames { get; }

    /// <summary>Model compartments this measure grades by (a model's compartment must be one of its measures').</summary>
    IReadOnlyList<string> Compartments => [];

    /// <summary>The model section it reads ("cells"), or null for none.</summary>
    string? SectionName => null;

    /// <summary>Settings when the model has no section (null: the measure is off unless the model has one).</summary>
    object? DefaultSettings => null;

    /// <summary>Reads and validates the model's section, starting from <see cref="DefaultSettings"/>.</summary>
    object? ParseSection(ModelSection section) => throw section.Error($"\"{section.Name}\" takes no settings");

    /// <summary>The text of the settings that enters a run's fingerprint (a change re-measures finished rows).</summary>
    string Fingerprint(object? settings) => settings?.ToString() ?? "";

    bool IsWanted(MeasureRequest request);

    /// <summary>Why a model's "measures" list cannot serve this measure (another measure it builds on is missing), or null.</summary>
    string? Unmet(IReadOnlyCollection<string> modelMeasures) => null;

    /// <summary>A detector for the slide's overlapping regions, or null when this measure detects no objects.</summary>
    IRegionDetector? CreateDetector(MeasureSetup setup) => null;

    /// <summary>A chance to use other measures' objects once all are detected (cells on capillaries are dropped).</summary>
    void AfterDetection(SlideObjects objects, double mpp) { }

    /// <summary>The same, for measures that build on the slide's tissue and the run's settings too (compartments).</summary>
    void AfterDetection(SlideObjects objects, double mpp, TissueMask tissue, IReadOnlyDictionary<string, object?> settings) => AfterDetection(objects, mpp);

    /// <summary>Other measures' detectors keep object outlines (fibre outlines) even when no detection files are written.</summary>
    bool NeedsOutlines => false;

    /// <summary>Fills this measure's columns; measures earlier in the registry have filled theirs.</summary>
    void Summarise(SlideSummary slide, IDictionary<string, double?> values);

    /// <summary>GeoJSON features of this measure's objects (QuPath's conventions).</summary>
    IEnumerable<GeoFeature> Features(IReadOnlyList<object> objects) => [];

    /// <summary>Overlay marks; measures with a larger <see cref="OverlayOrder"/> are drawn on top.</summary>
    void Draw(OverlayCanvas canvas, IReadOnlyList<object> objects) { }

    int OverlayOrder => 0;

    /// <summary>What this measure's overlay marks mean, for the overlay's legend (RGB colours).</summary>
    IReadOnlyList<(string Label, int[] Colour)> Legend => [];

    /// <summary>The column shown on the progress line when a slide finishes, if any.</summary>
    string? Headline => null;
}

/// <summary>What a run asks for: the model's "measures", its parsed sections, and `--cells`.</summary>
public sealed record MeasureRequest(IReadOnlyCollection<string> ModelMeasures, IReadOnlyDictionary<string, object?> Settings, bool ForceCells)
{
    public bool Asks(IMeasure measure) => measure.ModelNames.Any(ModelMeasures.Contains);
}

/// <summary>Everything a detector is built from for one slide; ModelMeasures: the model's "measures" list.</summary>
public sealed record MeasureSetup(object? Settings, string Compartment, double Weak, double Moderate, double Strong, double Mpp,
    int SlideWidth, int SlideHeight, bool Outlines, IReadOnlyCollection<string>? ModelMeasures = null);

/// <summary>
/// A detector of objects in one region of the slide (core plus margin, see Pipeline.RegionAnalyzer): an object
/// belongs to the region whose core holds its centroid.
/// </summary>
public interface IRegionDetector
{
    double CoreMicrons { get; }
    double MarginMicrons { get; }
    IEnumerable<object> Detect(RegionPlanes region);
}

/// <summary>The objects found on one slide, by measure name; a measure that was not run has none.</summary>
public sealed class SlideObjects
{
    private readonly Dictionary<string, IReadOnlyList<object>> _byMeasure = new();

    public bool IsEmpty => _byMeasure.Count == 0;

    public IReadOnlyList<object>? this[string measure]
    {
        get => _byMeasure.TryGetValue(measure, out var list) ? list : null;
        set
        {
            if (value is null)
                _byMeasure.Remove(measure);
            else
                _byMeasure[measure] = value;
        }
    }

    /// <summary>The objects of one measure as their own type, or null when it was not run.</summary>
    public IReadOnlyList<T>? Of<T>(string measure) => this[measure]?.Cast<T>().ToList();
}

/// <summary>A slide's measurements so far, for <see cref="IMeasure.Summarise"/>.</summary>
public sealed record SlideSummary(IntensityMeasures Pixels, double Mpp, SlideObjects Objects, IReadOnlyDictionary<string, object?> Settings)
{
    public double? TissueAreaMm2 => Pixels.TissueAreaMm2;

    /// <summary>Objects per mm² of tissue, or null without a tissue area.</summary>
    public double? PerMm2(int count) => TissueAreaMm2 is { } a && a > 0 ? count / a : null;
}

/// <summary>One GeoJSON feature as QuPath writes it: an object type, a polygon in level-0 pixels, a class and measurements.</summary>
public sealed record GeoFeature(string ObjectType, IReadOnlyList<(double X, double Y)>? Outline, double X, double Y, string ClassName, int[] Colour,
    Dictionary<string, double> Measurements)
{
    /// <summary>A cell's nucleus (QuPath's "nucleusGeometry"), or null.</summary>
    public IReadOnlyList<(double X, double Y)>? NucleusOutline { get; init; }
}
