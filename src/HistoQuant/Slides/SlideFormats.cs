using HistoQuant.Slides.Dicom;
using HistoQuant.Slides.OpenSlide;
using HistoQuant.Slides.Tiff;

namespace HistoQuant.Slides;

/// <summary>
/// Every slide format, tried in order: the first whose <see cref="ISlideFormat.Detect"/> says yes opens the file.
/// More specific formats come before the ones they are a case of (Aperio and OME before generic TIFF). OpenSlide comes
/// first: its detection (a header read) claims NDPI, MRXS, SCN, BIF, Philips TIFF... before our TIFF parser looks at
/// them (an NDPI is TIFF-like but not a TIFF we can read), and leaves the TIFFs it calls aperio or generic-tiff to us.
/// DICOM comes before the TIFF formats: a dual-personality DICOM-TIFF file (a TIFF header in the DICOM preamble) is
/// read as the DICOM series it belongs to.
/// </summary>
public static class SlideFormats
{
    public static IReadOnlyList<ISlideFormat> All { get; } =
    [
        new OpenSlideFormat(),
        new DicomFormat(),
        new AperioSvsFormat(),
        new OmeTiffFormat(),
        new GenericTiffFormat(),
        new PngFormat(),
        new JpegFormat(),
        new UnreadableVendorFormat(),
    ];

    /// <summary>Extensions that `quantify DIR` picks up.</summary>
    public static IReadOnlyList<string> Extensions { get; } = All.SelectMany(f => f.Extensions).Distinct().ToArray();

    public static bool HasSlideExtension(string path) => Extensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Whether a folder run should measure this file: it has a slide extension and is not a part of a slide measured
    /// through another file (a lower level or thumbnail of a DICOM series stored one file per level).
    /// </summary>
    public static bool IsSlideFile(string path) => HasSlideExtension(path) && !DicomFormat.IsSecondaryFile(path);
}

/// <summary>PNG as a one-level slide (small images: IHC tiles, exported regions).</summary>
public sealed class PngFormat : ISlideFormat
{
    internal static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    public string Name => "image";
    public string Reader => "OpenCV (libpng), whole image in memory";
    public IReadOnlyList<string> Extensions { get; } = [".png"];
    public bool Detect(SlideProbe probe) => probe.Head.StartsWith(Signature);
    public ISlide Open(SlideProbe probe) => ImageFileSlide.Open(probe.Path, "PNG");
}

/// <summary>A plain JPEG as a one-level slide.</summary>
public sealed class JpegFormat : ISlideFormat
{
    public string Name => "image";
    public string Reader => "OpenCV (libjpeg-turbo), whole image in memory";
    public IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg"];
    public bool Detect(SlideProbe probe) => probe.Head is [0xFF, 0xD8, 0xFF, ..];
    public ISlide Open(SlideProbe probe) => ImageFileSlide.Open(probe.Path, "JPEG");
}

/// <summary>Formats nothing here reads (OpenSlide 3.4.1 does not either): recognised by extension, so the error says how to convert.</summary>
public sealed class UnreadableVendorFormat : ISlideFormat
{
    public string Name => "unsupported-vendor";
    public string Reader => "none (convert to OME-TIFF)";
    public IReadOnlyList<string> Extensions { get; } = [".vsi", ".czi", ".isyntax"];
    public bool Detect(SlideProbe probe) => Extensions.Contains(probe.Extension);
    public ISlide Open(SlideProbe probe) =>
        throw new SlideException(probe.Path, $"{probe.Extension} slides cannot be read here; convert to OME-TIFF first (bfconvert -tilex 512 -tiley 512 -pyramid-resolutions 4 -pyramid-scale 2 in{probe.Extension} out.ome.tif, or QuPath's File > Export > OME-TIFF)");
}
