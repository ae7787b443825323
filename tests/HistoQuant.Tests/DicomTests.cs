using System.Globalization;
using HistoQuant.Cli;
using HistoQuant.Slides;
using HistoQuant.Slides.Dicom;

namespace HistoQuant.Tests;

/// <summary>
/// The DICOM WSI reader against an independent decode of the shared files. Reference values were made once with
/// Debian bookworm's python3-pydicom 2.3.1 and python3-pil 9.4: pydicom split the encapsulated Pixel Data into frames
/// (pydicom.encaps.generate_pixel_data_frame), Pillow decoded each JPEG frame to RGB, and numpy assembled the frames
/// row by row (TILED_FULL) and took means and pixels; boxes_1.dcm (uncompressed) is pydicom's pixel_array as it is.
/// small_dicom.dcm's frames say Photometric RGB but carry JFIF markers (YCbCr): Pillow, libjpeg and our reader follow
/// the stream (pydicom's own pixel_array leaves the YCbCr values unconverted for Photometric RGB; converted with its
/// convert_color_space it agrees with Pillow within 1).
/// </summary>
public class DicomTests
{
    private static void AssertPixel(RgbImage image, int x, int y, int r, int g, int b, int tolerance)
    {
        var p = image[x, y];
        Assert.True(Math.Abs(p.R - r) <= tolerance && Math.Abs(p.G - g) <= tolerance && Math.Abs(p.B - b) <= tolerance,
            $"pixel ({x},{y}) is {p}, the reference decode has ({r}, {g}, {b})");
    }

    private static void AssertMean(RgbImage image, double r, double g, double b, double tolerance)
    {
        var mean = TestData.MeanRgb(image);
        Assert.Equal(r, mean[0], tolerance);
        Assert.Equal(g, mean[1], tolerance);
        Assert.Equal(b, mean[2], tolerance);
    }

    [Fact]
    public void SmallDicomReadsInTrueColourLikePillowsDecodeOfItsFrames()
    {
        using var slide = SlideOpener.Open(TestData.Wsi("small_dicom.dcm"), out var format);
        Assert.IsType<DicomFormat>(format);
        Assert.Equal("dicom-wsi", slide.Format);
        var l0 = Assert.Single(slide.Levels);
        Assert.Equal((3236, 2638, 500, 500), (l0.Width, l0.Height, l0.TileWidth, l0.TileHeight));
        Assert.Null(slide.MppX); // no Pixel Measures: quantify asks for --mpp rather than guessing
        var level = TestData.ReadLevel(slide, 0);
        AssertMean(level, 182.516, 164.565, 175.953, 0.3);
        AssertPixel(level, 0, 0, 237, 236, 234, 2);
        AssertPixel(level, 1000, 1000, 241, 241, 241, 2);
        AssertPixel(level, 3235, 2637, 236, 236, 236, 2);
        AssertPixel(level, 1618, 1319, 0, 0, 0, 2);
        AssertPixel(level, 2500, 2200, 137, 118, 137, 2);
        AssertPixel(level, 700, 1800, 180, 119, 152, 2);
        // Whole frames, padding of the edge frame included (frame index = row * 7 + col).
        var frame = new byte[500 * 500 * 3];
        foreach (var (index, r, g, b) in new[] { (0, 202.78, 217.97, 215.16), (8, 209.1, 153.64, 180.22), (20, 215.58, 187.09, 201.24), (41, 31.62, 31.27, 31.39) })
        {
            slide.ReadTile(0, index % 7, index / 7, frame);
            AssertMean(new RgbImage(500, 500, frame), r, g, b, 0.3);
        }
    }

    [Fact]
    public void BoxesPyramidIsTheSeriesVolumeImageWithPixelSpacingAndPaddedFrame()
    {
        foreach (var file in new[] { "boxes_0.dcm", "boxes_1.dcm" })
        {
            // Either file opens the series; its THUMBNAIL instance (boxes_1) is not a pyramid level.
            using var slide = SlideOpener.Open(TestData.Wsi(file));
            var l0 = Assert.Single(slide.Levels);
            Assert.Equal((16, 16, 64, 64), (l0.Width, l0.Height, l0.TileWidth, l0.TileHeight));
            Assert.Equal("boxes_0.dcm", slide.Properties["dicom.Files"]);
            Assert.Equal(0.499, slide.MppX!.Value, 6);
            Assert.Equal(0.499, slide.MppY!.Value, 6);
            Assert.Equal(20, slide.Magnification);
            var level = TestData.ReadLevel(slide, 0);
            AssertMean(level, 238.152, 233.945, 236.816, 0.3);
            AssertPixel(level, 0, 0, 245, 243, 252, 1);
            AssertPixel(level, 8, 8, 173, 160, 189, 1);
            AssertPixel(level, 10, 5, 229, 224, 229, 1);
            AssertPixel(level, 15, 15, 234, 238, 248, 1);
        }
    }

