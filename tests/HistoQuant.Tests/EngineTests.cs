using HistoQuant.Kernels;
using HistoQuant.Stains;

namespace HistoQuant.Tests;

public class EngineTests
{
    private static byte[] RandomTile(int width, int height, int seed)
    {
        var rng = new Random(seed);
        var b = new byte[width * height * 3 + 64];
        rng.NextBytes(b);
        return b;
    }

    private static PixelSums Reference(byte[] rgb, int width, TissueSpans spans, StainSet s, double weak, double moderate, double strong)
    {
        var sums = new PixelSums();
        for (int y = 0; y < spans.Rows; y++)
            for (int k = spans.RowStart[y]; k < spans.RowStart[y + 1]; k++)
                for (int x = spans.Start[k]; x < spans.End[k]; x++)
                {
                    int i = (y * width + x) * 3;
                    double d = s.Deconvolve(rgb[i], rgb[i + 1], rgb[i + 2]).C2;
                    sums.Tissue++;
                    sums.ChromogenSum += d;
                    if (d >= weak) sums.AtLeastWeak++;
                    if (d >= moderate) sums.AtLeastModerate++;
                    if (d >= strong) sums.AtLeastStrong++;
                }
        return sums;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CountsAndMeanMatchDoublePrecisionReference(bool vector)
    {
        int w = 253, h = 61; // odd sizes exercise vector tails
        var rgb = RandomTile(w, h, 42);
        var stains = StainPresets.HDab;
        var model = new PixelModel(stains, 1, 0.2, 0.4, 0.6);
        var spans = TissueSpans.Full(w, h);
        var got = new CpuPixelEngine(vector).Measure(new TileView(rgb, w * 3, w, h), spans, model);
        var want = Reference(rgb, w, spans, stains, 0.2, 0.4, 0.6);
        Assert.Equal(want.Tissue, got.Tissue);
        // Float vs double can only disagree for pixels within ~1e-6 OD of a threshold.
        Assert.InRange(got.AtLeastWeak - want.AtLeastWeak, -2, 2);
        Assert.InRange(got.AtLeastModerate - want.AtLeastModerate, -2, 2);
        Assert.InRange(got.AtLeastStrong - want.AtLeastStrong, -2, 2);
        Assert.Equal(want.ChromogenSum / want.Tissue, got.ChromogenSum / got.Tissue, 5);
    }

    [Fact]
    public void VectorAndScalarPathsGiveIdenticalCounts()
    {
        int w = 509, h = 37;
        var rgb = RandomTile(w, h, 7);
        var model = new PixelModel(StainPresets.HDab.WithBackground(new Background(245, 243, 250)), 1, 0.15, 0.35, 0.7) { Histogram = true };
        var spans = TissueSpans.Full(w, h);
        var a = new CpuPixelEngine(true).Measure(new TileView(rgb, w * 3, w, h), spans, model);
        var b = new CpuPixelEngine(false).Measure(new TileView(rgb, w * 3, w, h), spans, model);
        Assert.Equal((b.Tissue, b.AtLeastWeak, b.AtLeastModerate, b.AtLeastStrong), (a.Tissue, a.AtLeastWeak, a.AtLeastModerate, a.AtLeastStrong));
        Assert.Equal(b.ChromogenSum, a.ChromogenSum, 1e-6 * Math.Abs(b.ChromogenSum));
        Assert.Equal(b.Histogram.ToArray(), a.Histogram.ToArray());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HistogramMatchesTheDoublePrecisionBinsAndTheThresholdCounts(bool vector)
    {
        int w = 301, h = 45;
        var rgb = RandomTile(w, h, 11);
        var stains = StainPresets.HDab;
        var model = new PixelModel(stains, 1, 0.2, 0.4, 0.6) { Histogram = true };
        var spans = new TissueSpans(h, Enumerable.Range(0, h + 1).ToArray(), Enumerable.Repeat(17, h).ToArray(), Enumerable.Repeat(260, h).ToArray());
        var got = new CpuPixelEngine(vector).Measure(new TileView(rgb, w * 3, w, h), spans, model);
        var bins = got.Histogram.ToArray();
        Assert.Equal(got.Tissue, bins.Sum());
        // Bins on the 0.05 grid reproduce the threshold counts at 0.2, 0.4, 0.6 (same float values, same edges).
        Assert.Equal(got.AtLeastWeak, bins[4..].Sum());
        Assert.Equal(got.AtLeastModerate, bins[8..].Sum());
        Assert.Equal(got.AtLeastStrong, bins[12..].Sum());
        // Against an independent double-precision binning: only pixels within float rounding of an edge may move.
        var want = new long[DabHistogram.Bins];
        for (int y = 0; y < h; y++)
            for (int x = 17; x < 260; x++)
            {
                int i = (y * w + x) * 3;
                double d = stains.Deconvolve(rgb[i], rgb[i + 1], rgb[i + 2]).C2;
                want[Math.Clamp((int)Math.Floor(d / 0.05), 0, DabHistogram.Bins - 1)]++;
            }
        Assert.InRange(want.Zip(bins, (a, b) => Math.Abs(a - b)).Sum(), 0, 6);
    }

    [Fact]
    public void OnlyTissueSpansAreMeasured()
    {
        int w = 40, h = 3;
        var rgb = new byte[w * h * 3 + 64];
        Array.Fill(rgb, (byte)255);
        // Strong brown in columns 10..19 of every row; glass elsewhere.
        for (int y = 0; y < h; y++)
            for (int x = 10; x < 20; x++)
            {
                int i = (y * w + x) * 3;
                (rgb[i], rgb[i + 1], rgb[i + 2]) = ((byte)90, (byte)50, (byte)20);
            }
        var model = new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6);
        // Row 0: tissue 5..15 (half brown); row 1: 10..20 (all brown); row 2: none.
        var spans = new TissueSpans(3, [0, 1, 2, 2], [5, 10], [15, 20]);
        var sums = new CpuPixelEngine().Measure(new TileView(rgb, w * 3, w, h), spans, model);
        Assert.Equal(20, sums.Tissue);
        Assert.Equal(15, sums.AtLeastWeak);
        Assert.Equal(15, sums.AtLeastStrong);
    }

    [Fact]
    public void ThresholdIsInclusive()
    {
        // A grey pixel at exactly the LUT value of the threshold counts as positive (≥, as QuPath).
        var stains = StainPresets.HDab;
        var lut = stains.ConcentrationLut(1);
        var rgb = new byte[3 + 64];
        (rgb[0], rgb[1], rgb[2]) = (120, 90, 60);
        float d = lut[120] + lut[256 + 90] + lut[512 + 60];
        var model = new PixelModel(stains, 1, d, d, d);
        var sums = new CpuPixelEngine().Measure(new TileView(rgb, 3, 1, 1), TissueSpans.Full(1, 1), model);
        Assert.Equal(1, sums.AtLeastWeak);
        Assert.Equal(1, sums.AtLeastStrong);
    }

    [Fact]
    public void UnpaddedBufferIsRejected()
    {
        Assert.Throws<ArgumentException>(() => new TileView(new byte[4 * 4 * 3], 12, 4, 4));
        Assert.Throws<ArgumentException>(() => new TileView(new byte[4 * 4 * 3 + TileView.Padding - 1], 12, 4, 4));
        _ = new TileView(new byte[4 * 4 * 3 + TileView.Padding], 12, 4, 4);
    }
}

public class HistogramOutputTests
{
    [Fact]
    public void ResultsJsonCarriesTheChromogenHistogram()
    {
        using var tmp = new TempDir();
        Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["quantify", TestData.RepoFile("sample-slides/synthetic/P01-pre-CD163.tif"), "--histogram", "--out", tmp.Path]));
        var row = Assert.Single(HistoQuant.Output.ResultsWriter.ReadJson(tmp.File("results.json")));
        var d = row.Details!;
        Assert.Equal(0.05, d.ChromogenHistogramBinOd);
        Assert.Equal(64, d.ChromogenHistogram!.Length);
        Assert.Equal(d.TissuePixels, d.ChromogenHistogram.Sum());
        // Re-thresholding from the histogram at the model's 0.2 gives the reported % positive area.
        Assert.Equal(row["positive_area_pct"]!.Value, 100.0 * d.ChromogenHistogram[4..].Sum() / d.TissuePixels, 6);
    }

    [Fact]
    public void WithoutTheOptionThereIsNoHistogramAndTheEnginesSkipIt()
    {
        var job = new TileJob(new byte[16 * 16 * 3 + 64], 48, 16, 16, TissueSpans.Full(16, 16));
        var sums = new CpuPixelEngine().Measure(job.View, job.Tissue, new PixelModel(StainPresets.HDab, 1, 0.2, 0.4, 0.6));
        Assert.Equal(256, sums.Tissue);
        Assert.All(sums.Histogram.ToArray(), b => Assert.Equal(0, b));
        using var tmp = new TempDir();
        Assert.Equal(0, HistoQuant.Cli.HistoQuantCli.Main(["quantify", TestData.Wsi("boxes.tiff"), "--mpp", "0.5", "--out", tmp.Path]));
        Assert.Null(Assert.Single(HistoQuant.Output.ResultsWriter.ReadJson(tmp.File("results.json"))).Details!.ChromogenHistogram);
    }
}
