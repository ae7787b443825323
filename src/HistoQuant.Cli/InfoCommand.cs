using System.CommandLine;
using System.Globalization;
using HistoQuant.Slides;

namespace HistoQuant.Cli;

public static class InfoCommand
{
    public static Command Create()
    {
        var slideArg = new Argument<string>("slide") { Description = "A slide file (SVS, OME-TIFF, TIFF, DICOM, NDPI, MRXS and the other OpenSlide formats, PNG, JPEG)." };
        var command = new Command("info", "Print a slide's format, pyramid levels, tile size, pixel size and magnification.") { slideArg };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(slideArg)!;
            try
            {
                using var slide = SlideOpener.Open(path, out var format);
                Console.Write(Describe(slide, format));
                using var engine = HistoQuant.Kernels.EngineFactory.Create("auto", out string? gpuProblem);
                Console.WriteLine($"engine:        {engine.Name} (what --device auto would use{(gpuProblem is null ? "" : $"; GPU: {gpuProblem}")})");
                return Cli.Ok;
            }
            catch (SlideException e)
            {
                Console.Error.WriteLine($"histoquant: {e.Message}");
                return Cli.SomeFailed;
            }
        });
        return command;
    }

    public static string Describe(ISlide slide, ISlideFormat? format = null)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        var l0 = slide.Levels[0];
        sb.AppendLine($"file:          {slide.Path}");
        sb.AppendLine($"format:        {slide.Format}");
        if (format is not null)
            sb.AppendLine($"reader:        {format.Reader}");
        sb.AppendLine(string.Create(c, $"size:          {l0.Width} x {l0.Height} px"));
        sb.AppendLine(slide.MppX is { } mx && slide.MppY is { } my
            ? string.Create(c, $"mpp:           {mx:0.######} x {my:0.######} µm/px")
            : "mpp:           unknown (pass --mpp to quantify)");
        sb.AppendLine(slide.Magnification is { } mag ? string.Create(c, $"magnification: {mag:0.##}x") : "magnification: unknown");
        sb.AppendLine(string.Create(c, $"tile size:     {l0.TileWidth} x {l0.TileHeight} px"));
        sb.AppendLine($"levels:        {slide.Levels.Count}");
        foreach (var l in slide.Levels)
            sb.AppendLine(string.Create(c, $"  level {l.Index}: {l.Width} x {l.Height} px, downsample {l.Downsample:0.####}, tiles {l.TileWidth} x {l.TileHeight} ({l.TilesAcross} x {l.TilesDown})"));
        foreach (var (k, v) in slide.Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
            sb.AppendLine($"  {k} = {v}");
        return sb.ToString();
    }
}
