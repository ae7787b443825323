using System.Globalization;
using HistoQuant.Cli;

namespace HistoQuant.Tests;

/// <summary>Runs `quantify` in-process and reads its results.csv back, for tests that check numbers.</summary>
public static class QuantifyRun
{
    /// <summary>Runs quantify into a fresh folder under <paramref name="tmp"/>; asserts exit code 0.</summary>
    public static List<Dictionary<string, string>> Rows(TempDir tmp, params string[] args)
    {
        string outDir = tmp.File("out-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(0, HistoQuantCli.Main(["quantify", .. args, "--out", outDir]));
        return ReadCsv(Path.Combine(outDir, "results.csv"));
    }

    public static Dictionary<string, string> Row(TempDir tmp, params string[] args) => Assert.Single(Rows(tmp, args));

    public static List<Dictionary<string, string>> ReadCsv(string path)
    {
        // Read by the same code that reads manifests and results for compare/validate.
        return HistoQuant.Study.CsvTable.Load(path).Rows.Select(r => new Dictionary<string, string>(r.Cells)).ToList();
    }

    public static double Number(Dictionary<string, string> row, string column) => double.Parse(row[column], CultureInfo.InvariantCulture);

    /// <summary>RFC 4180 fields of one line, split by CsvHelper as the tool's reader does.</summary>
    public static string[] ParseCsvLine(string line)
    {
        using var parser = new CsvHelper.CsvParser(new StringReader(line), CultureInfo.InvariantCulture);
        return parser.Read() ? parser.Record! : [];
    }
}
