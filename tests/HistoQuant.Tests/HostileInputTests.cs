using System.Buffers.Binary;
using HistoQuant.Slides;
using HistoQuant.Slides.Tiff;
using OpenCvSharp;

namespace HistoQuant.Tests;

/// <summary>
/// Hostile and damaged files built here from real ones: never a silent "ok" with wrong numbers, never gigabytes
/// for a small file. Each case failed (status ok, or a huge allocation) before the fix it guards.
/// </summary>
[Collection(MeasuresAllocations.Name)]
public class HostileInputTests
{
    private static Dictionary<string, string> Row(TempDir tmp, string path, params string[] more)
    {
        string outDir = tmp.File("out-" + Guid.NewGuid().ToString("N"));
        HistoQuant.Cli.HistoQuantCli.Main(["quantify", path, "--out", outDir, .. more]);
        return Assert.Single(QuantifyRun.ReadCsv(Path.Combine(outDir, "results.csv")));
    }

    private static (long[] Offsets, long[] Counts, byte[] Tables) Level0Tiles(string path)
    {
        using var file = TiffFile.Open(path);
        var dir = file.Directories[0];
        return (dir.GetLongArray(TiffTag.TileOffsets, file)!, dir.GetLongArray(TiffTag.TileByteCounts, file)!, dir.GetBytes(TiffTag.JpegTables, file) ?? []);
    }

    /// <summary>Index just past the start-of-scan header of a JPEG tile: where its entropy-coded data begins.</summary>
    private static int EntropyStart(ReadOnlySpan<byte> tile)
    {
        int sos = tile.IndexOf([(byte)0xFF, (byte)0xDA]);
        Assert.True(sos > 0);
        return sos + 2 + BinaryPrimitives.ReadUInt16BigEndian(tile[(sos + 2)..]);
    }

    [Fact]
    public void GarbageInsideJpegTilesMakesTheSlideAnErrorRowNotAWrongNumber()
    {
        using var tmp = new TempDir();
        string source = TestData.Wsi("cmu-1-small-region.svs");
        var bytes = File.ReadAllBytes(source);
        var (offsets, counts, _) = Level0Tiles(source);
        var rng = new Random(7);
        foreach (int t in new[] { 20, 61, 95 })
        {
            int start = (int)offsets[t] + EntropyStart(bytes.AsSpan((int)offsets[t], (int)counts[t]));
            rng.NextBytes(bytes.AsSpan(start + 200, 300));
        }
        string path = tmp.File("garbage-tiles.svs");
        File.WriteAllBytes(path, bytes);
        var row = Row(tmp, path);
        Assert.Equal("error", row["status"]);
        Assert.Contains("garbage-tiles.svs", row["error"]);
        Assert.Contains("corrupt JPEG data", row["error"]);
        Assert.Equal("", row["positive_area_pct"]);
    }

    [Fact]
    public void ZeroedQuantisationTableInJpegTablesIsAnError()
    {
        using var tmp = new TempDir();
        string source = TestData.Wsi("cmu-1-small-region.svs");
        var bytes = File.ReadAllBytes(source);
        var (_, _, tables) = Level0Tiles(source);
        int at = bytes.AsSpan().IndexOf(tables);
        int dqt = tables.AsSpan().IndexOf([(byte)0xFF, (byte)0xDB]);
        Assert.True(at > 0 && dqt > 0);
        bytes.AsSpan(at + dqt + 5, 64).Clear(); // the first table's 64 quantisers (8-bit)
        string path = tmp.File("zeroed-table.svs");
        File.WriteAllBytes(path, bytes);
        var row = Row(tmp, path);
        Assert.Equal("error", row["status"]);
        Assert.Contains("quantisation table holds zeros", row["error"]);
    }

