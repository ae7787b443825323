using System.Text.Json;
using HistoQuant.Kernels;
using HistoQuant.Stains;

namespace HistoQuant.Tests;

public class StainTests
{
    private static JsonElement Reference() =>
        JsonDocument.Parse(File.ReadAllText(TestData.RepoFile("tests/reference/skimage-ihc-reference.json"))).RootElement;

    [Fact]
    public void OpticalDensityConventions()
    {
        Assert.Equal(0.0, OpticalDensity.Of(255, 255), 12);
        Assert.Equal(Math.Log10(255), OpticalDensity.Of(0, 255), 12);   // clamped at 1, finite
        Assert.Equal(OpticalDensity.Of(1, 255), OpticalDensity.Of(0, 255), 12);
        Assert.Equal(1.0, OpticalDensity.Of(25.5, 255), 12);            // base 10
        Assert.True(OpticalDensity.Of(250, 240) < 0);                   // brighter than glass: negative, not clipped
        Assert.Equal(0.0, OpticalDensity.Of(240, 240), 12);             // I0 is the slide's background
    }

    [Fact]
    public void VectorsAreNormalisedAndResidualIsTheNormalisedCrossProduct()
    {
        var s = StainPresets.HDab;
        foreach (var v in new[] { s.Stain1, s.Stain2, s.Stain3 })
            Assert.Equal(1.0, v.Length, 12);
        Assert.Equal(90.0, s.Stain3.AngleDegrees(s.Stain1), 9);
        Assert.Equal(90.0, s.Stain3.AngleDegrees(s.Stain2), 9);
        // QuPath's H-DAB default: 0.65111 0.70119 0.29049 / 0.26917 0.56824 0.77759 (design note rounds to 3 decimals).
        Assert.Equal(0.65111 / Math.Sqrt(0.65111 * 0.65111 + 0.70119 * 0.70119 + 0.29049 * 0.29049), s.Stain1.R, 12);
        Assert.True(s.Stain1.AngleDegrees(new StainVector("", 0.651, 0.701, 0.290)) < 0.05);
        Assert.True(s.Stain2.AngleDegrees(new StainVector("", 0.269, 0.568, 0.778)) < 0.05);
        // Third given as zero means "make the residual".
        var withZero = new StainSet("x", s.Stain1, s.Stain2, new StainVector("none", 0, 0, 0));
        Assert.Equal(s.Stain3, withZero.Stain3 with { Name = s.Stain3.Name });
    }

    [Fact]
    public void InverseTimesMatrixIsIdentity()
    {
        foreach (var s in StainPresets.All)
        {
            double[,] m = { { s.Stain1.R, s.Stain1.G, s.Stain1.B }, { s.Stain2.R, s.Stain2.G, s.Stain2.B }, { s.Stain3.R, s.Stain3.G, s.Stain3.B } };
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                {
                    double dot = 0;
                    for (int k = 0; k < 3; k++)
                        dot += m[i, k] * s.Inverse[k, j];
                    Assert.Equal(i == j ? 1.0 : 0.0, dot, 12);
                }
        }
    }

    [Fact]
    public void InverseMatchesNumpy()
    {
        var expected = Reference().GetProperty("inverse_matrix");
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(expected[i][j].GetDouble(), StainPresets.HDab.Inverse[i, j], 10);
    }

    [Fact]
    public void PureStainPixelDeconvolvesToThatStainOnly()
    {
        var s = StainPresets.HDab;
        // Render concentration (0.3 H, 0.7 DAB) through Beer–Lambert, then deconvolve it back.
        double[] od = [0.3 * s.Stain1.R + 0.7 * s.Stain2.R, 0.3 * s.Stain1.G + 0.7 * s.Stain2.G, 0.3 * s.Stain1.B + 0.7 * s.Stain2.B];
        double odR = od[0], odG = od[1], odB = od[2];
        double h = odR * s.Inverse[0, 0] + odG * s.Inverse[1, 0] + odB * s.Inverse[2, 0];
        double dab = odR * s.Inverse[0, 1] + odG * s.Inverse[1, 1] + odB * s.Inverse[2, 1];
        Assert.Equal(0.3, h, 12);
        Assert.Equal(0.7, dab, 12);
    }

