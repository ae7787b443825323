using System.Diagnostics;
using System.Text.Json;
using HistoQuant.Cli;

namespace HistoQuant.Tests;

/// <summary>Results survive crashes and re-runs: atomic files, finished rows kept, no duplicates.</summary>
public class BatchResumeTests
{
    private static string SyntheticFolder => Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic");

    private static List<JsonElement> Rows(string outDir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json"))).RootElement.EnumerateArray().ToList();

    private static string[] CsvRows(string outDir) => File.ReadAllLines(Path.Combine(outDir, "results.csv")).Skip(1).ToArray();

    [Fact]
    public void ReRunKeepsFinishedRowsAndForceRedoesThem()
    {
        using var tmp = new TempDir();
        string outDir = tmp.File("out");
        Assert.Equal(0, HistoQuantCli.Main(["quantify", SyntheticFolder, "--out", outDir]));
        var first = Rows(outDir).ToDictionary(r => r.GetProperty("slide").GetString()!, r => r.GetProperty("seconds").GetDouble());
        Assert.Equal(4, first.Count);

        // Same parameters: nothing is measured again (the recorded timings are the first run's).
        Assert.Equal(0, HistoQuantCli.Main(["quantify", SyntheticFolder, TestData.Wsi("OS-2-vsi.ome.tif"), "--out", outDir]));
        var second = Rows(outDir);
        Assert.Equal(5, second.Count);
        foreach (var r in second.Where(r => first.ContainsKey(r.GetProperty("slide").GetString()!)))
            Assert.Equal(first[r.GetProperty("slide").GetString()!], r.GetProperty("seconds").GetDouble());

        // Other thresholds: the rows are replaced, not duplicated.
        Assert.Equal(0, HistoQuantCli.Main(["quantify", SyntheticFolder, "--out", outDir, "--weak", "0.3"]));
        var third = Rows(outDir);
        Assert.Equal(5, third.Count);
        Assert.Equal(5, CsvRows(outDir).Length);
        Assert.Equal(4, third.Count(r => r.GetProperty("details").GetProperty("thresholds")[0].GetDouble() == 0.3));

        // --force measures again.
        Assert.Equal(0, HistoQuantCli.Main(["quantify", SyntheticFolder, "--out", outDir, "--weak", "0.3", "--force"]));
        Assert.Equal(5, Rows(outDir).Count);
    }

    [Fact]
    public void ChangedFibreSettingsInTheModelFileAreMeasuredAgain()
    {
        // Same marker id, other fibre scoring: a re-run must not keep the row measured with the old settings.
        using var tmp = new TempDir();
        string outDir = tmp.File("out"), model = tmp.File("mhc1-local.json");
        string slide = Path.Combine(SyntheticFolder, "P01-pre-MHC1.tif");
        var json = TestData.ModelCopy("mhc1", "mhc1-local");
        File.WriteAllText(model, json.ToJsonString());
        Assert.Equal(0, HistoQuantCli.Main(["quantify", slide, "--marker", model, "--out", outDir]));
        double before = Rows(outDir).Single().GetProperty("positive_fibres_pct").GetDouble();

        json["fibres"]!["ring_fraction"] = 0.95;
        File.WriteAllText(model, json.ToJsonString());
        Assert.Equal(0, HistoQuantCli.Main(["quantify", slide, "--marker", model, "--out", outDir]));
        double after = Rows(outDir).Single().GetProperty("positive_fibres_pct").GetDouble();
        Assert.True(after < before - 10, $"ring_fraction 0.95 should lower % positive fibres ({before} -> {after})");
    }

    [Fact]
    public void FailedRowsAreRetriedAndUnreadableResultsAreSetAside()
    {
        using var tmp = new TempDir();
        string outDir = tmp.File("out");
        string slide = tmp.File("later.ome.tif");
        Assert.Equal(1, HistoQuantCli.Main(["quantify", slide, "--out", outDir])); // not there yet
        File.Copy(TestData.Wsi("OS-2-vsi.ome.tif"), slide);
        Assert.Equal(0, HistoQuantCli.Main(["quantify", slide, "--out", outDir]));
        Assert.Equal("ok", Assert.Single(Rows(outDir)).GetProperty("status").GetString());

        File.WriteAllText(Path.Combine(outDir, "results.json"), "{ not json");
        Assert.Equal(0, HistoQuantCli.Main(["quantify", slide, "--out", outDir]));
        Assert.Single(Rows(outDir));
        Assert.Single(Directory.GetFiles(outDir, "results.json.unreadable-*"));
    }

    [Fact]
    public void KilledMidBatchThenReRunFinishesWithoutMissingOrDuplicateRows()
    {
        using var tmp = new TempDir();
        string outDir = tmp.File("out");
        string cli = Path.Combine(AppContext.BaseDirectory, "HistoQuant.Cli.dll");
        // Cells make each slide take long enough to be killed in the middle of the batch.
        string[] args = ["quantify", SyntheticFolder, TestData.Wsi("OS-2-vsi.ome.tif"), TestData.Wsi("OS-2-ndpi.ome.tif"), "--marker", "cd163", "--out", outDir];
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(cli);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using (var child = Process.Start(start)!)
        {
            child.ErrorDataReceived += (_, _) => { };
            child.BeginErrorReadLine();
            string csv = Path.Combine(outDir, "results.csv");
            var clock = Stopwatch.StartNew();
            while (!child.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60) && (!File.Exists(csv) || File.ReadAllLines(csv).Length < 3))
                Thread.Sleep(10);
            if (!child.HasExited)
                child.Kill(entireProcessTree: true); // SIGKILL: no chance to clean up
            child.WaitForExit();
        }
        int before = CsvRows(outDir).Length;
        Assert.InRange(before, 1, 5); // killed with rows written and slides to go
        Assert.Equal(before, Rows(outDir).Count); // the two files agree: each was replaced whole

        Assert.Equal(0, HistoQuantCli.Main(args));
        var rows = Rows(outDir);
        Assert.Equal(6, rows.Count);
        Assert.Equal(6, rows.Select(r => r.GetProperty("slide").GetString()).Distinct().Count());
        Assert.All(rows, r => Assert.Equal("ok", r.GetProperty("status").GetString()));
        Assert.Equal(6, CsvRows(outDir).Length);
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp-*")); // a temporary file left by the kill is cleaned up
    }
}
