namespace HistoQuant.Slides;

/// <summary>Opens a slide by looking at its first bytes, not its name.</summary>
public static class SlideOpener
{
    public static ISlide Open(string path) => Open(path, out _);

    /// <summary>Opens a slide with the first format of <see cref="SlideFormats.All"/> that recognises it.</summary>
    public static ISlide Open(string path, out ISlideFormat format)
    {
        if (Directory.Exists(path))
            throw new SlideException(path, "is a folder, not a slide");
        if (InputFile.Problem(path) is { } problem)
            throw new SlideException(path, problem);
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
        using var probe = new SlideProbe(path, head[..n].ToArray());
        try
        {
            foreach (var f in SlideFormats.All)
                if (f.Detect(probe))
                {
                    format = f;
                    var slide = f.Open(probe);
                    try
                    {
                        SlideBudget.Check(slide, path);
                    }
                    catch
                    {
                        slide.Dispose();
                        throw;
                    }
                    return slide;
                }
        }
        catch (SlideException)
        {
            throw;
        }
        catch (Exception e) when (e is IOException or OpenCvSharp.OpenCVException or InvalidDataException or OverflowException)
        {
            throw new SlideException(path, $"cannot be read: {e.Message}");
        }
        if (n == 0)
            throw new SlideException(path, "file is empty");
        throw new SlideException(path, "unknown format (expected TIFF, SVS, OME-TIFF, DICOM, an OpenSlide format such as NDPI or MRXS, PNG or JPEG)");
    }
}