    [Fact]
    public void PlainJpegCutInHalfIsAnErrorAndWholeIsMeasured()
    {
        using var tmp = new TempDir();
        using var image = Cv2.ImRead(TestData.Ihc("skimage-ihc.png"));
        Cv2.ImEncode(".jpg", image, out var jpeg, new ImageEncodingParam(ImwriteFlags.JpegQuality, 95));
        File.WriteAllBytes(tmp.File("whole.jpg"), jpeg);
        File.WriteAllBytes(tmp.File("half.jpg"), jpeg[..(jpeg.Length / 2)]);
        Assert.Equal("ok", Row(tmp, tmp.File("whole.jpg"), "--mpp", "0.5")["status"]);
        var half = Row(tmp, tmp.File("half.jpg"), "--mpp", "0.5");
        Assert.Equal("error", half["status"]);
        Assert.Contains("half.jpg: JPEG image: corrupt JPEG data", half["error"]);
    }

    [Fact]
    public void JpegDeclaringAGiantFrameIsRefusedBeforeDecoding()
    {
        using var tmp = new TempDir();
        using var image = new Mat(16, 16, MatType.CV_8UC3, Scalar.All(200));
        Cv2.ImEncode(".jpg", image, out var jpeg);
        int sof = jpeg.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), 32000);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), 32000);
        File.WriteAllBytes(tmp.File("bomb.jpg"), jpeg);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<SlideException>(() => SlideOpener.Open(tmp.File("bomb.jpg")).Dispose());
        Assert.Contains("32000x32000 px is too large", e.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 50_000_000);
    }

    [Fact]
    public void PngChunkLongerThanTheFileIsRefused()
    {
        using var tmp = new TempDir();
        using var image = new Mat(32, 32, MatType.CV_8UC3, Scalar.All(200));
        Cv2.ImEncode(".png", image, out var png);
        int idat = png.AsSpan().IndexOf("IDAT"u8);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(idat - 4), 0x7FFF_FFF0);
        File.WriteAllBytes(tmp.File("idat.png"), png);
        var e = Assert.Throws<SlideException>(() => SlideOpener.Open(tmp.File("idat.png")).Dispose());
        Assert.Contains("PNG chunk IDAT claims", e.Message);
    }

    [Fact]
    public void TransparentPixelsOfAPngAreGlassNotBlackDab()
    {
        using var tmp = new TempDir();
        // Left half: transparent black; right half: opaque brown (DAB-like).
        using var bgra = new Mat(64, 64, MatType.CV_8UC4, new Scalar(0, 0, 0, 0));
        bgra[new Rect(32, 0, 32, 64)].SetTo(new Scalar(60, 90, 140, 255));
        Cv2.ImWrite(tmp.File("alpha.png"), bgra);
        using var slide = SlideOpener.Open(tmp.File("alpha.png"));
        var rgb = TestData.ReadLevel(slide, 0);
        Assert.Equal([255, 255, 255], rgb.Pixels[..3].Select(b => (int)b));
        int right = (10 * 64 + 40) * 3;
        Assert.Equal([140, 90, 60], rgb.Pixels[right..(right + 3)].Select(b => (int)b));
    }

    [Theory]
    [InlineData(2, 255)] // unassociated alpha: transparent black is glass
    [InlineData(1, 255)] // associated (premultiplied) alpha: likewise
    [InlineData(0, 0)]   // unspecified extra sample: not alpha, the colour stands
    public void TransparentPixelsOfAnRgbaTiffAreGlass(int extraSamples, int expected)
    {
        using var tmp = new TempDir();
        var tiff = new TinyTiff();
        // 16x16 uncompressed RGBA strip: left half transparent black, right half opaque brown.
        var pixels = new byte[16 * 16 * 4];
        for (int i = 0; i < 16 * 16; i++)
            if (i % 16 >= 8)
                new byte[] { 140, 90, 60, 255 }.CopyTo(pixels, i * 4);
        tiff.Directories.Add(new TinyTiff.Directory()
            .Tag(256, TinyTiff.Long, 16).Tag(257, TinyTiff.Long, 16).Tag(258, TinyTiff.Short, 8, 8, 8, 8).Tag(259, TinyTiff.Short, 1)
            .Tag(262, TinyTiff.Short, 2).Tag(273, TinyTiff.Long, 0).Tag(277, TinyTiff.Short, 4).Tag(278, TinyTiff.Long, 16)
            .Tag(279, TinyTiff.Long, pixels.Length).Tag(338, TinyTiff.Short, extraSamples));
        tiff.Write(tmp.File("rgba.tif"));
        var bytes = File.ReadAllBytes(tmp.File("rgba.tif"));
        // The strip goes at the end of the file; StripOffsets (tag 273) is patched to point at it.
        using (var file = TiffFile.Open(tmp.File("rgba.tif")))
            Assert.NotNull(file.Directories[0].GetLong(TiffTag.StripOffsets, file));
        int entry = bytes.AsSpan(8).IndexOf(new byte[] { 0x11, 0x01, 4, 0, 1, 0, 0, 0 }) + 8;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(entry + 8), (uint)bytes.Length);
        File.WriteAllBytes(tmp.File("rgba.tif"), [.. bytes, .. pixels]);
        using var slide = SlideOpener.Open(tmp.File("rgba.tif"));
        var rgb = TestData.ReadLevel(slide, 0);
        Assert.Equal([expected, expected, expected], rgb.Pixels[..3].Select(b => (int)b));
        int right = (5 * 16 + 12) * 3;
        Assert.Equal([140, 90, 60], rgb.Pixels[right..(right + 3)].Select(b => (int)b));
    }
}

