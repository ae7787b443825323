using HistoQuant.Pipeline;
using HistoQuant.Slides;
using HistoQuant.Kernels;

namespace HistoQuant.Tests;

public class TissueTests
{
    [Fact]
    public void GlassColourIsEstimatedPerScanner()
    {
        using var vsi = SlideOpener.Open(TestData.Wsi("OS-2-vsi.ome.tif"));
        var mask = TissueDetector.Detect(vsi, vsi.MppX, new TissueSettings());
        Assert.InRange(mask.Glass!.R, 214, 220); // Olympus scan: grey glass around 217
        using var cmu = SlideOpener.Open(TestData.Wsi("cmu-1-small-region.svs"));
        var cmuMask = TissueDetector.Detect(cmu, cmu.MppX, new TissueSettings());
        Assert.InRange(cmuMask.Glass!.R, 243, 250);
    }

    [Fact]
    public void SyntheticHalfGlassHalfTissueOverview()
    {
        // Left half glass (235 grey with noise), right half pale stained tissue; mask pixels of 4 µm.
        int w = 200, h = 100;
        var px = new byte[w * h * 3];
        var rng = new Random(3);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = (y * w + x) * 3;
                int n = rng.Next(-2, 3);
                if (x < w / 2)
                    (px[i], px[i + 1], px[i + 2]) = ((byte)(235 + n), (byte)(235 + n), (byte)(236 + n));
                else
                    (px[i], px[i + 1], px[i + 2]) = ((byte)(200 + n), (byte)(190 + n), (byte)(215 + n));
            }
        var level0 = new SlideLevel(0, w * 8, h * 8, 256, 256, 1);
        var mask = TissueDetector.FromOverview(new RgbImage(w, h, px), level0, 4.0, new TissueSettings());
        Assert.InRange(mask.TissueFraction, 0.48, 0.52);
        Assert.False(mask.Touches(new TileRect(0, 0, 0, 0, 256, 256)));
        Assert.True(mask.Touches(new TileRect(6, 0, 1536, 0, 64, 64)));
    }

    [Fact]
    public void AllTissueImageHasNoGlass()
    {
        using var slide = SlideOpener.Open(TestData.Ihc("skimage-ihc.png"));
        var mask = TissueDetector.Detect(slide, 0.5, new TissueSettings());
        Assert.True(mask.TissueFraction > 0.85, $"tissue fraction {mask.TissueFraction}");
    }

    [Fact]
    public void CmuTissueOutlineKeepsGlassOut()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("cmu-1-small-region.svs"));
        var mask = TissueDetector.Detect(slide, slide.MppX, new TissueSettings());
        // The tissue strip covers about two fifths of this crop (reference mask from an independent numpy run: 0.42).
        Assert.InRange(mask.TissueFraction, 0.38, 0.46);
        // Glass at the top right and the middle of the left edge; tissue in the centre of the lower half.
        Assert.False(mask.Touches(new TileRect(0, 0, 1800, 100, 200, 200)));
        Assert.False(mask.Touches(new TileRect(0, 0, 100, 1500, 200, 200)));
        Assert.True(mask.Touches(new TileRect(0, 0, 1000, 2400, 10, 10)));
    }

    [Fact]
    public void SpansFollowTheMaskAtFullResolution()
    {
        // 4x2 mask over a 40x20 level: tissue in mask column 1 and 2 of row 0, column 3 of row 1.
        var mask = new TissueMask(4, 2, 40, 20, [0, 1, 1, 0, 0, 0, 0, 1], null);
        var spans = mask.SpansFor(new TileRect(0, 0, 5, 5, 30, 10)); // x 5..35, y 5..15
        Assert.Equal(10, spans.Rows);
        // Rows y=5..9 (mask row 0): tissue x 10..30 -> tile columns 5..25.
        Assert.Equal(1, spans.RowStart[1]);
        Assert.Equal((5, 25), (spans.Start[0], spans.End[0]));
        // Rows y=10..14 (mask row 1): tissue x 30..40 -> tile columns 25..30 (tile ends at 35).
        int k = spans.RowStart[5];
        Assert.Equal((25, 30), (spans.Start[k], spans.End[k]));
        Assert.Equal(5 * 20 + 5 * 5, spans.PixelCount);
    }
}
