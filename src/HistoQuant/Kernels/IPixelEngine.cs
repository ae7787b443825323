namespace HistoQuant.Kernels;

/// <summary>One decoded tile handed to an engine: packed RGB rows of <see cref="Stride"/> bytes.</summary>
public readonly ref struct TileView
{
    /// <summary>Bytes a tile buffer must have after its last pixel.</summary>
    public const int Padding = 8;

    public ReadOnlySpan<byte> Rgb { get; }
    public int Stride { get; }
    public int Width { get; }
    public int Height { get; }

    public TileView(ReadOnlySpan<byte> rgb, int stride, int width, int height)
    {
        // The AVX2 kernel loads 32 bytes for 8 pixels (24 bytes), so the last pixels need 8 bytes of slack after them.
        if (rgb.Length < (long)(height - 1) * stride + width * 3 + Padding)
            throw new ArgumentException($"tile buffer must hold its pixels plus at least {Padding} bytes of padding");
        Rgb = rgb;
        Stride = stride;
        Width = width;
        Height = height;
    }
}

/// <summary>A decoded tile waiting in a batch: its pixels (a pooled buffer) and its tissue runs.</summary>
public readonly record struct TileJob(byte[] Rgb, int Stride, int Width, int Height, TissueSpans Tissue)
{
    public TileView View => new(Rgb, Stride, Width, Height);
}

/// <summary>
/// Computes per-tile pixel totals. One semantic, several engines (the CPU engine, ILGPU engines); all use
/// the same lookup table and float arithmetic per pixel, so threshold counts agree to the pixel.
/// Implementations are safe to call from several threads at once.
/// </summary>
public interface IPixelEngine : IDisposable
{
    /// <summary>What runs the kernels, as reported in results ("cpu-avx2", "cuda:NVIDIA H100"...).</summary>
    string Name { get; }

    /// <summary>
    /// Tiles per call that keep the engine busy. 1 means the engine measures on the calling thread and the
    /// pipeline calls it from each decode worker; larger values make the pipeline gather batches.
    /// </summary>
    int BatchSize { get; }

    /// <summary>
    /// How many batches the engine can work on at once (device streams): the pipeline keeps that many
    /// <see cref="Measure"/> calls going, so one batch's upload overlaps another's kernel.
    /// </summary>
    int BatchesInFlight => 1;

    /// <summary>Measures every tile of the batch; results[i] belongs to tiles[i].</summary>
    void Measure(IReadOnlyList<TileJob> tiles, PixelModel model, Span<PixelSums> results);

    /// <summary>
    /// Per-pixel counterstain and chromogen concentrations of one tile, row-major without padding
    /// (Width × Height each), for stages that need planes: cell detection, fibres, overlays.
    /// </summary>
    void Deconvolve(TileJob tile, PixelModel model, Span<float> counterstain, Span<float> chromogen);
}