/// <summary>Tiny TIFF containers that declare huge work: refused when opened, before any pixel is decoded.</summary>
[Collection(MeasuresAllocations.Name)]
public class SlideBudgetTests
{
    private static SlideException Refused(TinyTiff tiff, string name)
    {
        using var tmp = new TempDir();
        string path = tmp.File(name);
        tiff.Write(path);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<SlideException>(() => SlideOpener.Open(path).Dispose());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.StartsWith(path + ": ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void SparseTerapixelTiffIsRefusedAtOnce()
    {
        // 2 MB on disk, 2,097,152² px declared: this took hours (the overview decoded every sparse tile).
        var tiff = new TinyTiff();
        tiff.AddSparseTiled(2_097_152, 2_097_152, 4096);
        Assert.Contains("Gpx", Refused(tiff, "giant.tif").Message);
    }

    [Fact]
    public void HugeImageWithoutAPyramidIsRefusedButWithOneIsOpened()
    {
        var flat = new TinyTiff();
        flat.AddSparseTiled(80_000, 60_000, 512);
        Assert.Contains("no reduced-resolution level", Refused(flat, "flat.tif").Message);

        var pyramid = new TinyTiff();
        pyramid.AddSparseTiled(80_000, 60_000, 512).Next = 1;
        pyramid.AddSparseTiled(2_500, 1_875, 512).Tag(254, TinyTiff.Long, 1);
        using var tmp = new TempDir();
        pyramid.Write(tmp.File("pyramid.tif"));
        using var slide = SlideOpener.Open(tmp.File("pyramid.tif"));
        Assert.Equal(2, slide.Levels.Count);
    }

    [Fact]
    public void SubIfdPointingBackAtTheMainChainIsRefused()
    {
        // Each main image's SubIFDs re-point at the next main image: read this way the large images multiply.
        var tiff = new TinyTiff();
        for (int i = 0; i < 3; i++)
            tiff.AddSparseTiled(4096, 4096, 512).Next = i < 2 ? i + 1 : -1;
        tiff.Directories[0].SubIfds(1, 2);
        Assert.Contains("referenced twice", Refused(tiff, "subifd-loop.tif").Message);
    }

    [Fact]
    public void DirectoryBudgetIsFileWideNotPerChain()
    {
        // 80 main images with 60 SubIFDs each: 4,880 directories, no chain longer than 80.
        var tiff = new TinyTiff();
        for (int i = 0; i < 80; i++)
        {
            var main = tiff.AddSparseTiled(256, 256, 256);
            main.Next = i < 79 ? tiff.Directories.Count + 60 : -1;
            int first = tiff.Directories.Count;
            for (int k = 0; k < 60; k++)
                tiff.AddSparseTiled(128, 128, 128);
            main.SubIfds(Enumerable.Range(first, 60).ToArray());
        }
        Assert.Contains("more than 4096 image directories", Refused(tiff, "flood.tif").Message);
    }
}
