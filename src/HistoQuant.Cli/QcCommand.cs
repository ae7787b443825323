using System.CommandLine;
using HistoQuant.Output;
using HistoQuant.Study;
using HistoQuant.Study.Reports;

namespace HistoQuant.Cli;

/// <summary>`histoquant qc RESULTS --out DIR`: cohort stain QC (outlying slides, drift between pre and post).</summary>
public static class QcCommand
{
    public static Command Create()
    {
        var results = new Argument<string>("results") { Description = "results.csv or results.json from quantify, or their folder (results.json is read)." };
        var pre = new Option<string?>("--pre") { Description = "Timepoint of the first biopsy (with --post: flag pairs whose staining differs)." };
        var post = new Option<string?>("--post") { Description = "Timepoint of the second biopsy." };
        var output = new Option<string>("--out") { Description = "Folder for qc.csv, qc_pairs.csv, plots/ and qc.html.", Required = true };
        var command = new Command("qc", "Stain QC of a batch: slides whose staining is far from the cohort's, and pre/post pairs stained differently.") { results, pre, post, output };
        command.SetAction(parse =>
        {
            string json = JsonOf(parse.GetValue(results)!);
            if ((parse.GetValue(pre) is null) != (parse.GetValue(post) is null))
                throw new UsageException("--pre and --post go together");
            var rows = Cli.Load(() => ReadRows(json));
            var qc = StainQc.Compute(rows, parse.GetValue(pre), parse.GetValue(post));
            if (qc.Slides.Count == 0)
                throw new UsageException($"{json}: no measured slide to check");
            string folder = parse.GetValue(output)!;
            StudyFiles.WriteStainQc(qc, parse.GetValue(pre), parse.GetValue(post), folder, [json]);
            int flagged = qc.Slides.Count(s => s.Flags.Count > 0) + qc.Pairs.Count(p => p.Flags.Count > 0);
            Console.Error.WriteLine($"{qc.Slides.Count} slide(s), {qc.Pairs.Count} pair(s), {flagged} flagged; {Path.Combine(folder, "qc.csv")} and {Path.Combine(folder, "qc.html")}");
            return Cli.Ok;
        });
        return command;
    }

    /// <summary>results.json beside a results.csv, inside a folder, or the file itself.</summary>
    public static string JsonOf(string path) =>
        Directory.Exists(path) ? Path.Combine(path, "results.json")
        : path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? Path.ChangeExtension(path, ".json")
        : path;

    public static List<HistoQuant.Pipeline.SlideResult> ReadRows(string json)
    {
        if (!File.Exists(json))
            throw new FormatException($"{json}: not found (stain QC reads the results.json that quantify writes beside results.csv)");
        try
        {
            return ResultsWriter.ReadJson(json);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new FormatException($"{json}: not readable as results ({e.Message})");
        }
    }
}
