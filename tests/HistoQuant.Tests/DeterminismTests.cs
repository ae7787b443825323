using HistoQuant.Cli;

namespace HistoQuant.Tests;

public class DeterminismTests
{
    private static string[] Numbers(string outDir)
    {
        // Every cell but the wall time (text cells may hold commas: read as CSV).
        return QuantifyRun.ReadCsv(Path.Combine(outDir, "results.csv"))
            .Select(r => string.Join('|', r.Where(c => c.Key != "seconds").Select(c => $"{c.Key}={c.Value}"))).ToArray();
    }

    [Fact]
    public void SameInputGivesIdenticalNumbersWhateverTheThreadCount()
    {
        using var tmp = new TempDir();
        string slide = Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic", "P01-pre-CD163.tif");
        string[] common = ["quantify", slide, TestData.Wsi("cmu-1-small-region.svs"), "--marker", "cd163"];
        Assert.Equal(0, HistoQuantCli.Main([.. common, "--threads", "1", "--out", tmp.File("a")]));
        Assert.Equal(0, HistoQuantCli.Main([.. common, "--threads", "3", "--out", tmp.File("b")]));
        Assert.Equal(0, HistoQuantCli.Main([.. common, "--threads", "2", "--out", tmp.File("c"), "--force"]));
        Assert.Equal(Numbers(tmp.File("a")), Numbers(tmp.File("b")));
        Assert.Equal(Numbers(tmp.File("a")), Numbers(tmp.File("c")));
    }
}
