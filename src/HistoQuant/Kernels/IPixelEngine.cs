namespace HistoQuant.Kernels;

/// <summary>One decoded tile handed to an engine: packed RGB rows of <see cref="Stride"/> bytes.</summary>
public readonly ref struct TileView
{
    public ReadOnlySpan<byte> Rgb { get; }
    public int Stride { get; }
    public int Width { get; }
    public int Height { get; }

    public TileView(ReadOnlySpan<byte> rgb, int stride, int width, int height)
    {
        // Kernels read 4 bytes at a time; the last pixel needs one byte of slack after it.
        if (rgb.Length < (long)(height - 1) * stride + width * 3 + 1)
            throw new ArgumentException("tile buffer must hold its pixels plus at least one byte of padding");
        Rgb = rgb;
        Stride = stride;
        Width = width;
        Height = height;
    }
}

/// <summary>
/// Computes per-tile pixel totals. One semantic, several engines (the CPU engine here, ILGPU engines
/// elsewhere); all use the same lookup tables and float arithmetic so they agree to the last pixel.
/// Implementations are safe to call from several threads at once.
/// </summary>
public interface IPixelEngine : IDisposable
{
    /// <summary>What runs the kernels, as reported in results ("cpu-avx2", "cuda:NVIDIA H100"...).</summary>
    string Name { get; }

    PixelSums Measure(TileView tile, TissueSpans tissue, PixelModel model);
}