    [Fact]
    public void UncompressedFramesReadExactly()
    {
        using var level = DicomLevel.Open(TestData.Wsi("boxes_1.dcm"));
        Assert.False(level.IsVolume);
        var rgb = new byte[16 * 16 * 3];
        level.ReadTile(0, 0, rgb);
        var image = new RgbImage(16, 16, rgb);
        AssertMean(image, 238.461, 233.73, 237.055, 0.01);
        AssertPixel(image, 0, 0, 246, 246, 246, 0);
        AssertPixel(image, 8, 8, 171, 162, 181, 0);
        AssertPixel(image, 10, 5, 234, 236, 224, 0);
        AssertPixel(image, 15, 15, 251, 245, 247, 0);
    }

    [Fact]
    public void ADicomFileWithATiffHeaderInItsPreambleIsReadAsDicom()
    {
        // Dual-personality DICOM-TIFF files put a TIFF header in the 128-byte preamble; DICOM is tried first.
        using var tmp = new TempDir();
        var path = tmp.File("dual.dcm");
        DicomWriter.Write(path, 300, 200, 256, DicomWriter.Codec.JpegYbr, sparse: false);
        var bytes = File.ReadAllBytes(path);
        "II*\0"u8.CopyTo(bytes);
        File.WriteAllBytes(path, bytes);
        using var slide = SlideOpener.Open(path, out var format);
        Assert.IsType<DicomFormat>(format);
        Assert.Equal((300, 200), (slide.Levels[0].Width, slide.Levels[0].Height));
    }

    [Fact]
    public void RgbJpegFramesWithoutAColourMarkerAreNotTakenForYCbCr()
    {
        // boxes_0.dcm's frame says RGB through an Adobe APP14 marker (transform 0). Turned into a comment of the same
        // length, the stream is one that only the Photometric Interpretation (RGB) describes, as some converters write.
        using var tmp = new TempDir();
        var bytes = File.ReadAllBytes(TestData.Wsi("boxes_0.dcm"));
        int adobe = bytes.AsSpan().IndexOf("Adobe"u8) - 4;
        Assert.Equal(0xEE, bytes[adobe + 1]);
        bytes[adobe + 1] = 0xFE; // APP14 -> COM
        var path = tmp.File("boxes_0.dcm");
        File.WriteAllBytes(path, bytes);
        using var slide = SlideOpener.Open(path);
        var level = TestData.ReadLevel(slide, 0);
        AssertMean(level, 238.152, 233.945, 236.816, 0.3);
        AssertPixel(level, 8, 8, 173, 160, 189, 1);
    }

    [Theory]
    [InlineData(DicomWriter.Codec.JpegYbr, false, 6)]
    [InlineData(DicomWriter.Codec.JpegYbr, true, 6)]
    [InlineData(DicomWriter.Codec.Jpeg2000, true, 6)]
    [InlineData(DicomWriter.Codec.Uncompressed, false, 0)]
    public void GeneratedLevelsReadWhereTheirFramesSay(DicomWriter.Codec codec, bool sparse, int tolerance)
    {
        using var tmp = new TempDir();
        var path = tmp.File("gen.dcm");
        // 600x400 in 256 px frames: a 3x2 grid with padded edge frames; sparse files leave frame 1 (col 1, row 0) out.
        DicomWriter.Write(path, 600, 400, 256, codec, sparse, mppMm: 0.00025, omit: [1]);
        using var slide = SlideOpener.Open(path);
        Assert.Equal((600, 400), (slide.Levels[0].Width, slide.Levels[0].Height));
        Assert.Equal(0.25, slide.MppX!.Value, 6);
        Assert.Equal(sparse ? "TILED_SPARSE" : "TILED_FULL", slide.Properties["dicom.DimensionOrganizationType"]);
        var level = TestData.ReadLevel(slide, 0);
        for (int y = 2; y < 400; y += 7)
            for (int x = 2; x < 600; x += 7)
            {
                bool missing = sparse && x is >= 256 and < 512 && y < 256;
                var want = missing ? ((byte)255, (byte)255, (byte)255) : VendorSlides.Expected(x + 0.5, y + 0.5, 600, 400);
                bool nearEdge = new[] { -6, 6 }.Any(d => VendorSlides.Expected(x + 0.5 + d, y + 0.5 + d, 600, 400) != VendorSlides.Expected(x + 0.5, y + 0.5, 600, 400)
                    || VendorSlides.Expected(x + 0.5 + d, y + 0.5 - d, 600, 400) != VendorSlides.Expected(x + 0.5, y + 0.5, 600, 400));
                if (nearEdge || (sparse && Math.Abs(x - 256) < 8) || (sparse && Math.Abs(x - 512) < 8) || (sparse && Math.Abs(y - 256) < 8))
                    continue;
                AssertPixel(level, x, y, want.Item1, want.Item2, want.Item3, tolerance);
            }
    }