    [Fact]
    public void PerPixelValuesMatchScikitImage()
    {
        var s = StainPresets.HDab;
        var lut = s.ConcentrationLut(1);
        foreach (var p in Reference().GetProperty("pixels").EnumerateArray())
        {
            var rgb = p.GetProperty("rgb").EnumerateArray().Select(v => (byte)v.GetInt32()).ToArray();
            var (h, dab, _) = s.Deconvolve(rgb[0], rgb[1], rgb[2]);
            Assert.Equal(p.GetProperty("hematoxylin").GetDouble(), h, 4);
            Assert.Equal(p.GetProperty("dab").GetDouble(), dab, 4);
            float fromLut = lut[rgb[0]] + lut[256 + rgb[1]] + lut[512 + rgb[2]];
            Assert.Equal(p.GetProperty("dab").GetDouble(), fromLut, 4);
        }
    }

    [Fact]
    public void FloatLookupTableAgreesWithDoubleReferenceEverywhere()
    {
        var s = StainPresets.HDab.WithBackground(new Background(242, 239, 245));
        var lut = s.ConcentrationLut(1);
        double worst = 0;
        for (int r = 0; r < 256; r += 3)
            for (int g = 0; g < 256; g += 3)
                for (int b = 0; b < 256; b += 3)
                {
                    double exact = s.Deconvolve((byte)r, (byte)g, (byte)b).C2;
                    float fast = lut[r] + lut[256 + g] + lut[512 + b];
                    worst = Math.Max(worst, Math.Abs(exact - fast));
                }
        Assert.True(worst < 2e-6, $"largest float error {worst}");
    }

    [Theory]
    [InlineData("H-DAB", "H-DAB")]
    [InlineData("hdab", "H-DAB")]
    [InlineData("H-DAB Ruifrok", "H-DAB Ruifrok")]
    [InlineData("h_e", "H-E")]
    [InlineData("H AEC", "H-AEC")]
    public void PresetsAreFoundByForgivingNames(string query, string name) => Assert.Equal(name, StainPresets.Find(query)!.Name);

    [Fact]
    public void RuifrokAndOtherPresetsCarryTheirPublishedVectors()
    {
        Assert.True(StainPresets.HDabRuifrok.Stain1.AngleDegrees(new StainVector("", 0.650, 0.704, 0.286)) < 1e-6);
        Assert.True(StainPresets.HDabRuifrok.Stain2.AngleDegrees(new StainVector("", 0.268, 0.570, 0.776)) < 1e-6);
        Assert.True(StainPresets.HE.Stain2.AngleDegrees(new StainVector("", 0.2159, 0.8012, 0.5581)) < 1e-6);
        Assert.True(StainPresets.HAec.Stain2.AngleDegrees(new StainVector("", 0.2743, 0.6796, 0.6803)) < 1e-6);
        Assert.Null(StainPresets.Find("H-XYZ"));
    }

    [Fact]
    public void StainFileRoundTripsAndRejectsBadInput()
    {
        var set = StainFile.Parse("""{ "name": "lab", "stains": [ { "name": "Hematoxylin", "od": [0.65, 0.70, 0.29] }, { "name": "DAB", "od": [0.27, 0.57, 0.78] } ], "background": [240, 238, 242] }""", "lab.json");
        Assert.Equal("lab", set.Name);
        Assert.Equal(240, set.Background.R);
        var again = StainFile.Parse(StainFile.ToJson(set), "again.json");
        Assert.Equal(set.Stain2.G, again.Stain2.G, 12);

        var e = Assert.Throws<FormatException>(() => StainFile.Parse("""{ "stains": [ { "od": [1, 2] }, { "od": [0.2, 0.5, 0.7] } ] }""", "bad.json"));
        Assert.StartsWith("bad.json: stain 1", e.Message);
        e = Assert.Throws<FormatException>(() => StainFile.Parse("""{ "stains": [ { "od": [0.6, 0.7, 0.3] }, { "od": [1.2, 1.4, 0.6] } ] }""", "dependent.json"));
        Assert.Contains("linearly dependent", e.Message);
        e = Assert.Throws<FormatException>(() => StainFile.Parse("{ nope", "broken.json"));
        Assert.StartsWith("broken.json: not valid JSON", e.Message);
    }
}
