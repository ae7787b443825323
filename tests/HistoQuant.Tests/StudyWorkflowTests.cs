using System.Globalization;
using System.Text;
using HistoQuant.Cli;
using HistoQuant.Study.Stats;
using HistoQuant.Synth;

namespace HistoQuant.Tests;

/// <summary>
/// The three-step study workflow end to end on generated biopsies of six patients before and after
/// treatment: quantify a manifest, compare pre with post (paired and group tests), validate against
/// "manual" counts (the generator's truth, as a perfect pathologist would count).
/// </summary>
public class StudyWorkflowTests
{
    private static readonly (string Patient, string Group, int Pre, int Post)[] Cohort =
    [
        ("P1", "responder", 70, 12), ("P2", "responder", 60, 15), ("P3", "responder", 80, 20),
        ("P4", "non-responder", 50, 55), ("P5", "non-responder", 65, 60), ("P6", "non-responder", 45, 52),
    ];

    [Fact]
    public void QuantifyCompareValidate()
    {
        using var tmp = new TempDir();
        var manifest = new StringBuilder("slide,patient,timepoint,group,marker\n");
        var manual = new StringBuilder("slide,marker,manual_positive_cells_per_mm2\n");
        int seed = 500;
        foreach (var (patient, group, pre, post) in Cohort)
            foreach (var (timepoint, count) in new[] { ("pre", pre), ("post", post) })
            {
                string name = $"{patient}-{timepoint}.tif";
                var truth = SyntheticSlideWriter.Write(new SynthOptions { Width = 1536, Height = 1152, Mpp = 0.5, Seed = seed++, Cells = count, FibresPositive = 0 }, tmp.File(name));
                manifest.Append(CultureInfo.InvariantCulture, $"{name},{patient},{timepoint},{group},cd163\n");
                manual.Append(CultureInfo.InvariantCulture, $"{name},cd163,{truth.PositiveCellsPerMm2:0.###}\n");
            }
        File.WriteAllText(tmp.File("manifest.csv"), manifest.ToString());
        File.WriteAllText(tmp.File("manual.csv"), manual.ToString());
        File.WriteAllText(tmp.File("clinical.csv"), "patient,cpk_change\nP1,-900\nP2,-700\nP3,-1200\nP4,50\nP5,-100\nP6,200\n");

        string results = tmp.File("results");
        Assert.Equal(0, HistoQuantCli.Main(["quantify", "--manifest", tmp.File("manifest.csv"), "--out", results]));

        string compared = tmp.File("compare");
        Assert.Equal(0, HistoQuantCli.Main(["compare", Path.Combine(results, "results.csv"), "--pre", "pre", "--post", "post",
            "--group-col", "group", "--clinical", tmp.File("clinical.csv"), "--out", compared]));
        var summary = QuantifyRun.ReadCsv(Path.Combine(compared, "summary.csv"));
        var cells = summary.Single(r => r["marker"] == "cd163" && r["measure"] == "positive_cells_per_mm2");
        Assert.Equal("6", cells["n_pairs"]);
        Assert.True(QuantifyRun.Number(cells, "pre_median") > QuantifyRun.Number(cells, "post_median"));
        // Responders fall far more than non-responders: the changes separate completely, exact p = 2/20.
        Assert.Equal(0.1, QuantifyRun.Number(cells, "mannwhitney_p"), 9);
        Assert.Equal("exact", cells["mannwhitney_method"]);
        Assert.True(QuantifyRun.Number(cells, "mannwhitney_q") >= QuantifyRun.Number(cells, "mannwhitney_p"));
        Assert.True(QuantifyRun.Number(cells, "wilcoxon_q") >= QuantifyRun.Number(cells, "wilcoxon_p"));
        // The paired test is the one over the per-patient changes written to pairs.csv.
        var pairs = QuantifyRun.ReadCsv(Path.Combine(compared, "pairs.csv")).Where(r => r["measure"] == "positive_cells_per_mm2").ToList();
        Assert.Equal(6, pairs.Count);
        var changes = pairs.Select(r => QuantifyRun.Number(r, "change")).ToList();
        Assert.Equal(RankTests.WilcoxonSignedRank(changes)!.P, QuantifyRun.Number(cells, "wilcoxon_p"), 4);
        Assert.All(pairs.Where(r => r["group"] == "responder"), r => Assert.True(QuantifyRun.Number(r, "change") < 0));
        Assert.True(File.Exists(Path.Combine(compared, "plots", "cd163-positive_cells_per_mm2.png")));
        var clinical = QuantifyRun.ReadCsv(Path.Combine(compared, "clinical.csv")).Single(r => r["measure"] == "positive_cells_per_mm2");
        Assert.True(QuantifyRun.Number(clinical, "spearman_rho") > 0.5, "cell change follows the CK change");
        string report = File.ReadAllText(Path.Combine(compared, "report.html"));
        Assert.Contains("plots/cd163-positive_cells_per_mm2.png", report);
        Assert.Contains("Wilcoxon", report);
        // Readable: labels with units, a stated alpha, unique column names, links, per-patient values, and the
        // floor an exact test cannot go below with 3 vs 3 patients.
        Assert.Contains("<td>positive cells per mm²</td>", System.Net.WebUtility.HtmlDecode(report));
        Assert.Contains("Significant: q &lt; 0.05", report);
        Assert.Contains("q (Wilcoxon)", report);
        Assert.Contains("q (Mann–Whitney)", System.Net.WebUtility.HtmlDecode(report));
        Assert.Contains("<a href=\"pairs.csv\">", report);
        Assert.Contains("<h2>Per patient</h2>", report);
        Assert.Contains("With 3 vs 3 patients the exact two-sided Mann–Whitney p cannot go below 0.1", System.Net.WebUtility.HtmlDecode(report));

        string validated = tmp.File("validate");
        Assert.Equal(0, HistoQuantCli.Main(["validate", Path.Combine(results, "results.csv"), "--manual", tmp.File("manual.csv"), "--out", validated]));
        var agreement = QuantifyRun.ReadCsv(Path.Combine(validated, "agreement.csv")).Single();
        Assert.Equal(("cd163", "positive_cells_per_mm2", "manual_positive_cells_per_mm2", "12"),
            (agreement["marker"], agreement["measure"], agreement["manual"], agreement["n"]));
        Assert.True(QuantifyRun.Number(agreement, "icc_a1") > 0.95, $"ICC(A,1) {agreement["icc_a1"]}");
        Assert.True(QuantifyRun.Number(agreement, "lin_ccc") > 0.95);
        Assert.True(QuantifyRun.Number(agreement, "spearman_rho") > 0.9);
        Assert.InRange(QuantifyRun.Number(agreement, "ba_bias"), -15, 15); // cells per mm², around 200–400
        Assert.True(File.Exists(Path.Combine(validated, "plots", "cd163-positive_cells_per_mm2-vs-manual_positive_cells_per_mm2-bland-altman.png")));
        string validation = System.Net.WebUtility.HtmlDecode(File.ReadAllText(Path.Combine(validated, "report.html")));
        Assert.Contains("ICC(A,1)", validation);
        Assert.Contains("<td>positive cells per mm²</td>", validation);
        Assert.Contains("<a href=\"agreement.csv\">", validation);
    }

