using HistoQuant.Measures.Capillaries;
using HistoQuant.Measures.Cells;
using HistoQuant.Measures.Compartments;
using HistoQuant.Measures.Fibres;
using HistoQuant.Measures.Pixels;
using HistoQuant.Measures.Presence;

namespace HistoQuant.Measures;

/// <summary>
/// Every measure the tool has, in results-column order. Adding a measure: a folder under Measures with a class
/// implementing <see cref="IMeasure"/>, and one line here. Measures later in the list may read earlier ones'
/// columns (a presence call reads the column it is based on), so presence comes last.
/// </summary>
public static class MeasureRegistry
{
    public static IReadOnlyList<IMeasure> All { get; } =
    [
        new PixelsMeasure(),
        new CellsMeasure(),
        new FibresMeasure(),
        new CapillariesMeasure(),
        new CompartmentsMeasure(),
        new PresenceMeasure(),
    ];

    /// <summary>Every measure column, in results order.</summary>
    public static IReadOnlyList<Column> Columns { get; } = All.SelectMany(m => m.Columns).ToList();

    public static Column? Column(string name) => Columns.FirstOrDefault(c => c.Name == name);

    public static IMeasure? BySection(string section) => All.FirstOrDefault(m => m.SectionName == section);

    /// <summary>Names a model's "measures" list may hold.</summary>
    public static IReadOnlyList<string> ModelNames { get; } = All.SelectMany(m => m.ModelNames).ToList();
}
