using System.Text.Json;
using HistoQuant.Study.Stats;

namespace HistoQuant.Tests;

/// <summary>
/// Study statistics against values computed independently with SciPy 1.10 / NumPy
/// (tests/reference/study_stats_reference.py → study-stats-reference.json) and against published values:
/// R's documentation examples for wilcox.test and fisher.test, and Shrout &amp; Fleiss (1979) for the ICCs.
/// </summary>
public class StudyStatsTests
{
    private static readonly JsonElement Reference =
        JsonDocument.Parse(File.ReadAllText(TestData.RepoFile("tests/reference/study-stats-reference.json"))).RootElement;

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();
    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(v => v.GetInt32()).ToArray();

    [Theory]
    [InlineData("wilcoxon_exact", "exact")]
    [InlineData("wilcoxon_ties", "normal")]
    [InlineData("wilcoxon_n30", "exact")]
    public void WilcoxonSignedRankMatchesScipy(string name, string method)
    {
        var r = Reference.GetProperty(name);
        var result = RankTests.WilcoxonSignedRank(Doubles(r.GetProperty("d")))!;
        Assert.Equal(method, result.Method);
        Assert.Equal(r.GetProperty("statistic").GetDouble(), result.Statistic, 9);
        Assert.Equal(r.GetProperty("p").GetDouble(), result.P, 9);
    }

    [Fact]
    public void WilcoxonMatchesRsPublishedExample() =>
        // R ?wilcox.test, Hollander & Wolfe: V = 40, p-value = 0.03906 (exact).
        Assert.Equal(0.03906, RankTests.WilcoxonSignedRank(Doubles(Reference.GetProperty("wilcoxon_exact").GetProperty("d")))!.P, 5);

    [Theory]
    [InlineData("mannwhitney_exact", "exact")]
    [InlineData("mannwhitney_ties", "normal")]
    public void MannWhitneyMatchesScipy(string name, string method)
    {
        var r = Reference.GetProperty(name);
        var result = RankTests.MannWhitneyU(Doubles(r.GetProperty("x")), Doubles(r.GetProperty("y")))!;
        Assert.Equal(method, result.Method);
        Assert.Equal(r.GetProperty("statistic").GetDouble(), result.Statistic, 9);
        Assert.Equal(r.GetProperty("p").GetDouble(), result.P, 9);
    }

    [Fact]
    public void MannWhitneyMatchesRsPublishedExample() =>
        // R ?wilcox.test: W = 35, one-sided p-value = 0.1272, so two-sided 0.2544.
        Assert.Equal(0.2544, RankTests.MannWhitneyU(Doubles(Reference.GetProperty("mannwhitney_exact").GetProperty("x")),
            Doubles(Reference.GetProperty("mannwhitney_exact").GetProperty("y")))!.P, 4);

    [Fact]
    public void FisherExactMatchesScipyAndTheTeaTastingExample()
    {
        foreach (var c in Reference.GetProperty("fisher").EnumerateArray())
        {
            var t = c.GetProperty("table");
            double p = FisherExact.TwoSided(t[0][0].GetInt32(), t[0][1].GetInt32(), t[1][0].GetInt32(), t[1][1].GetInt32());
            Assert.Equal(c.GetProperty("p").GetDouble(), p, 9);
        }
        Assert.Equal(0.4857, FisherExact.TwoSided(3, 1, 1, 3), 4); // R ?fisher.test, tea tasting
    }

    [Fact]
    public void SpearmanWithTiesMatchesScipy()
    {
        var r = Reference.GetProperty("spearman");
        var s = Spearman.Compute(Doubles(r.GetProperty("x")), Doubles(r.GetProperty("y")))!;
        Assert.Equal(r.GetProperty("rho").GetDouble(), s.Rho, 9);
        Assert.Equal(r.GetProperty("p").GetDouble(), s.P, 9);
        Assert.Equal(r.GetProperty("ci_low").GetDouble(), s.CiLow, 9);
        Assert.Equal(r.GetProperty("ci_high").GetDouble(), s.CiHigh, 9);
        Assert.Null(Spearman.Compute([1, 2, 3], [5, 5, 5])); // a constant has no rank correlation
    }

