using HistoQuant.Slides.Tiff;

namespace HistoQuant.Slides;

/// <summary>
/// One slide format (OpenSlide's `formats[]` is the model): a cheap <see cref="Detect"/> on the file's first bytes
/// (and, for TIFF, its first image directory; for OpenSlide, its own vendor detection), and an <see cref="Open"/>. Adding a format: a class implementing
/// this, and one line in <see cref="SlideFormats.All"/>.
/// </summary>
public interface ISlideFormat
{
    /// <summary>The format's name, as `info` and results.json report it ("aperio-svs").</summary>
    string Name { get; }

    /// <summary>What reads it, for `info`.</summary>
    string Reader { get; }

    /// <summary>File name endings `quantify DIR` picks up for it.</summary>
    IReadOnlyList<string> Extensions { get; }

    bool Detect(SlideProbe probe);

    /// <summary>Opens the slide, or throws a <see cref="SlideException"/> that names the file and the problem.</summary>
    ISlide Open(SlideProbe probe);
}

/// <summary>What the formats look at to recognise a file: its path, first bytes and, for a TIFF, the opened file.</summary>
public sealed class SlideProbe(string path, byte[] head) : IDisposable
{
    private TiffFile? _tiff;
    private bool _tiffOpened;

    public string Path { get; } = path;
    public ReadOnlySpan<byte> Head => head;

    /// <summary>The lower-case extension of the file name (".svs").</summary>
    public string Extension { get; } = System.IO.Path.GetExtension(path).ToLowerInvariant();

    /// <summary>The TIFF container (opened once, shared by the TIFF formats' detection); null when not a TIFF.</summary>
    internal TiffFile? Tiff
    {
        get
        {
            if (!_tiffOpened)
            {
                _tiffOpened = true;
                _tiff = TiffFile.HasTiffSignature(head) ? TiffFile.Open(Path) : null;
            }
            return _tiff;
        }
    }

    /// <summary>The first image of the TIFF (its description tells Aperio from OME), or null when not a TIFF.</summary>
    internal TiffImage? FirstTiffImage => _first ??= Tiff is { } t ? new TiffImage(t, t.Directories[0]) : null;
    private TiffImage? _first;

    /// <summary>Hands the opened TIFF to the slide that keeps it; the probe no longer closes it.</summary>
    internal TiffFile TakeTiff()
    {
        var t = Tiff ?? throw new InvalidOperationException("not a TIFF");
        _tiff = null;
        return t;
    }

    public void Dispose() => _tiff?.Dispose();
}
