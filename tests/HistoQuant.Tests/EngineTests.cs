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
        var model = new PixelModel(StainPresets.HDab.WithBackground(new Background(245, 243, 250)), 1, 0.15, 0.35, 0.7);
        var spans = TissueSpans.Full(w, h);
        var a = new CpuPixelEngine(true).Measure(new TileView(rgb, w * 3, w, h), spans, model);
        var b = new CpuPixelEngine(false).Measure(new TileView(rgb, w * 3, w, h), spans, model);
        Assert.Equal((b.Tissue, b.AtLeastWeak, b.AtLeastModerate, b.AtLeastStrong), (a.Tissue, a.AtLeastWeak, a.AtLeastModerate, a.AtLeastStrong));
        Assert.Equal(b.ChromogenSum, a.ChromogenSum, 1e-6 * Math.Abs(b.ChromogenSum));
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
        var rgb = new byte[4 * 4 * 3];
        Assert.Throws<ArgumentException>(() => new TileView(rgb, 12, 4, 4));
    }
}
