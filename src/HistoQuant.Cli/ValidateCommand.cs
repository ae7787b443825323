using System.CommandLine;
using HistoQuant.Output;
using HistoQuant.Study;
using HistoQuant.Study.Reports;

namespace HistoQuant.Cli;

/// <summary>`histoquant validate RESULTS.csv --manual MANUAL.csv --out DIR`: agreement with a pathologist's scores.</summary>
public static class ValidateCommand
{
    public static Command Create()
    {
        var results = new Argument<string>("results") { Description = "results.csv from quantify." };
        var manual = new Option<string>("--manual") { Description = "CSV with a slide column (optionally marker) and manual scores.", Required = true };
        var pairs = new Option<string[]>("--compare") { Description = "MANUAL_COLUMN=TOOL_MEASURE (repeatable); default: columns named like a tool measure, optionally prefixed manual_.", AllowMultipleArgumentsPerToken = true };
        var log = new Option<bool>("--ba-log") { Description = "Bland–Altman on the log scale (bias and limits as ratios tool / manual)." };
        var output = new Option<string>("--out") { Description = "Folder for agreement.csv, plots/ and report.html.", Required = true };
        var command = new Command("validate", "Agreement between the tool's measures and manual scores.") { results, manual, pairs, log, output };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(results)!, manualPath = parse.GetValue(manual)!;
            var report = Cli.Load(() =>
            {
                var table = CsvTable.Load(path, "slide", "marker");
                var scores = CsvTable.Load(manualPath, "slide");
                return Validation.Validate(table, scores, Validation.Pairings(scores, parse.GetValue(pairs) ?? []), parse.GetValue(log));
            });
            if (report.Rows.Count == 0)
                throw new UsageException($"{manualPath}: no slide matched a measured result in {path}");
            string folder = parse.GetValue(output)!;
            StudyFiles.WriteValidation(report, folder, [path, manualPath]);
            foreach (var w in report.Warnings)
                Console.Error.WriteLine($"note: {w}");
            Console.Error.WriteLine($"{Plural(report.Rows.Count, "comparison")} over {Plural(report.Points.Select(p => p.Slide).Distinct().Count(), "slide")}; {Path.Combine(folder, "agreement.csv")} and {Path.Combine(folder, "report.html")}");
            return Cli.Ok;
        });
        return command;
    }

    private static string Plural(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";
}