    [Fact]
    public void InfoThumbnailAndQuantifyWorkOnDicom()
    {
        using var tmp = new TempDir();
        var dir = Directory.CreateDirectory(tmp.File("series")).FullName;
        // A two-level series, one file per level, plus its thumbnail: a folder run measures it once.
        DicomWriter.Write(Path.Combine(dir, "level_0.dcm"), 1024, 768, 256, DicomWriter.Codec.JpegYbr, sparse: false, mppMm: 0.0005);
        DicomWriter.Write(Path.Combine(dir, "level_1.dcm"), 512, 384, 256, DicomWriter.Codec.JpegYbr, sparse: false, mppMm: 0.001);
        DicomWriter.Write(Path.Combine(dir, "thumb.dcm"), 256, 192, 256, DicomWriter.Codec.JpegYbr, sparse: false, mppMm: 0.002, imageType: "DERIVED\\PRIMARY\\THUMBNAIL\\RESAMPLED");
        using (var slide = SlideOpener.Open(Path.Combine(dir, "level_1.dcm"), out var format))
        {
            Assert.Equal([(1024, 768), (512, 384)], slide.Levels.Select(l => (l.Width, l.Height)));
            var info = InfoCommand.Describe(slide, format);
            Assert.Contains("reader:        HistoQuant DICOM reader", info);
            Assert.Contains("mpp:           0.5 x 0.5 µm/px", info);
        }
        var png = tmp.File("thumb.png");
        Assert.Equal(0, HistoQuantCli.Main(["thumbnail", Path.Combine(dir, "level_0.dcm"), "--max-size", "256", "--out", png]));
        var thumb = TestData.ReadPng(png);
        Assert.Equal((256, 192), (thumb.Width, thumb.Height));
        AssertPixel(thumb, 80, 96, VendorSlides.Dab.R, VendorSlides.Dab.G, VendorSlides.Dab.B, 6);
        AssertPixel(thumb, 180, 96, VendorSlides.Hematoxylin.R, VendorSlides.Hematoxylin.G, VendorSlides.Hematoxylin.B, 6);

        var row = QuantifyRun.Row(tmp, dir, "--tissue", "all");
        Assert.Equal(Path.Combine(dir, "level_0.dcm"), row["slide"]);
        Assert.Equal("ok", row["status"]);
        Assert.Equal(0.5, QuantifyRun.Number(row, "mpp"), 6);
        Assert.Equal(1024 * 768 * 0.25 * 1e-6, QuantifyRun.Number(row, "tissue_area_mm2"), 5);
        Assert.InRange(QuantifyRun.Number(row, "positive_area_pct"), 17.5, 20.0);

        // The shared slide has no pixel size: an error row that asks for --mpp, then measured with it.
        string outDir = tmp.File("out-nompp");
        Assert.Equal(Cli.Cli.SomeFailed, HistoQuantCli.Main(["quantify", TestData.Wsi("small_dicom.dcm"), "--out", outDir]));
        Assert.Contains("--mpp", Assert.Single(QuantifyRun.ReadCsv(Path.Combine(outDir, "results.csv")))["error"]);
        Assert.Equal("ok", QuantifyRun.Row(tmp, TestData.Wsi("small_dicom.dcm"), "--mpp", "0.5")["status"]);
    }

