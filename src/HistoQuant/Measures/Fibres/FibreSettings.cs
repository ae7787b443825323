namespace HistoQuant.Measures.Fibres;

/// <summary>
/// Muscle fibre segmentation and scoring parameters (the marker model's "fibres" section). Lengths in µm,
/// areas in µm², intensities in OD units. Documented with the method in the README.
/// </summary>
public sealed record FibreSettings(
    double DetectionMicronsPerPixel = 1.0,
    double SmoothSigmaMicrons = 0.5,
    // Clearly pale interstitium: the stain-independent OD (counterstain + chromogen) below this fraction of the
    // region's median tissue OD.
    double GapFraction = 0.5,
    // A line paler than the fibres around it: at least this fraction below the local fibre level (the OD grey-closed
    // over LineMicrons, which fills lines up to twice that wide). 0 = off.
    double ValleyContrast = 0.2,
    // A line darker than the fibres around it (membrane, stained sarcolemma, a fold): at least this fraction above the
    // local fibre level (the OD grey-opened over LineMicrons). 0 = off.
    double RidgeContrast = 0.25,
    // Half the widest line the two contrasts see (the radius of the closing and the opening); the curvature is taken
    // at a third of it.
    double LineMicrons = 3,
    // Half the widest dark line (the radius of the opening that takes dark lines and nuclei away from the fibre level).
    double DarkLineMicrons = 3,
    // Faint thin lines: a curvature across the line (scale-normalised Hessian eigenvalue relative to the median tissue
    // OD) of at least ValleyCurvature (pale) or RidgeCurvature (dark), with a contrast of at least LineContrast.
    double ValleyCurvature = 0.025,
    double RidgeCurvature = 0.05,
    double LineContrast = 0.02,
    // A fibre much larger than the typical one is searched again for lines with the curvature thresholds × this
    // factor, and split along them where every part is a plausible fibre. 0 = off.
    double FaintSplitFactor = 0.5,
    // Two fibres joined at a waist are cut between the two deepest concavities closer than this × their summed depths,
    // along the strongest tone step. 0 = off.
    double NeckRatio = 3.2,
    double ValleyNoise = 0,
    // Line pieces smaller than this are specks of texture or noise inside a fibre, not boundaries.
    double MinLineMicrons2 = 25,
    // Seeds: maxima of the distance to the nearest line that stand at least this high over the saddle to a higher
    // one (h-maxima), and are at least MarkerDepthMicrons deep; a neck between two fibres narrower than 2 × (depth -
    // dynamic) below both centres splits them even where the line between them is not seen.
    double SeedDynamicMicrons = 2,
    double SeedDynamicFraction = 0.22,
    double MarkerDepthMicrons = 3,
    // Pixels a fibre's flood reached whose OD is below this fraction of the fibre's own median OD (loose interstitium
    // that is paler than the fibre but not pale enough to be a line) are taken out of it. 0 = off.
    double OwnLevelFraction = 0.6,
    // Fibres are opened by a disk of this radius (thin attachments and ragged edges taken off) after holes are filled.
    double SmoothMicrons = 3,
    // A nucleus on a dark line network (its dark piece at least this large, µm²) keeps a line through it, so the
    // boundary it sits on stays closed. 0 = off (every nucleus-sized blob leaves the lines).
    double NucleusLineMicrons2 = 100,
    // Counterstain OD that marks a nucleus (used for internal nuclei only; nuclei never decide where a fibre is).
    double NucleusOd = 0.25,
    // An internal (central) nucleus: nucleus pixels at least this far inside the fibre's outline, covering NucleusMicrons2.
    double InternalNucleusMicrons = 4,
    double NucleusMicrons2 = 6,
    double MinAreaMicrons2 = 100,
    double MaxAreaMicrons2 = 20000,
    double MinSolidity = 0.8,
    // The sarcolemmal band: fibre pixels within this distance of the fibre's boundary.
    double BandMicrons = 4,
    // A fibre is sarcolemmal-positive when at least this fraction of its band is DAB ≥ weak.
    double RingFraction = 0.22,
    double CoreMicrons = 768,
    double MarginMicrons = 120);

