namespace HistoQuant.Stains;

/// <summary>
/// Three stain vectors and a background: the Ruifrok–Johnston colour deconvolution model.
/// Vectors are normalised to unit length; a missing third vector is the residual (normalised cross
/// product of the first two). With M the 3×3 matrix whose rows are the stains, the per-pixel optical
/// density row vector is od = c·M, so concentrations are c = od·M⁻¹.
/// </summary>
public sealed class StainSet
{
    public string Name { get; }
    public StainVector Stain1 { get; }
    public StainVector Stain2 { get; }
    public StainVector Stain3 { get; }
    public Background Background { get; }

    /// <summary>M⁻¹ indexed [channel, stain].</summary>
    public double[,] Inverse { get; }

    public StainSet(string name, StainVector stain1, StainVector stain2, StainVector? stain3 = null, Background? background = null)
    {
        Name = name;
        Stain1 = stain1.Normalized();
        Stain2 = stain2.Normalized();
        if (Stain1.AngleDegrees(Stain2) < 1e-3)
            throw new ArgumentException($"stains '{name}': {Stain1.Name} and {Stain2.Name} have the same direction, so they are linearly dependent");
        Stain3 = stain3 is null || stain3.Length < 1e-12 ? StainVector.Residual(Stain1, Stain2) : stain3.Normalized();
        Background = background ?? Background.White;
        if (!(Background.R is >= 1 and <= 255 && Background.G is >= 1 and <= 255 && Background.B is >= 1 and <= 255))
            throw new ArgumentException($"stains '{name}': background intensities must be 1 to 255 (8-bit glass)");
        Inverse = Invert(new[,]
        {
            { Stain1.R, Stain1.G, Stain1.B },
            { Stain2.R, Stain2.G, Stain2.B },
            { Stain3.R, Stain3.G, Stain3.B },
        }) ?? throw new ArgumentException($"stains '{name}': the three stain vectors are linearly dependent");
        // Nearly dependent vectors make concentrations explode on noise: refuse them like dependent ones.
        double condition = Frobenius(new[,]
        {
            { Stain1.R, Stain1.G, Stain1.B },
            { Stain2.R, Stain2.G, Stain2.B },
            { Stain3.R, Stain3.G, Stain3.B },
        }) * Frobenius(Inverse);
        if (!(condition <= MaxCondition))
            throw new ArgumentException($"stains '{name}': the stain vectors are nearly linearly dependent (condition number {condition:0}, at most {MaxCondition})");
    }

    /// <summary>Largest accepted condition number (Frobenius) of the stain matrix; H-DAB's is about 7.</summary>
    public const double MaxCondition = 1000;

    private static double Frobenius(double[,] m)
    {
        double s = 0;
        foreach (double v in m)
            s += v * v;
        return Math.Sqrt(s);
    }

    public StainSet WithBackground(Background background) => new(Name, Stain1, Stain2, Stain3, background);

    public StainVector this[int index] => index switch { 0 => Stain1, 1 => Stain2, 2 => Stain3, _ => throw new ArgumentOutOfRangeException(nameof(index)) };

    /// <summary>Concentration of every stain in one RGB pixel (double precision reference path).</summary>
    public (double C1, double C2, double C3) Deconvolve(byte r, byte g, byte b)
    {
        double odR = OpticalDensity.Of(r, Background.R), odG = OpticalDensity.Of(g, Background.G), odB = OpticalDensity.Of(b, Background.B);
        return (odR * Inverse[0, 0] + odG * Inverse[1, 0] + odB * Inverse[2, 0],
                odR * Inverse[0, 1] + odG * Inverse[1, 1] + odB * Inverse[2, 1],
                odR * Inverse[0, 2] + odG * Inverse[1, 2] + odB * Inverse[2, 2]);
    }

    /// <summary>
    /// Per-channel lookup table for one stain: lut[c*256 + v] = OD_c(v) · M⁻¹[c, stain], so that a pixel's
    /// concentration is lut[r] + lut[256+g] + lut[512+b]. Kernels on every engine use this same table.
    /// </summary>
    public float[] ConcentrationLut(int stain) => ChannelLut.Build((c, v) => OpticalDensity.Of(v, Background[c]) * Inverse[c, stain]);

    /// <summary>lut[c*256 + v] = OD_c(v): summed over channels, the total optical density of a pixel.</summary>
    public float[] OpticalDensityLut() => ChannelLut.OpticalDensity(Background);

    private static double[,]? Invert(double[,] m)
    {
        double det = m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1])
                   - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
                   + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]);
        if (Math.Abs(det) < 1e-9)
            return null;
        var inv = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                // Adjugate: cofactor of m[j,i].
                int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
                inv[i, j] = (m[r0, c0] * m[r1, c1] - m[r0, c1] * m[r1, c0]) / det;
            }
        return inv;
    }
}
