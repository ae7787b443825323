namespace HistoQuant.Slides.Tiff;

/// <summary>
/// The TIFF-based formats our own TIFF reader serves. Each decides which images form the pyramid and where the
/// pixel size comes from; <see cref="TiffImage"/> decodes the tiles.
/// </summary>
public abstract class TiffFormat : ISlideFormat
{
    public abstract string Name { get; }
    public string Reader => "HistoQuant TIFF reader (JPEG tiles by TurboJPEG, JPEG 2000 by OpenJPEG, others by its own codecs)";
    public abstract IReadOnlyList<string> Extensions { get; }

    public bool Detect(SlideProbe probe) => probe.FirstTiffImage is { } first && Detect(probe.Tiff!, first);

    private protected abstract bool Detect(TiffFile file, TiffImage first);

    public ISlide Open(SlideProbe probe)
    {
        var first = probe.FirstTiffImage!;
        var file = probe.TakeTiff();
        try
        {
            var (levels, meta) = Layout(probe.Path, file, first);
            return TiffSlide.Create(probe.Path, file, Name, levels, meta);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private protected abstract (List<TiffImage> Levels, SlideMetadata Meta) Layout(string path, TiffFile file, TiffImage first);
}

/// <summary>Aperio SVS: the description starts with "Aperio"; thumbnail, label and macro share the chain with the levels.</summary>
public sealed class AperioSvsFormat : TiffFormat
{
    public override string Name => "aperio-svs";
    public override IReadOnlyList<string> Extensions { get; } = [".svs"];
    private protected override bool Detect(TiffFile file, TiffImage first) => (first.Description ?? "").StartsWith("Aperio", StringComparison.Ordinal);

    private protected override (List<TiffImage>, SlideMetadata) Layout(string path, TiffFile file, TiffImage first) =>
        (file.Directories.Select(d => new TiffImage(file, d)).Where(img => img.Tiled && !TiffSlide.IsAssociatedImage(img.Description)).ToList(),
         SlideMetadata.FromAperio(first.Description!));
}

/// <summary>OME-TIFF: OME-XML in the description; reduced levels are SubIFDs of the full-resolution image.</summary>
public sealed class OmeTiffFormat : TiffFormat
{
    public override string Name => "ome-tiff";
    public override IReadOnlyList<string> Extensions { get; } = [".ome.tif", ".ome.tiff"];
    private protected override bool Detect(TiffFile file, TiffImage first) => (first.Description ?? "").Contains("<OME", StringComparison.Ordinal);

    private protected override (List<TiffImage>, SlideMetadata) Layout(string path, TiffFile file, TiffImage first) =>
        ([first, .. file.Directories[0].SubDirectories.Select(d => new TiffImage(file, d))], SlideMetadata.FromOmeXml(first.Description!, path));
}

/// <summary>Any other TIFF: levels from SubIFDs, or from the chain (reduced-resolution images, or images stored alike).</summary>
public sealed class GenericTiffFormat : TiffFormat
{
    public override string Name => "generic-tiff";
    public override IReadOnlyList<string> Extensions { get; } = [".tif", ".tiff", ".btf"];
    private protected override bool Detect(TiffFile file, TiffImage first) => true;

    private protected override (List<TiffImage>, SlideMetadata) Layout(string path, TiffFile file, TiffImage first)
    {
        var dir = file.Directories[0];
        List<TiffImage> levels = [first];
        if (dir.SubDirectories.Count > 0)
            levels.AddRange(dir.SubDirectories.Select(d => new TiffImage(file, d)));
        else
            levels.AddRange(file.Directories.Skip(1).Select(d => new TiffImage(file, d))
                .Where(img => (img.SubfileType & 1) == 1 || img.Tiled == first.Tiled));
        return (levels, TiffSlide.FromTags(file, dir));
    }
}
