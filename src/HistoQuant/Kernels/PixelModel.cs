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

    /// <summary>The stains the tables were made from, and which of them is the chromogen.</summary>
    public StainSet Stains { get; }
    public int ChromogenIndex { get; }

    /// <summary>
    /// The table of the plane cell detection finds nuclei in: the counterstain (hematoxylin) concentration,
    /// or the summed optical density of all channels (for nuclear markers, where DAB hides the hematoxylin).
    /// </summary>
    public float[] CounterstainLut { get; }
    public float Weak { get; }

    /// <summary>
    /// rg[r·256 + g] = lut[r] + lut[256+g], the first of the kernel's two additions done ahead for every
    /// (r, g): the AVX2 kernel then needs two table gathers a pixel instead of three, and gets bit-identical
    /// values because the same two floats are added. 256 KB, made on first use.
    /// </summary>
    public float[] RedGreenLut => _redGreen ??= MakeRedGreen(ChromogenLut);
    private float[]? _redGreen;

    private static float[] MakeRedGreen(float[] lut)
    {
        var rg = new float[65536];
        for (int r = 0; r < 256; r++)
            for (int g = 0; g < 256; g++)
                rg[r * 256 + g] = lut[r] + lut[256 + g];
        return rg;
    }

    public float Moderate { get; }
    public float Strong { get; }

    /// <summary>
    /// Also count the chromogen OD histogram (<see cref="PixelSums.Histogram"/>). Off by default: on the CPU
    /// engine the per-pixel counter updates cost about a third of its throughput; on a GPU it is nearly free.
    /// </summary>
    public bool Histogram { get; init; }

    public PixelModel(StainSet stains, int chromogenIndex, double weak, double moderate, double strong, bool detectOnOdSum = false)
    {
        if (!(weak <= moderate && moderate <= strong))
            throw new ArgumentException($"thresholds must satisfy weak ≤ moderate ≤ strong (got {weak}, {moderate}, {strong})");
        Stains = stains;
        ChromogenIndex = chromogenIndex;
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
public struct PixelSums : IEquatable<PixelSums>
{
    public long Tissue;
    public long AtLeastWeak;
    public long AtLeastModerate;
    public long AtLeastStrong;
    public double ChromogenSum;
    /// <summary>Tissue pixels by chromogen OD, in bins of <see cref="DabHistogram.BinWidth"/>.</summary>
    public DabHistogram Histogram;

    public void Add(in PixelSums o)
    {
        Tissue += o.Tissue;
        AtLeastWeak += o.AtLeastWeak;
        AtLeastModerate += o.AtLeastModerate;
        AtLeastStrong += o.AtLeastStrong;
        ChromogenSum += o.ChromogenSum;
        for (int i = 0; i < DabHistogram.Bins; i++)
            Histogram[i] += o.Histogram[i];
    }

    public readonly bool Equals(PixelSums o) =>
        Tissue == o.Tissue && AtLeastWeak == o.AtLeastWeak && AtLeastModerate == o.AtLeastModerate && AtLeastStrong == o.AtLeastStrong
        && ChromogenSum.Equals(o.ChromogenSum) && ((ReadOnlySpan<long>)Histogram).SequenceEqual(o.Histogram);

    public override readonly bool Equals(object? obj) => obj is PixelSums o && Equals(o);

    public override readonly int GetHashCode() => HashCode.Combine(Tissue, AtLeastWeak, AtLeastModerate, AtLeastStrong, ChromogenSum);
}

/// <summary>
/// Tissue pixels by chromogen OD: bin k holds OD in [k·0.05, (k+1)·0.05); bin 0 also holds OD below 0 and the
/// last bin everything from 3.15 up. Thresholds on the 0.05 grid can be re-applied from it without re-reading
/// the slide (pixels at or above 0.2 = the sum of bins 4 and up).
/// </summary>
[System.Runtime.CompilerServices.InlineArray(Bins)]
public struct DabHistogram
{
    public const int Bins = 64;
    public const float BinsPerOd = 20f;
    public const double BinWidth = 1.0 / BinsPerOd;
    private long _bin;

    /// <summary>The bin of one OD value; every engine uses exactly this float arithmetic.</summary>
    public static int Bin(float od) => (int)Math.Min(Math.Max(od * BinsPerOd, 0f), Bins - 1);

    public long[] ToArray()
    {
        var bins = new long[Bins];
        for (int i = 0; i < Bins; i++)
            bins[i] = this[i];
        return bins;
    }
}