    [Fact]
    public void SpearmanAtSmallNIsExact()
    {
        // Every pairing of n ranks counted by hand: 3 points perfectly ordered are 2 of 3! pairings (ρ = ±1).
        Assert.Equal(2.0 / 6, Spearman.Compute([1, 2, 3], [10, 20, 30])!.P, 12);
        Assert.Equal(2.0 / 24, Spearman.Compute([1, 2, 3, 4], [4, 3, 2, 1])!.P, 12);
        // ρ = 0.8 with 5 points: Σd² ≤ 4 (8 pairings) or ≥ 36 (8 more) of 120.
        var five = Spearman.Compute([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])!;
        Assert.Equal(0.8, five.Rho, 12);
        Assert.Equal(16.0 / 120, five.P, 12);
    }

    [Fact]
    public void IccMatchesShroutAndFleiss()
    {
        var r = Reference.GetProperty("icc_shrout_fleiss");
        var data = r.GetProperty("data").EnumerateArray().Select(Doubles).ToList();
        var (a1, c1) = Agreement.Icc(data)!.Value;
        Assert.Equal(0.29, a1, 2); // published ICC(2,1)
        Assert.Equal(0.71, c1, 2); // published ICC(3,1)
        Assert.Equal(r.GetProperty("icc_a1").GetDouble(), a1, 9);
        Assert.Equal(r.GetProperty("icc_c1").GetDouble(), c1, 9);
    }

    [Fact]
    public void AgreementMeasuresMatchNumpy()
    {
        var r = Reference.GetProperty("agreement");
        var manual = Doubles(r.GetProperty("manual"));
        var tool = Doubles(r.GetProperty("tool"));
        var (a1, c1) = Agreement.Icc(manual.Zip(tool, (m, t) => new[] { m, t }).ToList())!.Value;
        Assert.Equal(r.GetProperty("icc_a1").GetDouble(), a1, 9);
        Assert.Equal(r.GetProperty("icc_c1").GetDouble(), c1, 9);
        var ba = Agreement.BlandAltman(manual, tool)!;
        Assert.Equal(r.GetProperty("ba_bias").GetDouble(), ba.Bias, 9);
        Assert.Equal(r.GetProperty("ba_loa_low").GetDouble(), ba.LoaLow, 9);
        Assert.Equal(r.GetProperty("ba_loa_high").GetDouble(), ba.LoaHigh, 9);
        Assert.Equal(r.GetProperty("lin_ccc").GetDouble(), Agreement.LinCcc(manual, tool)!.Value, 9);
    }

    [Fact]
    public void QuadraticWeightedKappaMatchesNumpyAndItsLimits()
    {
        var r = Reference.GetProperty("weighted_kappa");
        Assert.Equal(r.GetProperty("kappa").GetDouble(), Agreement.QuadraticWeightedKappa(Ints(r.GetProperty("a")), Ints(r.GetProperty("b")))!.Value, 9);
        Assert.Equal(1.0, Agreement.QuadraticWeightedKappa([0, 1, 2, 5], [0, 1, 2, 5])!.Value, 12);
        Assert.Equal(-1.0, Agreement.QuadraticWeightedKappa([0, 1], [1, 0])!.Value, 12);
    }

    [Fact]
    public void McNemarExactMatchesScipysBinomialTest()
    {
        foreach (var c in Reference.GetProperty("mcnemar").EnumerateArray())
            Assert.Equal(c.GetProperty("p").GetDouble(), McNemarExact.TwoSided(c.GetProperty("b").GetInt32(), c.GetProperty("c").GetInt32()), 1e-12);
        Assert.Equal(1.0, McNemarExact.TwoSided(0, 0));
    }

    [Fact]
    public void BenjaminiHochbergMatchesTheDefinition()
    {
        var r = Reference.GetProperty("benjamini_hochberg");
        var q = MultipleTesting.BenjaminiHochberg(Doubles(r.GetProperty("p")).Select(v => (double?)v).ToList());
        var want = Doubles(r.GetProperty("q"));
        for (int i = 0; i < want.Length; i++)
            Assert.Equal(want[i], q[i]!.Value, 12);
        // R's p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "BH") is 0.05 throughout; missing p-values stay missing.
        var r2 = MultipleTesting.BenjaminiHochberg([0.01, null, 0.02, 0.03, 0.04, 0.05]);
        Assert.Null(r2[1]);
        Assert.All(r2.Where(v => v is not null), v => Assert.Equal(0.05, v!.Value, 12));
    }

    [Fact]
    public void RanksAverageTies()
    {
        var ranks = Ranks.Average([10, 20, 20, 5, 20], out var ties);
        Assert.Equal([2, 4, 4, 1, 4], ranks);
        Assert.Equal([3], ties);
    }
}