    [Fact]
    public void BrokenDicomFilesAreOneLineErrors()
    {
        using var tmp = new TempDir();
        var path = tmp.File("cut.dcm");
        DicomWriter.Write(path, 600, 400, 256, DicomWriter.Codec.JpegYbr, sparse: false);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 3000)]);
        var e = Assert.Throws<SlideException>(() => SlideOpener.Open(path).Dispose());
        Assert.Equal(path + ": DICOM: encapsulated pixel data is damaged (a fragment runs past the end of the file)", e.Message);
        // A damaged level beside a good file of the same series is named.
        var good = tmp.File("good.dcm");
        DicomWriter.Write(good, 300, 200, 256, DicomWriter.Codec.JpegYbr, sparse: false);
        Assert.Equal(good + ": DICOM: cut.dcm (a file of the same series): encapsulated pixel data is damaged (a fragment runs past the end of the file)",
            Assert.Throws<SlideException>(() => SlideOpener.Open(good).Dispose()).Message);

        var ct = tmp.File("ct.dcm");
        DicomWriter.Write(ct, 64, 64, 64, DicomWriter.Codec.Uncompressed, sparse: false, sopClass: "1.2.840.10008.5.1.4.1.1.2", seriesUid: "1.2.826.0.1.3680043.10.1234.3");
        Assert.Contains("is DICOM but not a whole-slide image (SOP class 1.2.840.10008.5.1.4.1.1.2", Assert.Throws<SlideException>(() => SlideOpener.Open(ct).Dispose()).Message);

        // A frame whose JPEG data is damaged: the tile read fails with the file and the frame named.
        var bad = tmp.File("bad.dcm");
        DicomWriter.Write(bad, 256, 256, 256, DicomWriter.Codec.JpegYbr, sparse: false, seriesUid: "1.2.826.0.1.3680043.10.1234.2");
        bytes = File.ReadAllBytes(bad);
        int soi = bytes.AsSpan().IndexOf([(byte)0xFF, (byte)0xD8, (byte)0xFF]);
        bytes.AsSpan(soi + 2, 200).Fill(0x11);
        File.WriteAllBytes(bad, bytes);
        using var slide = SlideOpener.Open(bad);
        var tileError = Assert.Throws<SlideException>(() => slide.ReadTile(0, 0, 0, new byte[256 * 256 * 3]));
        Assert.StartsWith(bad + ": DICOM frame for tile (0,0) of level 0: ", tileError.Message);
    }

    [Theory]
    [InlineData("small_dicom.dcm")]
    [InlineData("boxes_0.dcm")]
    [InlineData("boxes_1.dcm")]
    public void DamagedCopiesFailCleanly(string name)
    {
        // As FuzzTests does for the TIFFs: truncations, byte flips in the header, garbage in the frames; each case ends
        // in a read or a one-line SlideException naming the file, within 30 s (a guard against hangs, not a timing: the
        // first case, cold, once took over 10 s on two cores beside the parallel fibre tests).
        var original = File.ReadAllBytes(TestData.Wsi(name));
        var rng = new Random(name.Length * 104729);
        using var tmp = new TempDir();
        var failures = new List<string>();
        int cases = 0, errors = 0;
        void Try(byte[] bytes)
        {
            string path = tmp.File($"case-{cases++}.dcm"); // alone in its folder: no series to join
            File.WriteAllBytes(path, bytes);
            var run = Task.Run(() =>
            {
                using var slide = SlideOpener.Open(path);
                var l = slide.Levels[0];
                var tile = new byte[l.TileBufferBytes()];
                foreach (var (c, r) in new[] { (0, 0), (l.TilesAcross - 1, l.TilesDown - 1), (l.TilesAcross / 2, l.TilesDown / 2) })
                    slide.ReadTile(0, c, r, tile);
            });
            try
            {
                if (!run.Wait(TimeSpan.FromSeconds(30)))
                    failures.Add($"case {cases - 1}: no answer within 30 s");
            }
            catch (AggregateException e) when (e.InnerException is SlideException se)
            {
                errors++;
                if (!se.Message.StartsWith(path + ": ") || se.Message.Contains('\n'))
                    failures.Add($"case {cases - 1}: badly formed error '{se.Message}'");
            }
            catch (AggregateException e)
            {
                failures.Add($"case {cases - 1}: {e.InnerException!.GetType().Name}: {e.InnerException.Message}");
            }
            File.Delete(path);
        }
        int header = Math.Min(original.Length, name == "small_dicom.dcm" ? 1400 : 2600);
        foreach (int cut in Enumerable.Range(0, 20).Select(i => i < 10 ? 1 + i * header / 10 : rng.Next(1, original.Length)))
            Try(original[..cut]);
        for (int i = 0; i < 40; i++)
        {
            var b = (byte[])original.Clone();
            for (int k = 0; k < 1 + rng.Next(4); k++)
                b[132 + rng.Next(header - 132)] = (byte)rng.Next(256);
            Try(b);
        }
        for (int i = 0; i < 10; i++)
        {
            var b = (byte[])original.Clone();
            int start = header + rng.Next(Math.Max(1, b.Length - header - 64));
            rng.NextBytes(b.AsSpan(start, Math.Min(b.Length - start, 16 + rng.Next(256))));
            Try(b);
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(errors >= 20, $"only {errors} of {cases} damaged copies were refused: the damage misses the file's structure");
    }
}
