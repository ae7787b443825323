using System.Globalization;
using HistoQuant.Cli;
using HistoQuant.Slides;
using HistoQuant.Slides.OpenSlide;

namespace HistoQuant.Tests;

/// <summary>
/// The OpenSlide-backed reader on slides generated from OpenSlide's format descriptions (<see cref="VendorSlides"/>).
/// Needs Debian's libopenslide0, which the launcher installs. The generated files were checked with Debian's
/// openslide-tools while writing the generators (openslide-show-properties, openslide-write-png).
/// </summary>
public class OpenSlideTests
{
    // Flat areas in a q95 JPEG come back within a few grey levels; edges are skipped by sampling block interiors.
    private const int Tolerance = 6;

    private static void AssertMatchesPicture(RgbImage image, int fullWidth, int fullHeight)
    {
        double sx = (double)fullWidth / image.Width, sy = (double)fullHeight / image.Height;
        int checkedPixels = 0;
        for (int y = 0; y < image.Height; y += 3)
            for (int x = 0; x < image.Width; x += 3)
            {
                // Only pixels a few px from any edge: JPEG's subsampled chroma bleeds across edges.
                double fx = (x + 0.5) * sx, fy = (y + 0.5) * sy, m = 4 * Math.Max(sx, sy);
                var want = VendorSlides.Expected(fx, fy, fullWidth, fullHeight);
                if (VendorSlides.Expected(fx - m, fy - m, fullWidth, fullHeight) != want || VendorSlides.Expected(fx + m, fy + m, fullWidth, fullHeight) != want
                    || VendorSlides.Expected(fx - m, fy + m, fullWidth, fullHeight) != want || VendorSlides.Expected(fx + m, fy - m, fullWidth, fullHeight) != want)
                    continue;
                var got = image[x, y];
                Assert.True(Math.Abs(got.R - want.R) <= Tolerance && Math.Abs(got.G - want.G) <= Tolerance && Math.Abs(got.B - want.B) <= Tolerance,
                    $"pixel ({x},{y}) of {image.Width}x{image.Height}: {got}, expected {want}");
                checkedPixels++;
            }
        Assert.True(checkedPixels > image.Width * image.Height / 20, $"only {checkedPixels} pixels compared");
    }

    [Fact]
    public void NdpiOpensThroughOpenSlideWithLevelsPixelSizeAndTrueColour()
    {
        using var tmp = new TempDir();
        var path = tmp.File("gen.ndpi");
        VendorSlides.WriteNdpi(path, 1024, 768, levels: 3, mpp: 0.46, lens: 20);
        using var slide = SlideOpener.Open(path, out var format);
        Assert.IsType<OpenSlideFormat>(format);
        Assert.Equal("hamamatsu", slide.Format);
        Assert.Equal((1024, 768), (slide.Levels[0].Width, slide.Levels[0].Height));
        Assert.Equal((512, 384, 2.0), (slide.Levels[1].Width, slide.Levels[1].Height, slide.Levels[1].Downsample));
        Assert.Equal(0.46, slide.MppX!.Value, 5);
        Assert.Equal(0.46, slide.MppY!.Value, 5);
        Assert.Equal(20, slide.Magnification);
        Assert.Equal("20", slide.Properties["hamamatsu.SourceLens"]);
        for (int level = 0; level < 3; level++)
            AssertMatchesPicture(TestData.ReadLevel(slide, level), 1024, 768);
        var info = InfoCommand.Describe(slide, format);
        Assert.Contains("reader:        OpenSlide 3.", info);
        Assert.Contains("mpp:           0.46 x 0.46 µm/px", info);
    }

    [Fact]
    public void TilesOfAnOddGridReadAtTheirLevel0Position()
    {
        // A level not a multiple of the tile size: edge tiles are cut, and each tile is read from its own place.
        using var tmp = new TempDir();
        var path = tmp.File("odd.ndpi");
        VendorSlides.WriteNdpi(path, 1000, 600, levels: 2);
        using var slide = SlideOpener.Open(path);
        AssertMatchesPicture(TestData.ReadLevel(slide, 1), 1000, 600);
    }

