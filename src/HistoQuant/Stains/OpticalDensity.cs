namespace HistoQuant.Stains;

/// <summary>
/// Beer–Lambert optical density with HistoQuant's conventions: base-10 logarithm, intensities clamped
/// below at 1 so that black pixels stay finite (as QuPath does), and no clamp above I0, so pixels brighter
/// than the background give small negative densities.
/// </summary>
public static class OpticalDensity
{
    public static double Of(double intensity, double background) => -Math.Log10(Math.Max(intensity, 1.0) / background);

    /// <summary>Intensity that gives a density: the inverse of <see cref="Of"/> (used to render synthetic stains).</summary>
    public static double Intensity(double od, double background) => background * Math.Pow(10, -od);
}
