using System.CommandLine;
using HistoQuant.Output;
using HistoQuant.Pipeline;

namespace HistoQuant.Cli;

/// <summary>`histoquant merge DIR... --out DIR`: joins the results of shards (or of separate runs) into one table.</summary>
public static class MergeCommand
{
    public static Command Create()
    {
        var folders = new Argument<string[]>("folder") { Description = "Result folders (each with results.json).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Folder for the merged results.csv and results.json.", Required = true };
        var command = new Command("merge", "Join result folders (shards of one batch) into one results.csv/results.json.") { folders, output };
        command.SetAction(parse =>
        {
            var merged = new List<SlideResult>();
            foreach (var folder in parse.GetValue(folders)!)
            {
                string json = Path.Combine(folder, "results.json");
                if (!File.Exists(json))
                    throw new UsageException($"{folder}: no results.json here");
                try
                {
                    merged.AddRange(ResultsWriter.ReadJson(json));
                }
                catch (System.Text.Json.JsonException e)
                {
                    throw new UsageException($"{json}: not readable as results ({e.Message})");
                }
            }
            // The same slide and marker in two folders: the later folder's row wins, so re-runs can be merged over.
            using var writer = new ResultsWriter(parse.GetValue(output)!);
            foreach (var row in merged)
                writer.Add(row);
            // Shards of one batch (every position distinct) go back into the order the slides were given; folders of
            // separate runs (positions repeat) keep folder order.
            var orders = writer.Results.Select(r => r.InputOrder).ToList();
            if (orders.All(o => o is not null) && orders.Distinct().Count() == orders.Count)
                writer.Reorder(r => r.InputOrder!.Value);
            Console.Error.WriteLine($"merged {merged.Count} rows into {writer.Results.Count} in {writer.CsvPath}");
            return Cli.Ok;
        });
        return command;
    }
}
