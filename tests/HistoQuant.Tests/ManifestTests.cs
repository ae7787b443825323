using HistoQuant.Cli;
using HistoQuant.Study;

namespace HistoQuant.Tests;

public class ManifestTests
{
    [Fact]
    public void ManifestRowsChooseTheirMarkerAndCarryTheirColumns()
    {
        using var tmp = new TempDir();
        File.Copy(Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic", "P01-pre-CD163.tif"), tmp.File("pre.tif"));
        File.Copy(TestData.Wsi("OS-2-vsi.ome.tif"), tmp.File("vsi.ome.tif"));
        File.WriteAllText(tmp.File("study.csv"),
            "slide,patient,timepoint,marker,group,note\n" +
            "pre.tif,P01,T0,cd163,responder,\"fixed, then stained\"\n" +
            "vsi.ome.tif,P02,T0,,non-responder,\n");
        var rows = QuantifyRun.Rows(tmp, "--manifest", tmp.File("study.csv"));
        Assert.Equal(2, rows.Count);
        Assert.Equal(["cd163", "dab-generic"], rows.Select(r => r["marker"]));
        Assert.Equal(["P01", "P02"], rows.Select(r => r["patient"]));
        Assert.Equal("fixed, then stained", rows[0]["note"]);
        Assert.Equal("non-responder", rows[1]["group"]);
        Assert.NotEqual("", rows[0]["positive_cells"]); // cd163 counts cells
        Assert.Equal("", rows[1]["positive_cells"]);    // the default model does not
        Assert.All(rows, r => Assert.Equal("ok", r["status"]));
    }

    [Theory]
    [InlineData("", "manifest is empty")]
    [InlineData("patient,marker\nP1,cd163\n", ":1: no 'slide' column")]
    [InlineData("slide,patient\na.tif,P1,extra\n", ":2: 3 fields, the header has 2")]
    [InlineData("slide,patient\n,P1\n", ":2: the slide is empty")]
    [InlineData("slide,slide\na.tif,b.tif\n", "column 'slide' appears twice")]
    [InlineData("slide,patient\na.tif,P1\na.tif,P2\n", ":3: slide 'a.tif' with marker '' is already listed on line 2")]
    [InlineData("slide,patient\n\"a.tif,P1\n", ":2: a quoted field is not closed")]
    [InlineData("slide\n", "lists no slides")]
    [InlineData("slide,marker\na.tif,cd163\nb.tif,mhcl\n", ":3: unknown marker 'mhcl' (known: ")]
    [InlineData("slide,marker\n\n\"a\nb.tif\",cd163\n\nc.tif,mhcl\n", ":6: unknown marker 'mhcl'")]
    [InlineData("slide;patient\na.tif;P1;extra\n", ":2: 3 fields, the header has 2")]
    [InlineData("slide,patient\na\"b.tif,P1\n", ":2: a quoted field is not closed")]
    public void BadManifestsNameTheFileAndLine(string content, string expected)
    {
        using var tmp = new TempDir();
        string path = tmp.File("bad.csv");
        File.WriteAllText(path, content);
        var e = Assert.Throws<FormatException>(() => Manifest.Load(path));
        Assert.StartsWith(path + ":", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Equal(Cli.Cli.BadArguments, HistoQuantCli.Main(["quantify", "--manifest", path, "--out", tmp.File("out")]));
    }

    [Theory]
    [InlineData(';')]
    [InlineData('\t')]
    public void SemicolonAndTabManifestsAreReadWhenTheHeaderUsesThem(char separator)
    {
        // What Excel writes where the comma is the decimal separator; a comma inside a field stays text.
        using var tmp = new TempDir();
        string path = tmp.File("study.csv");
        File.WriteAllText(path, string.Join(separator, "slide", "patient", "note") + "\n" + string.Join(separator, "a.tif", "P01", "1,5 mm; fixed") .Replace("1,5 mm; fixed", separator == ';' ? "\"1,5 mm; fixed\"" : "1,5 mm; fixed") + "\n");
        var entry = Assert.Single(Manifest.Load(path));
        Assert.EndsWith("a.tif", entry.Slide);
        Assert.Equal("P01", entry.Columns["patient"]);
        Assert.Equal("1,5 mm; fixed", entry.Columns["note"]);
    }

    [Fact]
    public void UnknownMarkerInAManifestIsABadArgument()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("m.csv"), "slide,marker\nx.tif,cd999\n");
        Assert.Equal(Cli.Cli.BadArguments, HistoQuantCli.Main(["quantify", "--manifest", tmp.File("m.csv"), "--out", tmp.File("out")]));
    }

    [Fact]
    public void NoInputsAtAllIsABadArgument()
    {
        using var tmp = new TempDir();
        Assert.Equal(Cli.Cli.BadArguments, HistoQuantCli.Main(["quantify", "--out", tmp.File("out")]));
    }
}