    [Fact]
    public void GradesAreComparedWithWeightedKappa()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("results.csv"),
            "slide,marker,status,mhc1_grade,positive_fibres_pct,present\n" +
            "a.tif,mhc1,ok,0,0,no\nb.tif,mhc1,ok,2,18,yes\nc.tif,mhc1,ok,4,70,yes\nd.tif,mhc1,ok,5,100,yes\ne.tif,mhc1,ok,3,40,no\n");
        File.WriteAllText(tmp.File("manual.csv"), "slide,mhc1_grade,manual_positive_fibres_pct,present\na,0,2,absent\nb,2,20,yes\nc,3,55,yes\nd,5,100,yes\ne,3,45,yes\n");
        Assert.Equal(0, HistoQuantCli.Main(["validate", tmp.File("results.csv"), "--manual", tmp.File("manual.csv"), "--out", tmp.File("v")]));
        var rows = QuantifyRun.ReadCsv(tmp.File("v/agreement.csv"));
        var grade = rows.Single(r => r["measure"] == "mhc1_grade");
        Assert.Equal(Agreement.QuadraticWeightedKappa([0, 2, 3, 5, 3], [0, 2, 4, 5, 3])!.Value, QuantifyRun.Number(grade, "weighted_kappa"), 4);
        Assert.Equal("", rows.Single(r => r["measure"] == "positive_fibres_pct")["weighted_kappa"]);
        // Present/absent calls (yes/no, present/absent, 1/0) are a two-grade scale: κ as well.
        var present = rows.Single(r => r["measure"] == "present");
        Assert.Equal(Agreement.QuadraticWeightedKappa([0, 1, 1, 1, 1], [0, 1, 1, 1, 0])!.Value, QuantifyRun.Number(present, "weighted_kappa"), 4);
    }

    [Fact]
    public void PresentAbsentCallsAreComparedByGroupAndWithinPatients()
    {
        using var tmp = new TempDir();
        var csv = new StringBuilder("slide,marker,status,positive_area_pct,present,patient,timepoint,group\n");
        // IL-1Ra present before in all six; after, absent in the three responders only.
        foreach (var (patient, group, after) in new[] { ("P1", "R", "no"), ("P2", "R", "no"), ("P3", "R", "no"), ("P4", "N", "yes"), ("P5", "N", "yes"), ("P6", "N", "yes") })
        {
            csv.Append(CultureInfo.InvariantCulture, $"{patient}-pre.tif,il1ra,ok,1.5,yes,{patient},pre,{group}\n");
            csv.Append(CultureInfo.InvariantCulture, $"{patient}-post.tif,il1ra,ok,{(after == "yes" ? 1.2 : 0.1)},{after},{patient},post,{group}\n");
        }
        File.WriteAllText(tmp.File("results.csv"), csv.ToString());
        Assert.Equal(0, HistoQuantCli.Main(["compare", tmp.File("results.csv"), "--pre", "pre", "--post", "post", "--group-col", "group", "--out", tmp.File("c")]));
        var change = Assert.Single(QuantifyRun.ReadCsv(tmp.File("c/presence_change.csv")));
        Assert.Equal(("6", "3", "3", "0", "0"), (change["n_pairs"], change["stayed_present"], change["present_to_absent"], change["absent_to_present"], change["stayed_absent"]));
        Assert.Equal(McNemarExact.TwoSided(3, 0), QuantifyRun.Number(change, "mcnemar_p"), 9);
        var byTime = QuantifyRun.ReadCsv(tmp.File("c/presence.csv")).ToDictionary(r => r["timepoint"]);
        Assert.Equal(1.0, QuantifyRun.Number(byTime["pre"], "fisher_p"), 9);
        Assert.Equal(FisherExact.TwoSided(3, 0, 0, 3), QuantifyRun.Number(byTime["post"], "fisher_p"), 4); // N: 3 yes / 0 no; R: 0 / 3
        Assert.Equal(0.1, QuantifyRun.Number(byTime["post"], "fisher_p"), 4);
        Assert.Contains("McNemar", File.ReadAllText(tmp.File("c/report.html")));
    }

    [Theory]
    [InlineData("slide,patient\nx.tif,P1\n", "no 'timepoint' column")]
    [InlineData("slide,marker,patient,timepoint\n\"x.tif,cd163,P1,pre\n", "quoted field is not closed")]
    [InlineData("slide,marker,patient,timepoint\nx.tif,cd163,P1\n", "3 fields, the header has 4")]
    public void MalformedResultsGiveOneLineNamingTheFile(string csv, string expected)
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("r.csv"), csv.Replace("slide,patient\n", "slide,marker,patient\n").Replace("x.tif,P1\n", "x.tif,cd163,P1\n"));
        var error = new StringWriter();
        var old = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(2, HistoQuantCli.Main(["compare", tmp.File("r.csv"), "--pre", "pre", "--post", "post", "--out", tmp.File("c")]));
        }
        finally
        {
            Console.SetError(old);
        }
        Assert.Contains(tmp.File("r.csv"), error.ToString());
        Assert.Contains(expected, error.ToString());
        Assert.Single(error.ToString().Trim().Split('\n'));
    }
}

