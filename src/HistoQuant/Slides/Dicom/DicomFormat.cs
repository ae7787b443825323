namespace HistoQuant.Slides.Dicom;

/// <summary>DICOM WSI (the "DICM" preamble), read by our own parser; frames decoded by TurboJPEG or OpenJPEG.</summary>
public sealed class DicomFormat : ISlideFormat
{
    public string Name => "dicom-wsi";
    public string Reader => "HistoQuant DICOM reader (JPEG frames by TurboJPEG, JPEG 2000 by OpenJPEG, uncompressed by its own code)";
    public IReadOnlyList<string> Extensions { get; } = [".dcm"];
    public bool Detect(SlideProbe probe) => probe.Head.Length >= 132 && probe.Head[128..132].SequenceEqual("DICM"u8);
    public ISlide Open(SlideProbe probe) => DicomSlide.Open(probe.Path);

    /// <summary>Whether a folder run should leave this file out: a lower level or thumbnail of a series measured through its level 0.</summary>
    public static bool IsSecondaryFile(string path) =>
        path.EndsWith(".dcm", StringComparison.OrdinalIgnoreCase) && DicomSeries.IsSecondaryLevel(path);
}
