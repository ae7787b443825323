using System.CommandLine;
using HistoQuant.Models;
using HistoQuant.Pipeline;
using HistoQuant.Slides;
using HistoQuant.Stains;

namespace HistoQuant.Cli;

/// <summary>`histoquant stains estimate SLIDE... --out FILE.json`: stain vectors and background from the slides' tissue.</summary>
public static class StainsCommand
{
    public static Command Create()
    {
        var slides = new Argument<string[]>("slide") { Description = "Slides stained alike (one batch, one scanner).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Stain file to write (use it with quantify --stains FILE).", Required = true };
        var reference = new Option<string>("--reference") { Description = "Starting stains: names the stains and decides which estimate is which.", DefaultValueFactory = _ => "H-DAB" };
        var mpp = new Option<double?>("--mpp") { Description = "Pixel size for slides that lack one (tissue detection only)." };
        var estimate = new Command("estimate", "Estimate two stain vectors (Macenko) and the glass background from tissue pixels.") { slides, output, reference, mpp };
        estimate.SetAction(parse =>
        {
            var start = StainPresets.Find(parse.GetValue(reference)!) ?? throw new UsageException($"--reference: unknown preset '{parse.GetValue(reference)}'");
            StainSet set;
            try
            {
                set = StainEstimation.FromSlides(parse.GetValue(slides)!, start, parse.GetValue(mpp));
            }
            catch (SlideException e)
            {
                Console.Error.WriteLine($"histoquant: {e.Message}");
                return Cli.SomeFailed;
            }
            catch (InvalidOperationException e)
            {
                throw new UsageException(e.Message);
            }
            var background = set.Background;
            string file = parse.GetValue(output)!;
            HistoQuant.Output.ResultsWriter.WriteAtomically(file, StainFile.ToJson(set));
            Console.Error.WriteLine($"wrote {file}: {set.Stain1.Name} {Fmt(set.Stain1)} ({set.Stain1.AngleDegrees(start.Stain1):0.0}° from {start.Name}), " +
                $"{set.Stain2.Name} {Fmt(set.Stain2)} ({set.Stain2.AngleDegrees(start.Stain2):0.0}°), background {background.R:0} {background.G:0} {background.B:0}");
            return Cli.Ok;
        });
        return new Command("stains", "Stain vectors: estimate them from slides.") { estimate };
    }

    private static string Fmt(StainVector v) => FormattableString.Invariant($"{v.R:0.###} {v.G:0.###} {v.B:0.###}");
}
