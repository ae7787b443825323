using HistoQuant.Slides;

namespace HistoQuant.Tests;

/// <summary>Bad files end in one <see cref="SlideException"/> whose one-line message names the file.</summary>
public class BrokenInputTests
{
    private static void ReadEverything(string path)
    {
        using var slide = SlideOpener.Open(path);
        for (int l = 0; l < slide.Levels.Count; l++)
            TestData.ReadLevel(slide, l);
    }

    private static SlideException AssertSlideError(string path)
    {
        var e = Assert.Throws<SlideException>(() => ReadEverything(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void DeliberatelyBrokenAperioFileGivesClearError()
    {
        var path = TestData.Wsi("unreadable.svs");
        var e = AssertSlideError(path);
        Assert.Contains("corrupt JPEG", e.Message);
    }

    [Theory]
    [InlineData("cmu-1-small-region.svs")]
    [InlineData("OS-2-ndpi.ome.tif")]
    [InlineData("tcga-cr-7395-01a-01-ts1.svs")]
    [InlineData("boxes.tiff")]
    public void TruncatedCopiesFailCleanly(string name)
    {
        using var tmp = new TempDir();
        var bytes = File.ReadAllBytes(TestData.Wsi(name));
        foreach (double fraction in new[] { 0.0001, 0.01, 0.3, 0.6, 0.9, 0.999 })
        {
            int cut = Math.Max(1, (int)(bytes.Length * fraction));
            var path = tmp.File($"cut-{cut}-{name}");
            File.WriteAllBytes(path, bytes[..cut]);
            try
            {
                ReadEverything(path);
                // A cut that only loses trailing associated images (label, macro) may still read correctly.
                Assert.True(fraction > 0.5, $"{name} cut at {cut} bytes read without error");
            }
            catch (SlideException e)
            {
                Assert.StartsWith(path + ": ", e.Message);
            }
        }
    }

    [Fact]
    public void TruncatedTileDataIsNamedAsSuch()
    {
        using var tmp = new TempDir();
        var bytes = File.ReadAllBytes(TestData.Wsi("OS-2-ndpi.ome.tif"));
        var path = tmp.File("cut.ome.tif");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = AssertSlideError(path);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void RandomHeaderDamageNeverEscapesAsAnotherException()
    {
        using var tmp = new TempDir();
        var original = File.ReadAllBytes(TestData.Wsi("boxes.tiff"));
        var rng = new Random(1234);
        for (int trial = 0; trial < 60; trial++)
        {
            var bytes = (byte[])original.Clone();
            for (int k = 0; k < 4; k++)
                bytes[rng.Next(0, Math.Min(bytes.Length, 512))] = (byte)rng.Next(256);
            var path = tmp.File($"flip-{trial}.tiff");
            File.WriteAllBytes(path, bytes);
            try
            {
                ReadEverything(path);
            }
            catch (SlideException e)
            {
                Assert.StartsWith(path + ": ", e.Message);
            }
        }
    }

    [Fact]
    public void UnknownEmptyMissingAndFolderInputsAreNamed()
    {
        using var tmp = new TempDir();
        var text = tmp.File("notes.svs");
        File.WriteAllText(text, "this is not a slide");
        Assert.Contains("unknown format", AssertSlideError(text).Message);

        var empty = tmp.File("empty.tif");
        File.WriteAllBytes(empty, []);
        Assert.Contains("empty", AssertSlideError(empty).Message);

        Assert.Contains("not found", AssertSlideError(tmp.File("missing.svs")).Message);
        Assert.Contains("folder", AssertSlideError(tmp.Path).Message);

        var mrxs = tmp.File("scan.mrxs");
        File.WriteAllText(mrxs, "[GENERAL]");
        Assert.Contains("Slidedat.ini", AssertSlideError(mrxs).Message);
    }

    [Fact]
    public void AperioFileWithoutATiledImageIsRefused()
    {
        // small.svs with its TileWidth tags renamed (to tag 999): no directory is tiled any more.
        var b = File.ReadAllBytes(TestData.Wsi("small.svs"));
        for (int i = 0; i + 1 < b.Length; i += 2)
            if (b[i] == 0x42 && b[i + 1] == 0x01 && i + 3 < b.Length && b[i + 2] == 3) // tag 322, type SHORT
                (b[i], b[i + 1]) = (0xE7, 0x03);
        using var tmp = new TempDir();
        var path = tmp.File("untiled.svs");
        File.WriteAllBytes(path, b);
        var message = AssertSlideError(path).Message;
        Assert.True(message.Contains("no tiled") || message.Contains("no StripOffsets"), message);
    }

    [Fact]
    public void IfdLoopIsDetected()
    {
        using var tmp = new TempDir();
        // Little-endian TIFF whose only IFD points back to itself.
        var b = new byte[8 + 2 + 12 + 4];
        "II"u8.CopyTo(b);
        b[2] = 42;
        b[4] = 8;
        b[8] = 1;                                // one entry
        b[10] = 0; b[11] = 1;                    // tag 256 ImageWidth
        b[12] = 3;                               // SHORT
        b[14] = 1;                               // count 1
        b[18] = 16;                              // width 16
        b[22] = 8;                               // next IFD = 8: a loop
        var path = tmp.File("loop.tif");
        File.WriteAllBytes(path, b);
        Assert.Contains("loops", AssertSlideError(path).Message);
    }
}
