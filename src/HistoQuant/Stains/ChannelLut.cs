using System.Runtime.CompilerServices;

namespace HistoQuant.Stains;

/// <summary>
/// Per-channel lookup tables, the one layout every engine and stage uses: table[c·256 + v] for channel c (R, G, B)
/// at 8-bit value v, so that a pixel's value (a stain concentration, or the total optical density) is the sum of
/// three lookups. The GPU kernel and the CPU engine's pointer loops index the same layout inline for speed.
/// </summary>
public static class ChannelLut
{
    public const int Length = 768;

    public static float[] Build(Func<int, int, double> valueOf)
    {
        var table = new float[Length];
        for (int c = 0; c < 3; c++)
            for (int v = 0; v < 256; v++)
                table[c * 256 + v] = (float)valueOf(c, v);
        return table;
    }

    /// <summary>OD_c(v) against <paramref name="background"/>; negatives (brighter than glass) kept or clamped to 0.</summary>
    public static float[] OpticalDensity(Background background, bool clampAtZero = false) =>
        Build((c, v) => clampAtZero ? Math.Max(0, Stains.OpticalDensity.Of(v, background[c])) : Stains.OpticalDensity.Of(v, background[c]));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(float[] table, byte r, byte g, byte b) => table[r] + table[256 + g] + table[512 + b];
}
