using System.CommandLine;
using System.Globalization;
using HistoQuant.Output;
using HistoQuant.Slides;

namespace HistoQuant.Cli;

public static class ViewCommand
{
    public static Command Create()
    {
        var slideArg = new Argument<string>("slide") { Description = "A slide measured into --results." };
        var results = new Option<string>("--results") { Description = "The folder 'quantify --out' wrote (results.json; detections with --detections).", Required = true };
        var marker = new Option<string?>("--marker") { Description = "Which marker's detections, when the slide was measured with several." };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var command = new Command("view", "Write a zoomable viewer of a measured slide (deep-zoom tiles, its detections, OpenSeadragon) to open from disk.")
        {
            slideArg, results, marker, threads,
        };
        command.SetAction(parse =>
        {
            string slide = parse.GetValue(slideArg)!;
            try
            {
                var v = ViewerExport.ForResults(slide, parse.GetValue(results)!, parse.GetValue(marker), parse.GetValue(threads));
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{v.Pyramid.TilesWritten} tiles ({v.Pyramid.TilesSkipped} of glass left out), {v.Objects} objects, {v.Bytes / 1e6:0.#} MB in {v.Seconds:0.#} s"));
                Console.WriteLine(v.Html);
                return Cli.Ok;
            }
            catch (Exception e) when (e is SlideException or IOException or FormatException)
            {
                Console.Error.WriteLine($"histoquant: {e.Message}");
                return Cli.SomeFailed;
            }
        });
        return command;
    }
}
