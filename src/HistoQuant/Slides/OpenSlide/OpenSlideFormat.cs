namespace HistoQuant.Slides.OpenSlide;

/// <summary>
/// Formats only OpenSlide reads here: Hamamatsu NDPI/VMS/VMU, MIRAX (MRXS), Leica SCN, Ventana BIF, Philips TIFF,
/// Sakura SVSLIDE, Trestle. It is tried first in <see cref="SlideFormats.All"/>; the TIFFs OpenSlide calls "aperio" or
/// "generic-tiff" stay with our own reader, which is faster and stricter (and reads what OpenSlide 3.4.1 does not:
/// OME-TIFF pyramids, RGB-photometric JPEG tiles).
/// </summary>
public sealed class OpenSlideFormat : ISlideFormat
{
    /// <summary>OpenSlide's vendors that our TIFF reader serves instead.</summary>
    private static readonly string[] OursInstead = ["aperio", "generic-tiff"];

    public string Name => "openslide";
    public string Reader => OpenSlideLibrary.Problem is null
        ? $"OpenSlide {OpenSlideLibrary.Version} (system {OpenSlideLibrary.File})"
        : $"OpenSlide (not available: {OpenSlideLibrary.Problem})";

    public IReadOnlyList<string> Extensions { get; } = [".ndpi", ".vms", ".vmu", ".mrxs", ".scn", ".bif", ".svslide"];

    /// <summary>
    /// OpenSlide's own detection (it reads a header or the first TIFF directory). Without the library, the extension
    /// alone, so that Open can say what to install.
    /// </summary>
    public bool Detect(SlideProbe probe)
    {
        if (OpenSlideLibrary.Problem is not null)
            return Extensions.Contains(probe.Extension);
        if (OpenSlideLibrary.DetectVendor(probe.Path) is { } vendor)
            return !OursInstead.Contains(vendor);
        // A file named like an OpenSlide slide that OpenSlide does not recognise still gets an error that says so.
        return Extensions.Contains(probe.Extension);
    }

    public ISlide Open(SlideProbe probe)
    {
        if (OpenSlideLibrary.Problem is { } problem)
            throw new SlideException(probe.Path, $"{probe.Extension} slides are read through OpenSlide, but {problem}");
        if (OpenSlideLibrary.DetectVendor(probe.Path) is not { } vendor)
            throw new SlideException(probe.Path, probe.Extension == ".mrxs"
                ? "OpenSlide does not recognise it as a MIRAX slide (the folder of the same name with Slidedat.ini must lie next to it)"
                : $"OpenSlide does not recognise it as a {probe.Extension} slide");
        return OpenSlideSlide.Open(probe.Path, vendor);
    }
}