    [Fact]
    public void AMissingLibraryIsNamedWithTheDebianPackage()
    {
        var (api, problem) = OpenSlideLibrary.Load("libopenslide-not-here.so.0");
        Assert.Null(api);
        Assert.Equal("the OpenSlide library (libopenslide-not-here.so.0) is missing; install Debian's libopenslide0 (./histoquant does it when it can)", problem);
        Assert.Null(OpenSlideLibrary.Problem); // here it is installed (the launcher's native_libs)
    }

    [Fact]
    public void PremultipliedArgbIsCompositedOverWhite()
    {
        uint[] argb = [0x00000000, 0xFF123456, 0x80402010, 0x40404040];
        var rgb = new byte[12];
        OpenSlideSlide.ToRgbOverWhite(argb, rgb);
        // Transparent is glass; opaque is itself; half-transparent (premultiplied 0x40,0x20,0x10 at a=0x80) composites
        // to c + 255 − a; a fully-saturated premultiplied grey at a=0x40 becomes white.
        Assert.Equal(new byte[] { 255, 255, 255, 0x12, 0x34, 0x56, 0x40 + 127, 0x20 + 127, 0x10 + 127, 255, 255, 255 }, rgb);
    }

    /// <summary>Writes a generated 1024x768 slide of the given kind; returns its path and µm/px.</summary>
    private static (string Path, double Mpp) Generated(TempDir tmp, string kind)
    {
        var dir = Directory.CreateDirectory(tmp.File("slides")).FullName;
        if (kind == "ndpi")
        {
            VendorSlides.WriteNdpi(Path.Combine(dir, "gen.ndpi"), 1024, 768, levels: 3, mpp: 0.46);
            return (Path.Combine(dir, "gen.ndpi"), 0.46);
        }
        VendorSlides.WriteMirax(Path.Combine(dir, "gen.mrxs"), imagesX: 4, imagesY: 3, image: 256, levels: 3, mpp: 0.243);
        return (Path.Combine(dir, "gen.mrxs"), 0.243);
    }

    [Fact]
    public void MiraxOpensThroughOpenSlideWithLevelsPixelSizeAndTrueColour()
    {
        using var tmp = new TempDir();
        var (path, _) = Generated(tmp, "mrxs");
        using var slide = SlideOpener.Open(path, out var format);
        Assert.IsType<OpenSlideFormat>(format);
        Assert.Equal("mirax", slide.Format);
        Assert.Equal([(1024, 768), (512, 384), (256, 192)], slide.Levels.Select(l => (l.Width, l.Height)));
        Assert.Equal((256, 256), (slide.Levels[0].TileWidth, slide.Levels[0].TileHeight));
        Assert.Equal(0.243, slide.MppX!.Value, 6);
        Assert.Equal(20, slide.Magnification);
        Assert.Equal("Data0000.dat", slide.Properties["mirax.DATAFILE.FILE_0"]);
        for (int level = 0; level < 3; level++)
            AssertMatchesPicture(TestData.ReadLevel(slide, level), 1024, 768);
    }

