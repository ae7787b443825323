using HistoQuant.Measures.Capillaries;
using HistoQuant.Measures.Cells;
using HistoQuant.Measures.Fibres;

namespace HistoQuant.Measures;

/// <summary>The objects found on one slide; null for a kind the marker model did not ask for.</summary>
public sealed record SlideObjects(List<DetectedCell>? Cells, List<DetectedFibre>? Fibres, List<DetectedCapillary>? Capillaries)
{
    public bool IsEmpty => Cells is null && Fibres is null && Capillaries is null;
}
