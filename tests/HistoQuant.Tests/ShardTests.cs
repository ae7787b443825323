using HistoQuant.Cli;
using HistoQuant.Study;

namespace HistoQuant.Tests;

public class ShardTests
{
    [Fact]
    public void SharesAreDisjointAndCoverTheBatch()
    {
        var items = Enumerable.Range(0, 11).ToList();
        var shares = Enumerable.Range(1, 3).Select(k => new Shard(k, 3).Take(items).ToList()).ToList();
        Assert.Equal(items, shares.SelectMany(s => s).Order());
        Assert.Equal([0, 3, 6, 9], shares[0]);
        Assert.Equal(items, Shard.All.Take(items));
    }

    [Theory]
    [InlineData("0/3")]
    [InlineData("4/3")]
    [InlineData("1")]
    [InlineData("a/b")]
    public void BadShardIsABadArgument(string text)
    {
        Assert.Throws<FormatException>(() => Shard.Parse(text));
        using var tmp = new TempDir();
        Assert.Equal(Cli.Cli.BadArguments, HistoQuantCli.Main(["quantify", TestData.Wsi("OS-2-vsi.ome.tif"), "--shard", text, "--out", tmp.File("o")]));
    }

    [Fact]
    public void MergedShardsEqualOneRun()
    {
        using var tmp = new TempDir();
        string folder = Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic");
        string[] inputs = [folder, TestData.Wsi("OS-2-vsi.ome.tif")];
        Assert.Equal(0, HistoQuantCli.Main(["quantify", .. inputs, "--out", tmp.File("whole")]));
        for (int k = 1; k <= 2; k++)
            Assert.Equal(0, HistoQuantCli.Main(["quantify", .. inputs, "--shard", $"{k}/2", "--out", tmp.File($"part{k}")]));
        Assert.Equal(0, HistoQuantCli.Main(["merge", tmp.File("part1"), tmp.File("part2"), "--out", tmp.File("merged")]));
        string Numbers(Dictionary<string, string> r) => string.Join(",", r.Where(p => p.Key != "seconds").Select(p => p.Value));
        var whole = QuantifyRun.ReadCsv(tmp.File("whole/results.csv")).ToDictionary(r => r["slide"], Numbers);
        var merged = QuantifyRun.ReadCsv(tmp.File("merged/results.csv")).ToDictionary(r => r["slide"], Numbers);
        Assert.Equal(5, merged.Count);
        Assert.Equal(whole.ToList(), merged.ToList()); // same rows, in the order the slides were given
        Assert.Equal(Cli.Cli.BadArguments, HistoQuantCli.Main(["merge", tmp.File("nowhere"), "--out", tmp.File("m2")]));
    }
}
