using System.Security.Cryptography;
using System.Text.Json;
using HistoQuant.Stains;
using HistoQuant.Synth;

namespace HistoQuant.Tests;

/// <summary>Can a row be trusted: the stain check, the warnings and the provenance in results.json.</summary>
public class TrustTests
{
    private static Dictionary<string, string> Row(TempDir tmp, string slide, params string[] more) => QuantifyRun.Row(tmp, [slide, .. more]);

    private static string Synth(TempDir tmp, SynthOptions o, string name)
    {
        string path = tmp.File(name);
        SyntheticSlideWriter.Write(o, path);
        return path;
    }

    [Theory]
    [InlineData("cmu-1-small-region.svs", "cd163", "mismatch")] // H&E: eosin reads as DAB
    [InlineData("tcga-cr-7395-01a-01-ts1.svs", "dab-generic", "mismatch")]
    [InlineData("OS-2-ndpi.ome.tif", "ki67", "ok")]
    [InlineData("OS-2-vsi.ome.tif", "cd163", "ok")]
    public void RealSlidesAreCheckedAgainstTheModelsStains(string slide, string marker, string verdict)
    {
        using var tmp = new TempDir();
        var row = Row(tmp, TestData.Wsi(slide), "--marker", marker, "--mpp", "0.5");
        Assert.Equal("ok", row["status"]);
        Assert.Equal(verdict, row["stain_check"]);
        if (verdict == "mismatch")
            Assert.Contains("eosin read as DAB", row["warnings"]);
        else
            Assert.DoesNotContain("chromogen on this slide", row["warnings"]);
    }

    [Fact]
    public void RealHeMuscleMeasuredAsMhcClassIIsAMismatch()
    {
        using var tmp = new TempDir();
        var row = Row(tmp, Path.Combine(TestData.SharedData, "muscle", "he-muscle-01.tif"), "--marker", "mhc1", "--mpp", "0.2765");
        Assert.Equal("mismatch", row["stain_check"]);
    }

    [Fact]
    public void GeneratedSlidesStainedAsTheModelSaysAreOkAndHeIsNot()
    {
        using var tmp = new TempDir();
        var small = new SynthOptions { Width = 1536, Height = 1152, Mpp = 0.5, Seed = 11 };
        Assert.Equal("ok", Row(tmp, Synth(tmp, small, "hdab.tif"), "--marker", "cd163")["stain_check"]);
        // DAB-negative: nothing to judge the chromogen by, and a negative slide is a legitimate result.
        var negative = Row(tmp, Synth(tmp, small with { DabScale = 0 }, "negative.tif"), "--marker", "cd163");
        Assert.Equal("ok", negative["stain_check"]);
        // The same tissue rendered in hematoxylin and eosin.
        var he = Row(tmp, Synth(tmp, small with { Stains = StainPresets.HE }, "he.tif"), "--marker", "cd163");
        Assert.Equal("mismatch", he["stain_check"]);
        Assert.Equal("", Row(tmp, Synth(tmp, small with { Stains = StainPresets.HE }, "he2.tif"), "--marker", "cd163", "--no-stain-check")["stain_check"]);
    }

    [Fact]
    public void MostOfTheTissuePositiveIsAWarning()
    {
        using var tmp = new TempDir();
        var row = Row(tmp, TestData.Ihc("skimage-ihc.png"), "--mpp", "0.5");
        Assert.True(QuantifyRun.Number(row, "positive_area_pct") > 50);
        Assert.Contains("of the tissue is positive", row["warnings"]);
    }

    [Fact]
    public void ResultsJsonSaysHowTheRowWasMade()
    {
        using var tmp = new TempDir();
        string slide = TestData.Wsi("OS-2-vsi.ome.tif");
        string outDir = tmp.File("out");
        Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["quantify", slide, "--marker", "ki67", "--out", outDir]));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        var p = doc.RootElement[0].GetProperty("provenance");
        Assert.Matches(@"^\d+\.\d+\.\d+", p.GetProperty("tool_version").GetString());
        Assert.StartsWith("histoquant quantify ", p.GetProperty("command_line").GetString());
        Assert.Contains("--marker ki67", p.GetProperty("command_line").GetString());
        Assert.True(DateTimeOffset.TryParse(p.GetProperty("started").GetString(), out _));
        Assert.Equal(new FileInfo(slide).Length, p.GetProperty("file_bytes").GetInt64());
        Assert.Equal(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(slide))).ToLowerInvariant(), p.GetProperty("sha256").GetString());
        Assert.Equal("ki67", p.GetProperty("model").GetProperty("id").GetString());
        Assert.Equal("nucleus", p.GetProperty("model").GetProperty("compartment").GetString());
        var details = doc.RootElement[0].GetProperty("details");
        Assert.Equal(2, details.GetProperty("estimated_stain_vectors").GetArrayLength());
        Assert.True(details.GetProperty("chromogen_angle_degrees").GetDouble() < 18);
    }
}
