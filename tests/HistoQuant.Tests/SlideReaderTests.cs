using HistoQuant.Slides;

namespace HistoQuant.Tests;

public class SlideReaderTests
{
    [Fact]
    public void AperioJpegStoredAsRgbDecodesInTrueColour()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("cmu-1-small-region.svs"));
        Assert.Equal("aperio-svs", slide.Format);
        Assert.Single(slide.Levels);
        Assert.Equal((2220, 2967, 240, 240), (slide.Levels[0].Width, slide.Levels[0].Height, slide.Levels[0].TileWidth, slide.Levels[0].TileHeight));
        AssertMatchesReference(slide, 0, "cmu-1-small-region.openslide-level0.png", [214.01, 194.81, 207.90]);
    }

    /// <summary>A level agrees with a reference render (mean abs diff &lt; 2 per channel) and its documented mean RGB.</summary>
    private static void AssertMatchesReference(ISlide slide, int level, string reference, double[] expectedMean)
    {
        var ours = TestData.ReadLevel(slide, level);
        var render = TestData.ReadPng(TestData.Reference(reference));
        Assert.All(TestData.MeanAbsDiff(ours, render), d => Assert.True(d < 2, $"mean abs diff {d:0.###} per channel"));
        var mean = TestData.MeanRgb(ours);
        for (int c = 0; c < 3; c++)
            Assert.Equal(expectedMean[c], mean[c], 0.5);
    }

    [Fact]
    public void AperioMetadataGivesMppAndMagnification()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("cmu-1-small-region.svs"));
        Assert.Equal(0.499, slide.MppX!.Value, 6);
        Assert.Equal(0.499, slide.MppY!.Value, 6);
        Assert.Equal(20, slide.Magnification);
        Assert.Equal("CPAPERIOCS", slide.Properties["aperio.ScanScope ID"]);
    }

    [Fact]
    public void AperioJpeg2000TilesDecodeAndLevelsExcludeThumbnail()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("tcga-cr-7395-01a-01-ts1.svs"));
        Assert.Equal(2, slide.Levels.Count);
        Assert.Equal((4443, 3567), (slide.Levels[0].Width, slide.Levels[0].Height));
        Assert.Equal((2221, 1783), (slide.Levels[1].Width, slide.Levels[1].Height));
        Assert.Null(slide.MppX); // TCGA description has no MPP: never invented
        AssertMatchesReference(slide, 1, "tcga-cr-7395-01a-01-ts1.openslide-level1.png", [217.37, 158.28, 188.16]);
    }

    [Fact]
    public void BigEndianOmeTiffWithRgbJpegMatchesQuPathRender()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("OS-2-vsi.ome.tif"));
        Assert.Equal("ome-tiff", slide.Format);
        Assert.Equal("big-endian", slide.Properties["tiff.ByteOrder"]);
        Assert.Equal(0.3461, slide.MppX!.Value, 4);
        var ours = TestData.ReadLevel(slide, 0);
        var qupath = TestData.ReadPng(TestData.Reference("OS-2-vsi.qupath-render.png"));
        Assert.All(TestData.MeanAbsDiff(ours, qupath), d => Assert.True(d < 2, $"mean abs diff {d:0.###} per channel"));
    }

    [Fact]
    public void OmeXmlPhysicalSizeGivesMpp()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("OS-2-ndpi.ome.tif"));
        Assert.Equal(0.2271, slide.MppX!.Value, 4);
        Assert.Equal(0.2271, slide.MppY!.Value, 4);
        Assert.Equal((2202, 2202, 512), (slide.Levels[0].Width, slide.Levels[0].Height, slide.Levels[0].TileWidth));
        // Photometric=RGB JPEG decoded as YCbCr would turn the blue counterstain green: check the colour balance.
        var mean = TestData.MeanRgb(TestData.ReadLevel(slide, 0));
        Assert.True(mean[2] > mean[1] && mean[2] > mean[0], $"blue should dominate hematoxylin-stained tissue, got {string.Join(", ", mean)}");
    }

    [Fact]
    public void GenericPyramidalTiffReadsAllLevelsLosslessly()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("boxes.tiff"));
        Assert.Equal("generic-tiff", slide.Format);
        Assert.Equal([300, 150, 75, 37], slide.Levels.Select(l => l.Width));
        Assert.Equal([250, 125, 62, 31], slide.Levels.Select(l => l.Height));
        var expected = TestData.ReadPng(TestData.Wsi("boxes.png"));
        Assert.Equal(expected.Pixels, TestData.ReadLevel(slide, 0).Pixels);
        var openslide = TestData.ReadPng(TestData.Reference("boxes.openslide-level0.png"));
        Assert.Equal(openslide.Pixels, TestData.ReadLevel(slide, 0).Pixels);
    }

    [Fact]
    public void DefaultScreenResolutionIsNotTakenForAPixelSize()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("boxes.tiff"));
        Assert.Null(slide.MppX); // 72 dpi = 352.8 µm/px
        Assert.Contains("352.778", slide.Properties["histoquant.ResolutionNote"]);
    }

    [Theory]
    [InlineData("boxes-lzw-strips.tif", 1)]          // LZW + horizontal predictor, strips
    [InlineData("boxes-packbits-bigendian.tif", 1)]  // PackBits, big-endian, 7-row strips
    [InlineData("boxes-bigtiff-tiled.tif", 1)]       // BigTIFF, uncompressed 32 px tiles
    [InlineData("boxes-subifd-pyramid.tif", 4)]      // Deflate tiles, pyramid in SubIFDs
    public void ContainerAndCompressionVariantsDecodeExactly(string fixture, int levels)
    {
        using var slide = SlideOpener.Open(TestData.Fixture(fixture));
        Assert.Equal(levels, slide.Levels.Count);
        var expected = TestData.ReadPng(TestData.Wsi("boxes.png"));
        Assert.Equal(expected.Pixels, TestData.ReadLevel(slide, 0).Pixels);
        if (levels > 1)
            Assert.Equal([300, 150, 75, 37], slide.Levels.Select(l => l.Width));
    }

    [Fact]
    public void PlainPngIsASingleLevelSlide()
    {
        using var slide = SlideOpener.Open(TestData.Ihc("skimage-ihc.png"));
        Assert.Equal("image", slide.Format);
        Assert.Equal((512, 512), (slide.Levels[0].Width, slide.Levels[0].Height));
        Assert.Null(slide.MppX);
        Assert.Equal(TestData.ReadPng(TestData.Ihc("skimage-ihc.png")).Pixels, TestData.ReadLevel(slide, 0).Pixels);
    }

    [Fact]
    public void AperioYCbCrJpeg2000ConversionIsFullRangeBt601()
    {
        // Aperio 33003 tiles hold Y, Cb, Cr in their three components; JFIF's full-range BT.601 turns them to RGB.
        byte[] px = [128, 128, 128, 76, 85, 255, 150, 44, 21, 29, 255, 107];
        HistoQuant.Slides.Codecs.PixelUnpack.YCbCrToRgbInPlace(px, 4, 1, 12);
        Assert.Equal([128, 128, 128], px[0..3]);   // grey stays grey
        Assert.Equal([254, 0, 0], px[3..6]);       // red (JFIF YCbCr of 255,0,0)
        Assert.Equal([0, 255, 1], px[6..9]);       // green (YCbCr of 0,255,0 is 150,44,21)
        Assert.Equal([0, 0, 254], px[9..12]);      // blue (YCbCr of 0,0,255 is 29,255,107, rounded)
    }

    [Fact]
    public void PlainJpegAndStrippedTiffOpenToo()
    {
        using var tmp = new TempDir();
        var png = TestData.ReadPng(TestData.Ihc("skimage-ihc.png"));
        string jpeg = tmp.File("field.jpg");
        HistoQuant.Output.PngFile.Write(png, jpeg); // OpenCV picks the codec from the extension
        using (var slide = SlideOpener.Open(jpeg))
        {
            Assert.Equal(("image", 512, 512), (slide.Format, slide.Levels[0].Width, slide.Levels[0].Height));
            Assert.All(TestData.MeanAbsDiff(TestData.ReadLevel(slide, 0), png), d => Assert.True(d < 3, $"JPEG differs by {d:0.##}"));
        }
        using (var slide = SlideOpener.Open(TestData.Fixture("boxes-lzw-strips.tif")))
            Assert.Equal(("generic-tiff", 1), (slide.Format, slide.Levels[0].TilesAcross));
    }

    [Fact]
    public void ThumbnailOfCmuMatchesDownsampledReference()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("cmu-1-small-region.svs"));
        var (w, h) = SlideOverview.FitWithin(slide.Levels[0], 296);
        Assert.Equal((221, 296), (w, h)); // 2220x2967 scaled by 296/2967, rounded
        var thumb = SlideOverview.Render(slide, w, h);
        var mean = TestData.MeanRgb(thumb);
        Assert.Equal(214.01, mean[0], 1.0);
        Assert.Equal(194.81, mean[1], 1.0);
        Assert.Equal(207.90, mean[2], 1.0);
    }
}