/// <summary>The study charts: units on the axes, integer grades spread apart, images of the stated size.</summary>
public class StudyChartTests
{
    [Fact]
    public void AxisTitlesCarryUnits()
    {
        Assert.Equal("positive cells per mm²", HistoQuant.Study.Reports.StudyCharts.Label("positive_cells_per_mm2"));
        Assert.Equal("positive fibres (%)", HistoQuant.Study.Reports.StudyCharts.Label("positive_fibres_pct"));
        Assert.Equal("fibre min feret median (µm)", HistoQuant.Study.Reports.StudyCharts.Label("fibre_min_feret_median_um"));
        Assert.Equal("mhc1 grade", HistoQuant.Study.Reports.StudyCharts.Label("mhc1_grade"));
        Assert.Equal("positive cells endomysial per mm²", HistoQuant.Study.Reports.StudyCharts.Label("positive_cells_per_mm2_endomysial"));
        Assert.Equal("fibre min feret median perifascicular (µm)", HistoQuant.Study.Reports.StudyCharts.Label("fibre_min_feret_median_um_perifascicular"));
        Assert.Equal("positive fibres perifascicular excess (%)", HistoQuant.Study.Reports.StudyCharts.Label("positive_fibres_perifascicular_excess_pct"));
    }

    [Fact]
    public void EqualGradesAreSpreadApartAndOthersStay()
    {
        var offsets = HistoQuant.Study.Reports.StudyCharts.Jitter([3, 3, 3, 2, 4, 4], 0.15);
        Assert.Equal(3, offsets.Take(3).Distinct().Count());
        Assert.All(offsets, o => Assert.InRange(o, -0.15, 0.15));
        Assert.Equal(0, offsets[3]);
        Assert.NotEqual(offsets[4], offsets[5]);
    }

    [Fact]
    public void ChartsAreWrittenAtTheirSize()
    {
        using var tmp = new TempDir();
        var pairs = new List<HistoQuant.Study.PairRow>
        {
            new("P1", "mhc1", "responder", "mhc1_grade", 4, 1, "a", "b"),
            new("P2", "mhc1", "responder", "mhc1_grade", 4, 1, "c", "d"),
            new("P3", "mhc1", "non-responder", "mhc1_grade", 3, 3, "e", "f"),
        };
        HistoQuant.Study.Reports.StudyCharts.PairedDots(pairs, "pre", "post", tmp.File("plots/p.png"));
        using var image = OpenCvSharp.Cv2.ImRead(tmp.File("plots/p.png"));
        Assert.Equal((720, 480), (image.Cols, image.Rows));
    }
}
