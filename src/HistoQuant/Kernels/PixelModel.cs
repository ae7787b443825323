using HistoQuant.Stains;

namespace HistoQuant.Kernels;

/// <summary>
/// Everything a pixel kernel needs, flattened: the chromogen's concentration lookup table and the three
/// intensity thresholds (weak ≤ moderate ≤ strong, in chromogen OD units).
/// </summary>
public sealed class PixelModel
{
    /// <summary>lut[c*256 + v]: channel c at value v times M⁻¹[c, chromogen]; see <see cref="StainSet.ConcentrationLut"/>.</summary>
    public float[] ChromogenLut { get; }

    /// <summary>
    /// The table of the plane cell detection finds nuclei in: the counterstain (hematoxylin) concentration,
    /// or the summed optical density of all channels (for nuclear markers, where DAB hides the hematoxylin).
    /// </summary>
    public float[] CounterstainLut { get; }
    public float Weak { get; }
    public float Moderate { get; }
    public float Strong { get; }

    public PixelModel(StainSet stains, int chromogenIndex, double weak, double moderate, double strong, bool detectOnOdSum = false)
    {
        if (!(weak <= moderate && moderate <= strong))
            throw new ArgumentException($"thresholds must satisfy weak ≤ moderate ≤ strong (got {weak}, {moderate}, {strong})");
        ChromogenLut = stains.ConcentrationLut(chromogenIndex);
        CounterstainLut = detectOnOdSum ? stains.OpticalDensityLut() : stains.ConcentrationLut(chromogenIndex == 0 ? 1 : 0);
        Weak = (float)weak;
        Moderate = (float)moderate;
        Strong = (float)strong;
    }
}

/// <summary>
/// Per-tile (and, summed, per-slide) pixel totals. Counts are of tissue pixels whose chromogen OD is at or
/// above each threshold, so weak-only = AtLeastWeak − AtLeastModerate. Integer counts add exactly, and
/// sums are added in tile order, so results do not depend on thread scheduling.
/// </summary>
public struct PixelSums
{
    public long Tissue;
    public long AtLeastWeak;
    public long AtLeastModerate;
    public long AtLeastStrong;
    public double ChromogenSum;

    public void Add(in PixelSums o)
    {
        Tissue += o.Tissue;
        AtLeastWeak += o.AtLeastWeak;
        AtLeastModerate += o.AtLeastModerate;
        AtLeastStrong += o.AtLeastStrong;
        ChromogenSum += o.ChromogenSum;
    }
}
