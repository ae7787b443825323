namespace HistoQuant.Measures.Fibres;

/// <summary>
/// Muscle fibre segmentation and scoring parameters (the marker model's "fibres" section). Lengths in µm,
/// areas in µm², intensities in OD units. Documented with the method in the README.
/// </summary>
public sealed record FibreSettings(
    double DetectionMicronsPerPixel = 1.0,
    double SmoothSigmaMicrons = 0.5,
    // Interstitium (endomysium) is paler than fibres: OD sum below this fraction of the region's median tissue OD.
    double GapFraction = 0.5,
    // Endomysium that is only a little paler than the fibres around it: pixels at least this fraction paler than the
    // local fibre level (the OD sum closed over ValleyMicrons, which fills pale lines up to twice that wide). 0 = off.
    double ValleyContrast = 0.2,
    double ValleyMicrons = 3,
    // Counterstain OD that marks a nucleus (nuclei sit in the endomysium and at the fibre edge, never inside the marker).
    double NucleusOd = 0.25,
    // A fibre's seed is its interior at least this far from any boundary; narrower bridges do not join two fibres.
    double MarkerDepthMicrons = 4,
    double MinAreaMicrons2 = 200,
    double MaxAreaMicrons2 = 20000,
    double MinSolidity = 0.8,
    // The sarcolemmal band: fibre pixels within this distance of the fibre's boundary.
    double BandMicrons = 4,
    // A fibre is sarcolemmal-positive when at least this fraction of its band is DAB ≥ weak.
    double RingFraction = 0.3,
    double CoreMicrons = 768,
    double MarginMicrons = 120);

/// <summary>One segmented fibre, in level-0 pixel coordinates.</summary>
public sealed record DetectedFibre(
    double X,
    double Y,
    double AreaMicrons2,
    double Solidity,
    double BandDab,
    double BandPositiveFraction,
    double SarcoplasmDab,
    bool Sarcolemmal,
    bool Sarcoplasmic,
    IReadOnlyList<(double X, double Y)>? Outline);

/// <summary>
/// Per-slide fibre measures and the MHC class I grade by % sarcolemmal-positive fibres, as used in myositis
/// pathology: 0 none, 1 up to 10%, 2 over 10–25%, 3 over 25–50%, 4 over 50% but not all, 5 all fibres.
/// FibreAreaPct (scored fibres' area / tissue area) is a segmentation check: muscle is mostly fibre, so a low
/// value means fibres merged and were dropped, and the % positive is then biased (see the README).
/// </summary>
public sealed record FibreSummary(int Fibres, double? PositiveFibresPct, double? SarcoplasmicFibresPct, int? Grade, double? FibreAreaPct = null)
{
    public static FibreSummary From(IReadOnlyCollection<DetectedFibre> fibres, double? tissueAreaMm2 = null)
    {
        int n = fibres.Count;
        double? areaPct = tissueAreaMm2 is > 0 ? 100.0 * fibres.Sum(f => f.AreaMicrons2) / (tissueAreaMm2.Value * 1e6) : null;
        if (n == 0)
            return new FibreSummary(0, null, null, null, areaPct);
        int positive = fibres.Count(f => f.Sarcolemmal);
        double pct = 100.0 * positive / n;
        return new FibreSummary(n, pct, 100.0 * fibres.Count(f => f.Sarcoplasmic) / n, GradeFor(positive, n), areaPct);
    }

    public static int GradeFor(int positive, int fibres)
    {
        if (positive <= 0)
            return 0;
        if (positive >= fibres)
            return 5;
        double pct = 100.0 * positive / fibres;
        return pct <= 10 ? 1 : pct <= 25 ? 2 : pct <= 50 ? 3 : 4;
    }
}