/// <summary>
/// One segmented fibre, in level-0 pixel coordinates. MinFeretMicrons: the smallest caliper width of the outline
/// (ImageJ's MinFeret). Whole: not cut by the slide edge (the morphometry medians use whole fibres only). Scored:
/// the model grades the chromogen on fibres (positive_fibres); otherwise Sarcolemmal and Sarcoplasmic are false.
/// </summary>
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
    IReadOnlyList<(double X, double Y)>? Outline,
    double MinFeretMicrons = 0,
    bool InternalNucleus = false,
    bool Whole = true,
    bool Scored = true);

/// <summary>
/// Per-slide fibre measures and the MHC class I grade by % sarcolemmal-positive fibres, as used in myositis
/// pathology: 0 none, 1 up to 10%, 2 over 10–25%, 3 over 25–50%, 4 over 50% but not all, 5 all fibres.
/// FibreAreaPct (scored fibres' area / tissue area) is a segmentation check: muscle is mostly fibre, so a low
/// value means fibres merged and were dropped, and the % positive is then biased (see the README).
/// </summary>
public sealed record FibreSummary(int Fibres, double? PositiveFibresPct, double? SarcoplasmicFibresPct, int? Grade, double? FibreAreaPct = null)
{
    /// <summary>Median fibre area (µm²) of the whole fibres (not cut by the slide edge).</summary>
    public double? AreaMedianMicrons2 { get; init; }
    /// <summary>Median minimal Feret diameter (µm) of the whole fibres.</summary>
    public double? MinFeretMedianMicrons { get; init; }
    /// <summary>Coefficient of variation of the minimal Feret diameter (sample SD / mean) of the whole fibres.</summary>
    public double? MinFeretCv { get; init; }
    /// <summary>% of the whole fibres with an internal (central) nucleus.</summary>
    public double? CentralNucleiFibresPct { get; init; }

    public static FibreSummary From(IReadOnlyCollection<DetectedFibre> fibres, double? tissueAreaMm2 = null)
    {
        int n = fibres.Count;
        double? areaPct = tissueAreaMm2 is > 0 ? 100.0 * fibres.Sum(f => f.AreaMicrons2) / (tissueAreaMm2.Value * 1e6) : null;
        if (n == 0)
            return new FibreSummary(0, null, null, null, areaPct);
        var whole = fibres.Where(f => f.Whole).ToList();
        var ferets = whole.Select(f => f.MinFeretMicrons).ToList();
        double? cv = null;
        if (ferets.Count >= 2)
        {
            double mean = ferets.Average();
            cv = mean > 0 ? Math.Sqrt(ferets.Sum(x => (x - mean) * (x - mean)) / (ferets.Count - 1)) / mean : null;
        }
        var morphometry = new FibreSummary(n, null, null, null, areaPct)
        {
            AreaMedianMicrons2 = Median(whole.Select(f => f.AreaMicrons2)),
            MinFeretMedianMicrons = Median(ferets),
            MinFeretCv = cv,
            CentralNucleiFibresPct = whole.Count > 0 ? 100.0 * whole.Count(f => f.InternalNucleus) / whole.Count : null,
        };
        // Models without chromogen grading on fibres (muscle-he) leave the scoring columns empty.
        if (!fibres.Any(f => f.Scored))
            return morphometry;
        int positive = fibres.Count(f => f.Sarcolemmal);
        double pct = 100.0 * positive / n;
        return morphometry with
        {
            PositiveFibresPct = pct,
            SarcoplasmicFibresPct = 100.0 * fibres.Count(f => f.Sarcoplasmic) / n,
            Grade = GradeFor(positive, n),
        };
    }

    private static double? Median(IEnumerable<double> values)
    {
        var v = values.Order().ToList();
        if (v.Count == 0)
            return null;
        return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
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
