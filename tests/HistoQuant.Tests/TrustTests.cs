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
    public void RealHeMuscleIsAMismatchForMhcClassIAndOkForMuscleHe()
    {
        using var tmp = new TempDir();
        string slide = Path.Combine(TestData.SharedData, "muscle", "he-muscle-01.tif");
        Assert.Equal("mismatch", Row(tmp, slide, "--marker", "mhc1", "--mpp", "0.2765")["stain_check"]);
        var he = Row(tmp, slide, "--marker", "muscle-he", "--mpp", "0.2765");
        Assert.Equal("ok", he["stain_check"]);
        // Eosin covers most of an H&E section; with no grading that is no reason for a warning.
        Assert.DoesNotContain("of the tissue is positive", he["warnings"]);
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

/// <summary>Cohort stain QC: a weaker DAB run between a patient's biopsies is flagged, the same staining is not.</summary>
public class StainQcTests
{
    [Fact]
    public void AWeakDabRunIsFlaggedAsDriftAgainstItsPair()
    {
        using var tmp = new TempDir();
        var o = new SynthOptions { Width = 1024, Height = 768, Mpp = 0.5 };
        // P1: the same tissue (same seed), post rendered with 0.7× DAB. P2: two biopsies stained alike (different tissue).
        SyntheticSlideWriter.Write(o with { Seed = 31 }, tmp.File("p1-pre.tif"));
        SyntheticSlideWriter.Write(o with { Seed = 31, DabScale = 0.7 }, tmp.File("p1-post.tif"));
        SyntheticSlideWriter.Write(o with { Seed = 32 }, tmp.File("p2-pre.tif"));
        SyntheticSlideWriter.Write(o with { Seed = 33, Cells = 20 }, tmp.File("p2-post.tif"));
        File.WriteAllText(tmp.File("m.csv"), "slide,marker,patient,timepoint\np1-pre.tif,cd163,P1,pre\np1-post.tif,cd163,P1,post\np2-pre.tif,cd163,P2,pre\np2-post.tif,cd163,P2,post\n");
        Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["quantify", "--manifest", tmp.File("m.csv"), "--out", tmp.File("out")]));
        Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["qc", tmp.File("out/results.csv"), "--pre", "pre", "--post", "post", "--out", tmp.File("qc")]));
        var pairs = QuantifyRun.ReadCsv(tmp.File("qc/qc_pairs.csv")).ToDictionary(r => r["patient"]);
        Assert.InRange(QuantifyRun.Number(pairs["P1"], "chromogen_ratio"), 0.6, 0.8);
        Assert.Contains("chromogen intensity post/pre", pairs["P1"]["flags"]);
        Assert.InRange(QuantifyRun.Number(pairs["P2"], "chromogen_ratio"), 0.8, 1.25);
        Assert.Equal("", pairs["P2"]["flags"]);
        Assert.Contains("too few for cohort z-scores", File.ReadAllText(tmp.File("qc/qc.html")));
        Assert.True(File.Exists(tmp.File("qc/plots/qc-cd163-chromogen.png")));

        Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["compare", tmp.File("out/results.csv"), "--pre", "pre", "--post", "post", "--out", tmp.File("cmp")]));
        Assert.Contains("stain QC, P1 cd163: chromogen intensity", File.ReadAllText(tmp.File("cmp/report.html")));
    }

    [Fact]
    public void RobustZFlagsOnlyTheOutlier()
    {
        var z = HistoQuant.Study.StainQc.Z([1.0, 1.1, 0.9, 1.05, 0.95, 3.0, null]);
        Assert.True(z[5] > HistoQuant.Study.StainQc.OutlierZ);
        Assert.All(z.Take(5), v => Assert.True(Math.Abs(v!.Value) < 2));
        Assert.Null(z[6]);
    }
}
