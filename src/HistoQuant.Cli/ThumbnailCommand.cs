using System.CommandLine;
using HistoQuant.Output;
using HistoQuant.Slides;

namespace HistoQuant.Cli;

public static class ThumbnailCommand
{
    public static Command Create()
    {
        var slideArg = new Argument<string>("slide") { Description = "A slide file." };
        var maxSize = new Option<int>("--max-size") { Description = "Longest side of the thumbnail in pixels.", DefaultValueFactory = _ => 1024 };
        var output = new Option<string>("--out") { Description = "PNG file to write.", Required = true };
        var command = new Command("thumbnail", "Write an RGB overview of a slide in true colour.") { slideArg, maxSize, output };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(slideArg)!;
            int size = parse.GetValue(maxSize);
            if (size < 1 || size > 16384)
                throw new UsageException($"--max-size must be between 1 and 16384 (got {size})");
            try
            {
                using var slide = SlideOpener.Open(path);
                var (w, h) = SlideOverview.FitWithin(slide.Levels[0], size);
                PngFile.Write(SlideOverview.Render(slide, w, h), parse.GetValue(output)!);
                return Cli.Ok;
            }
            catch (Exception e) when (e is SlideException or IOException)
            {
                Console.Error.WriteLine($"histoquant: {e.Message}");
                return Cli.SomeFailed;
            }
        });
        return command;
    }
}
