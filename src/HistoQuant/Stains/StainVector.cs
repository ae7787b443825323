namespace HistoQuant.Stains;

/// <summary>A stain's optical density per unit concentration in R, G and B (any scale; normalised on use).</summary>
public sealed record StainVector(string Name, double R, double G, double B)
{
    public double Length => Math.Sqrt(R * R + G * G + B * B);

    public double this[int channel] => channel switch { 0 => R, 1 => G, 2 => B, _ => throw new ArgumentOutOfRangeException(nameof(channel)) };

    public StainVector Normalized()
    {
        double n = Length;
        if (!(n > 1e-12) || !double.IsFinite(n))
            throw new ArgumentException($"stain vector '{Name}' ({R}, {G}, {B}) has no length");
        return this with { R = R / n, G = G / n, B = B / n };
    }

    /// <summary>The residual stain QuPath and Ruifrok–Johnston use when only two are given: the normalised cross product.</summary>
    public static StainVector Residual(StainVector a, StainVector b) =>
        new StainVector("Residual", a.G * b.B - a.B * b.G, a.B * b.R - a.R * b.B, a.R * b.G - a.G * b.R).Normalized();

    public double AngleDegrees(StainVector other)
    {
        var a = Normalized();
        var b = other.Normalized();
        double dot = Math.Clamp(a.R * b.R + a.G * b.G + a.B * b.B, -1, 1);
        return Math.Acos(dot) * 180 / Math.PI;
    }
}

/// <summary>Background (glass) intensity per channel, I0 in OD = -log10(I / I0).</summary>
public sealed record Background(double R, double G, double B)
{
    public static readonly Background White = new(255, 255, 255);

    public double this[int channel] => channel switch { 0 => R, 1 => G, 2 => B, _ => throw new ArgumentOutOfRangeException(nameof(channel)) };
}