    [Theory]
    [InlineData("ndpi")]
    [InlineData("mrxs")]
    public void InfoThumbnailAndQuantifyWorkOnGeneratedVendorSlides(string kind)
    {
        using var tmp = new TempDir();
        var (path, mpp) = Generated(tmp, kind);
        using (var slide = SlideOpener.Open(path, out var format))
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"mpp:           {mpp:0.######} x {mpp:0.######} µm/px"), InfoCommand.Describe(slide, format));
        var png = tmp.File("thumb.png");
        Assert.Equal(0, HistoQuantCli.Main(["thumbnail", path, "--max-size", "256", "--out", png]));
        var thumb = TestData.ReadPng(png);
        Assert.Equal((256, 192), (thumb.Width, thumb.Height));
        AssertMatchesPicture(thumb, 1024, 768);

        // A folder run picks the slide up by its extension (and not the MIRAX data files beside it).
        var row = QuantifyRun.Row(tmp, Path.GetDirectoryName(path)!, "--tissue", "all");
        Assert.Equal("ok", row["status"]);
        Assert.Equal(mpp, QuantifyRun.Number(row, "mpp"), 4);
        Assert.Equal(1024 * 768 * mpp * mpp * 1e-6, QuantifyRun.Number(row, "tissue_area_mm2"), 4);
        // The brown block is 0.375 × 0.5 of the image; glass and the blue block carry no DAB.
        Assert.InRange(QuantifyRun.Number(row, "positive_area_pct"), 17.5, 20.0);
    }

    [Fact]
    public void ACorruptMiraxIsAnErrorRowWithOpenSlidesMessage()
    {
        using var tmp = new TempDir();
        var (path, _) = Generated(tmp, "mrxs");
        var index = Path.Combine(Path.GetDirectoryName(path)!, "gen", "Index.dat");
        var bytes = File.ReadAllBytes(index);
        "99.99"u8.CopyTo(bytes);
        File.WriteAllBytes(index, bytes);
        string outDir = tmp.File("out");
        Assert.Equal(Cli.Cli.SomeFailed, HistoQuantCli.Main(["quantify", path, "--out", outDir]));
        var row = Assert.Single(QuantifyRun.ReadCsv(Path.Combine(outDir, "results.csv")));
        Assert.Equal("error", row["status"]);
        Assert.Equal(path + ": OpenSlide: Index.dat doesn't have expected version", row["error"]);
    }

    [Fact]
    public void AMiraxWithoutItsFolderSaysWhatIsMissing()
    {
        using var tmp = new TempDir();
        var (path, _) = Generated(tmp, "mrxs");
        Directory.Delete(Path.Combine(Path.GetDirectoryName(path)!, "gen"), recursive: true);
        var e = Assert.Throws<SlideException>(() => SlideOpener.Open(path).Dispose());
        Assert.Equal(path + ": OpenSlide does not recognise it as a MIRAX slide (the folder of the same name with Slidedat.ini must lie next to it)", e.Message);
    }

    [Fact]
    public void TheCliLoadsOpenSlideBeforeOpenCvCanCrashIt()
    {
        // In a fresh process (no test-assembly initializer), a PNG measured first loads OpenCV, whose exported libjpeg
        // crashes OpenSlide's JPEG decoding (exit 139) unless OpenSlide is loaded first: by HistoQuant's module
        // initializer, and by OpenSlideFormat's detection coming first in SlideFormats.All. Either alone keeps this green.
        using var tmp = new TempDir();
        var ndpi = tmp.File("gen.ndpi");
        VendorSlides.WriteNdpi(ndpi, 512, 384, levels: 2);
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "HistoQuant.Cli.dll"), "quantify", TestData.Wsi("boxes.png"), ndpi, "--mpp", "0.5", "--threads", "1", "--out", tmp.File("out") })
            start.ArgumentList.Add(a);
        using var child = System.Diagnostics.Process.Start(start)!;
        string stderr = child.StandardError.ReadToEnd();
        child.WaitForExit();
        Assert.True(child.ExitCode == 0, $"exit code {child.ExitCode}: {stderr}");
        Assert.Equal(["ok", "ok"], QuantifyRun.ReadCsv(Path.Combine(tmp.File("out"), "results.csv")).Select(r => r["status"]));
    }

    [Fact]
    public void ACorruptNdpiIsAnErrorRowWithOpenSlidesMessage()
    {
        using var tmp = new TempDir();
        var path = tmp.File("damaged.ndpi");
        VendorSlides.WriteNdpi(path);
        var bytes = File.ReadAllBytes(path);
        // The level-0 JPEG loses its start-of-image marker: OpenSlide still recognises the NDPI, then fails on it.
        int soi = bytes.AsSpan().IndexOf([(byte)0xFF, (byte)0xD8, (byte)0xFF]);
        bytes[soi] = bytes[soi + 1] = 0;
        File.WriteAllBytes(path, bytes);
        string outDir = tmp.File("out");
        Assert.Equal(Cli.Cli.SomeFailed, HistoQuantCli.Main(["quantify", path, "--out", outDir]));
        var row = Assert.Single(QuantifyRun.ReadCsv(Path.Combine(outDir, "results.csv")));
        Assert.Equal("error", row["status"]);
        Assert.Equal(path + ": OpenSlide: Can't validate JPEG for directory 0: Expected marker at " + soi + ", found none", row["error"]);
        Assert.DoesNotContain("\n", row["error"]);
    }
}
