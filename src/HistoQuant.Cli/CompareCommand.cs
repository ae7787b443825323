using System.CommandLine;
using HistoQuant.Output;
using HistoQuant.Study;
using HistoQuant.Study.Reports;

namespace HistoQuant.Cli;

/// <summary>`histoquant compare RESULTS.csv --pre T0 --post T1 [--group-col group] [--clinical FILE.csv] --out DIR`.</summary>
public static class CompareCommand
{
    public static Command Create()
    {
        var results = new Argument<string>("results") { Description = "results.csv from quantify (with patient and timepoint columns from the manifest)." };
        var pre = new Option<string>("--pre") { Description = "Timepoint value of the baseline biopsies.", Required = true };
        var post = new Option<string>("--post") { Description = "Timepoint value of the follow-up biopsies.", Required = true };
        var group = new Option<string?>("--group-col") { Description = "Column with two groups (e.g. responder / non-responder) to compare." };
        var clinical = new Option<string?>("--clinical") { Description = "CSV with a patient column and numeric clinical variables to correlate with each change." };
        var clinicalColumns = new Option<string[]>("--clinical-col") { Description = "Clinical columns to use (default: every numeric one).", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "Folder for pairs.csv, summary.csv, plots/ and report.html.", Required = true };
        var command = new Command("compare", "Pre vs post comparison per patient and marker, with paired and group tests.")
        {
            results, pre, post, group, clinical, clinicalColumns, output,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(results)!;
            CsvTable? table = null;
            var comparison = Cli.Load(() =>
            {
                table = CsvTable.Load(path, "slide", "marker");
                var clinicalTable = parse.GetValue(clinical) is { } c ? CsvTable.Load(c, "patient") : null;
                return PrePostComparison.Compare(table, parse.GetValue(pre)!, parse.GetValue(post)!, parse.GetValue(group), clinicalTable, parse.GetValue(clinicalColumns));
            });
            if (comparison.Pairs.Count == 0)
            {
                var found = table!.Has("timepoint") ? table.Rows.Select(r => r["timepoint"]).Where(t => t.Length > 0).Distinct().Order().ToList() : [];
                throw new UsageException($"{path}: no patient has both a '{parse.GetValue(pre)}' and a '{parse.GetValue(post)}' slide with the same marker " +
                    (found.Count > 0 ? $"(timepoints found: {string.Join(", ", found)})" : "(no timepoint values found)"));
            }
            // Stain drift between a patient's biopsies looks like a treatment effect: say so in the report.
            if (File.Exists(QcCommand.JsonOf(path)))
            {
                var qc = StainQc.Compute(Cli.Load(() => QcCommand.ReadRows(QcCommand.JsonOf(path))), parse.GetValue(pre), parse.GetValue(post));
                comparison.Warnings.AddRange(qc.Pairs.SelectMany(p => p.Flags.Select(f => $"stain QC, {p.Patient} {p.Marker}: {f}")));
            }
            string folder = parse.GetValue(output)!;
            StudyFiles.WriteComparison(comparison, parse.GetValue(pre)!, parse.GetValue(post)!, parse.GetValue(group), folder,
                new[] { path, parse.GetValue(clinical) }.OfType<string>().ToList());
            foreach (var w in comparison.Warnings)
                Console.Error.WriteLine($"note: {w}");
            int patients = comparison.Pairs.Select(p => (p.Patient, p.Marker)).Distinct().Count();
            Console.Error.WriteLine($"{patients} patient-marker pairs, {comparison.Summary.Count} measures; {Path.Combine(folder, "summary.csv")} and {Path.Combine(folder, "report.html")}");
            return Cli.Ok;
        });
        return command;
    }
}
