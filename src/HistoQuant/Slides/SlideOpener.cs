using HistoQuant.Slides.Tiff;

namespace HistoQuant.Slides;

/// <summary>Opens a slide by looking at its first bytes, not its name.</summary>
public static class SlideOpener
{
    internal static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private static readonly string[] OpenSlideOnly = [".mrxs", ".vms", ".vmu", ".scn", ".bif", ".vsi", ".ndpi", ".czi", ".isyntax"];

    /// <summary>Extensions that `quantify DIR` picks up.</summary>
    public static readonly string[] SlideExtensions = [".svs", ".tif", ".tiff", ".ome.tif", ".ome.tiff", ".btf", ".png", ".jpg", ".jpeg", ".ndpi", ".mrxs", ".scn", ".bif", ".vsi", ".dcm"];

    public static ISlide Open(string path)
    {
        if (Directory.Exists(path))
            throw new SlideException(path, "is a folder, not a slide");
        if (!File.Exists(path))
            throw new SlideException(path, "file not found");
        Span<byte> head = stackalloc byte[132];
        int n;
        try
        {
            using var fs = File.OpenRead(path);
            n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (IOException e)
        {
            throw new SlideException(path, $"cannot be read: {e.Message}");
        }
        catch (UnauthorizedAccessException)
        {
            throw new SlideException(path, "cannot be read: permission denied");
        }
        head = head[..n];
        try
        {
            if (TiffFile.HasTiffSignature(head))
                return TiffSlide.Open(path);
            if (head.StartsWith(PngSignature))
                return ImageFileSlide.Open(path, "PNG");
            if (head.Length >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF)
                return ImageFileSlide.Open(path, "JPEG");
            if (head.Length >= 132 && head[128] == 'D' && head[129] == 'I' && head[130] == 'C' && head[131] == 'M')
                throw new SlideException(path, "DICOM whole-slide images are not supported yet");
        }
        catch (SlideException)
        {
            throw;
        }
        catch (Exception e) when (e is IOException or OpenCvSharp.OpenCVException or InvalidDataException or OverflowException)
        {
            throw new SlideException(path, $"cannot be read: {e.Message}");
        }
        string ext = System.IO.Path.GetExtension(path).ToLowerInvariant();
        if (OpenSlideOnly.Contains(ext))
            throw new SlideException(path, $"{ext} slides are not supported yet (convert to OME-TIFF, e.g. with bfconvert or QuPath)");
        if (n == 0)
            throw new SlideException(path, "file is empty");
        throw new SlideException(path, "unknown format (expected TIFF, SVS, OME-TIFF, PNG or JPEG)");
    }
}
