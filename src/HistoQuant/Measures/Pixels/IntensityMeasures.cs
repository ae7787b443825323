using HistoQuant.Kernels;

namespace HistoQuant.Measures.Pixels;

/// <summary>
/// Per-slide stain measures from pixel totals. Percentages are of tissue pixels; grades are exclusive
/// bands (weak = [weak, moderate), moderate = [moderate, strong), strong = [strong, ∞)), so
/// positive = weak + moderate + strong, and the pixel H-score = 1·weak% + 2·moderate% + 3·strong% (0–300).
/// </summary>
public sealed record IntensityMeasures(
    long TissuePixels,
    double? TissueAreaMm2,
    double PositiveAreaPct,
    double WeakPct,
    double ModeratePct,
    double StrongPct,
    double HScore,
    double MeanChromogenOd)
{
    public static IntensityMeasures From(in PixelSums s, double? mppX, double? mppY)
    {
        double n = s.Tissue;
        double Pct(long count) => n > 0 ? 100.0 * count / n : 0.0;
        double weak = Pct(s.AtLeastWeak - s.AtLeastModerate);
        double moderate = Pct(s.AtLeastModerate - s.AtLeastStrong);
        double strong = Pct(s.AtLeastStrong);
        double? area = mppX is { } mx && mppY is { } my ? s.Tissue * mx * my * 1e-6 : null;
        return new IntensityMeasures(s.Tissue, area, Pct(s.AtLeastWeak), weak, moderate, strong,
            weak + 2 * moderate + 3 * strong, n > 0 ? s.ChromogenSum / n : 0.0);
    }
}
