namespace HistoQuant.Synth;

/// <summary>
/// Ground truth of a synthetic slide, computed from the rendered 8-bit pixels before JPEG compression
/// (so it is what a perfect reader would measure) with the slide's own stain vectors and glass I0. Fibres: fibres
/// whose centre lies in tissue; CutFibres: fibres cut by the tissue edge (centre outside) with at least 300 µm² of
/// fibre inside it, which a detector also finds.
/// </summary>
public sealed record SynthTruth(
    string Slide,
    int Seed,
    int WidthPx,
    int HeightPx,
    double Mpp,
    string Stains,
    double[] Glass,
    long TissuePixels,
    double TissueAreaMm2,
    IReadOnlyDictionary<string, double> DabPositiveAreaPct,
    double MeanDabOd,
    int PositiveCells,
    double PositiveCellsPerMm2,
    int NegativeNuclei,
    int Fibres,
    int PositiveFibres,
    double PositiveFibresPct,
    int Capillaries,
    double CapillariesPerMm2,
    int SarcoplasmicFibres = 0,
    double SarcoplasmicFibresPct = 0,
    int CutFibres = 0)
{
    /// <summary>
    /// Over the fibres with at least 300 µm² in the tissue (those cut by its edge by their visible part, as the tool
    /// measures them): medians of the minimal Feret diameter (µm) and the area (µm², the fibre without the
    /// endomysium), and the minimal Feret's coefficient of variation; null on slides of more than 3000 fibres.
    /// </summary>
    public double? FibreMinFeretMedianUm { get; init; }
    public double? FibreAreaMedianUm2 { get; init; }
    public double? FibreMinFeretCv { get; init; }
    /// <summary>
    /// Over the same fibres, % with an internal nucleus as the tool defines one: at least 6 µm² of nucleus at least
    /// 4 µm inside the fibre's outline (the generated nuclei are scattered at random, so some lie deep in fibres).
    /// </summary>
    public double? CentralNucleiFibresPct { get; init; }

    /// <summary>Compartments and the perifascicular pattern, when the slide has fascicles.</summary>
    public CompartmentTruth? Compartments { get; init; }

    public static readonly double[] Thresholds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
}
