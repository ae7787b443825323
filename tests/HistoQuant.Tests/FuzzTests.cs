using System.Buffers.Binary;
using System.Diagnostics;
using HistoQuant.Slides;

namespace HistoQuant.Tests;

/// <summary>
/// A fixed-seed corpus of damaged slides made from the real ones: truncations, byte flips in the header
/// region, corrupted tag values (sizes, offsets, counts), bad tile data. Every case must end in a correct
/// read or a one-line <see cref="SlideException"/> naming the file, within a time bound; never another
/// exception, a hang or a runaway allocation.
/// </summary>
[Collection(MeasuresAllocations.Name)]
public class FuzzTests
{
    // A guard against hangs, not a timing: generous, since CI's two cores run other test classes beside these.
    private static readonly TimeSpan PerCase = TimeSpan.FromSeconds(30);

    private static void ReadAll(string path)
    {
        using var slide = SlideOpener.Open(path);
        var tile = new byte[slide.Levels.Max(l => l.TileBufferBytes()) + 64];
        // Every tile of small levels; of large ones the corners, the middle and a diagonal (decoding a whole
        // JPEG 2000 level per case would make the corpus too slow for CI).
        foreach (var level in slide.Levels)
        {
            if (level.TileCount <= 30)
            {
                for (int r = 0; r < level.TilesDown; r++)
                    for (int c = 0; c < level.TilesAcross; c++)
                        slide.ReadTile(level.Index, c, r, tile);
                continue;
            }
            int lastC = level.TilesAcross - 1, lastR = level.TilesDown - 1;
            foreach (var (c, r) in new[] { (0, 0), (lastC, 0), (0, lastR), (lastC, lastR), (lastC / 2, lastR / 2), (lastC / 3, lastR / 3) })
                slide.ReadTile(level.Index, c, r, tile);
        }
        var smallest = slide.Levels[^1];
        if (smallest.TileCount <= 30)
            SlideOverview.Render(slide, Math.Min(64, smallest.Width), Math.Min(64, smallest.Height), maxThreads: 1);
    }

    private static void Check(string path, List<string> failures)
    {
        long before = GC.GetTotalAllocatedBytes(precise: false);
        var clock = Stopwatch.StartNew();
        var run = Task.Run(() => ReadAll(path));
        try
        {
            if (!run.Wait(PerCase))
                failures.Add($"{Path.GetFileName(path)}: no answer within {PerCase.TotalSeconds} s");
        }
        catch (AggregateException e) when (e.InnerException is SlideException s)
        {
            if (!s.Message.StartsWith(path + ": ") || s.Message.Contains('\n'))
                failures.Add($"{Path.GetFileName(path)}: badly formed error '{s.Message}'");
        }
        catch (AggregateException e)
        {
            failures.Add($"{Path.GetFileName(path)}: {e.InnerException!.GetType().Name}: {e.InnerException.Message}");
        }
        long allocated = GC.GetTotalAllocatedBytes(precise: false) - before;
        if (allocated > 2L << 30)
            failures.Add($"{Path.GetFileName(path)}: allocated {allocated >> 20} MB");
    }

    public static IEnumerable<object[]> Sources() =>
    [
        ["boxes.tiff"], ["small.svs"], ["OS-2-vsi.ome.tif"], ["tcga-cr-7395-01a-01-ts1.svs"],
    ];

    [Theory]
    [MemberData(nameof(Sources))]
    public void DamagedCopiesFailCleanly(string name)
    {
        var original = File.ReadAllBytes(TestData.Wsi(name));
        var rng = new Random(name.Length * 7919);
        using var tmp = new TempDir();
        var failures = new List<string>();
        int cases = 0;

        void Try(string label, byte[] bytes)
        {
            string path = tmp.File($"{label}-{cases++}-{name}");
            File.WriteAllBytes(path, bytes);
            Check(path, failures);
            File.Delete(path);
        }

        // Truncations at many offsets, dense in the header.
        foreach (int cut in Enumerable.Range(0, 25).Select(i => i < 10 ? i * 37 + 1 : rng.Next(1, original.Length)))
            Try("cut", original[..Math.Min(cut, original.Length - 1)]);

        // Random byte flips in the first 4 KB (header, IFDs, tag values).
        for (int i = 0; i < 40; i++)
        {
            var b = (byte[])original.Clone();
            for (int k = 0; k < 1 + rng.Next(4); k++)
                b[rng.Next(Math.Min(4096, b.Length))] = (byte)rng.Next(256);
            Try("flip", b);
        }

        // Targeted tag damage: each IFD entry's value field of the first directory set to extremes.
        bool be = original[0] == 'M';
        uint ifd = be ? BinaryPrimitives.ReadUInt32BigEndian(original.AsSpan(4)) : BinaryPrimitives.ReadUInt32LittleEndian(original.AsSpan(4));
        int entries = be ? BinaryPrimitives.ReadUInt16BigEndian(original.AsSpan((int)ifd)) : BinaryPrimitives.ReadUInt16LittleEndian(original.AsSpan((int)ifd));
        uint[] extremes = [0, 1, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, (uint)original.Length, (uint)original.Length - 2];
        for (int e = 0; e < entries; e++)
        {
            int at = (int)ifd + 2 + e * 12;
            foreach (uint v in extremes.OrderBy(_ => rng.Next()).Take(2))
            {
                var b = (byte[])original.Clone();
                // Both the count and the value/offset field.
                var field = rng.Next(2) == 0 ? at + 4 : at + 8;
                if (be) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(field), v);
                else BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(field), v);
                Try("tag", b);
            }
        }

        // Garbage inside tile data (past the headers): corrupt JPEG / JPEG 2000 / Deflate streams.
        for (int i = 0; i < 15; i++)
        {
            var b = (byte[])original.Clone();
            int start = Math.Min(b.Length - 1, 4096 + rng.Next(Math.Max(1, b.Length - 4096)));
            int len = Math.Min(b.Length - start, 64 + rng.Next(512));
            rng.NextBytes(b.AsSpan(start, len));
            Try("garbage", b);
        }

        Assert.True(cases > 80, $"only {cases} cases");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>
    /// The hostile kinds an outside test found (each once fixed by a targeted test in HostileInputTests), made many
    /// times over with a fixed seed: JPEG entropy garbage, damaged JPEG tables, SOF bombs in tiles and in plain
    /// JPEGs, PNG chunk lengths, SubIFD amplification and sparse giants. Each case gets the same time and memory
    /// budget as the corpus above; damaged JPEG data must be reported, not measured.
    /// </summary>
    [Fact]
    public void HostileMutationsFailCleanlyWithinBudget()
    {
        using var tmp = new TempDir();
        var failures = new List<string>();
        var rng = new Random(2311);
        int cases = 0, jpegCases = 0, jpegReported = 0;

        bool Try(string name, byte[] bytes)
        {
            string path = tmp.File($"{cases++}-{name}");
            File.WriteAllBytes(path, bytes);
            int before = failures.Count;
            Check(path, failures);
            bool refused;
            try
            {
                // Every tile of level 0 (ReadAll samples large levels), so that damage anywhere is met.
                using var slide = SlideOpener.Open(path);
                var level = slide.Levels[0];
                var tile = new byte[level.TileBufferBytes() + 64];
                for (int t = 0; t < level.TileCount; t++)
                    slide.ReadTile(0, t % level.TilesAcross, t / level.TilesAcross, tile);
                refused = false;
            }
            catch (SlideException)
            {
                refused = true;
            }
            catch (Exception)
            {
                refused = false; // Check has recorded it
            }
            File.Delete(path);
            return refused && failures.Count == before;
        }

        // JPEG tiles of an SVS: garbage in the entropy data of one to three tiles, and damaged JPEGTables.
        string svs = TestData.Wsi("cmu-1-small-region.svs");
        var original = File.ReadAllBytes(svs);
        long[] offsets, counts;
        byte[] tables;
        using (var file = HistoQuant.Slides.Tiff.TiffFile.Open(svs))
        {
            var dir = file.Directories[0];
            offsets = dir.GetLongArray(HistoQuant.Slides.Tiff.TiffTag.TileOffsets, file)!;
            counts = dir.GetLongArray(HistoQuant.Slides.Tiff.TiffTag.TileByteCounts, file)!;
            tables = dir.GetBytes(HistoQuant.Slides.Tiff.TiffTag.JpegTables, file)!;
        }
        for (int i = 0; i < 20; i++)
        {
            var b = (byte[])original.Clone();
            for (int k = 0, n = 1 + rng.Next(3); k < n; k++)
            {
                int t = rng.Next(offsets.Length);
                int sos = b.AsSpan((int)offsets[t], (int)counts[t]).IndexOf([(byte)0xFF, (byte)0xDA]);
                int start = (int)offsets[t] + sos + 14, len = Math.Min(64 + rng.Next(400), (int)counts[t] - sos - 16);
                rng.NextBytes(b.AsSpan(start, Math.Max(1, len)));
            }
            jpegCases++;
            if (Try("entropy.svs", b)) jpegReported++;
        }
        int tablesAt = original.AsSpan().IndexOf(tables);
        int dqt = tables.AsSpan().IndexOf([(byte)0xFF, (byte)0xDB]), dht = tables.AsSpan().IndexOf([(byte)0xFF, (byte)0xC4]);
        foreach (var (at, len) in new[] { (dqt + 5, 64), (dqt + 5, 64 + 65), (dht + 4, 17), (dht + 4, 40) })
        {
            var zeroed = (byte[])original.Clone();
            zeroed.AsSpan(tablesAt + at, len).Clear();
            jpegCases++;
            if (Try("tables.svs", zeroed)) jpegReported++;
            var random = (byte[])original.Clone();
            rng.NextBytes(random.AsSpan(tablesAt + at, len));
            Try("tables-random.svs", random);
        }
        // SOF bombs: a tile whose frame claims up to 65535² px.
        for (int i = 0; i < 4; i++)
        {
            var b = (byte[])original.Clone();
            int t = rng.Next(offsets.Length);
            int sof = b.AsSpan((int)offsets[t], (int)counts[t]).IndexOf([(byte)0xFF, (byte)0xC0]);
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan((int)offsets[t] + sof + 5), (ushort)rng.Next(2000, 65536));
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan((int)offsets[t] + sof + 7), (ushort)rng.Next(2000, 65536));
            jpegCases++;
            if (Try("sof-tile.svs", b)) jpegReported++;
        }
        // Plain JPEG and PNG headers that declare more than they hold.
        using (var image = new OpenCvSharp.Mat(48, 64, OpenCvSharp.MatType.CV_8UC3, OpenCvSharp.Scalar.All(180)))
        {
            OpenCvSharp.Cv2.ImEncode(".jpg", image, out var jpeg);
            OpenCvSharp.Cv2.ImEncode(".png", image, out var png);
            for (int i = 0; i < 4; i++)
            {
                var b = (byte[])jpeg.Clone();
                int sof = b.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
                BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(sof + 5), (ushort)rng.Next(10000, 65536));
                BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(sof + 7), (ushort)rng.Next(10000, 65536));
                Try("sof.jpg", b);
            }
            int idat = png.AsSpan().IndexOf("IDAT"u8);
            foreach (uint length in new uint[] { 0, 1, 0x7FFF_FFF0, 0xFFFF_FFFF, (uint)png.Length })
            {
                var b = (byte[])png.Clone();
                BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(idat - 4), length);
                Try("idat.png", b);
            }
        }
        // Container-level amplification: sparse giants and SubIFDs pointing back at the main chain.
        foreach (var (w, h) in new[] { (70_000L, 70_000L), (300_000L, 300_000L), (2_097_152L, 2_097_152L), (4_294_967_295L, 4096L) })
        {
            var giant = new TinyTiff();
            giant.AddSparseTiled(w, h, 4096);
            giant.Write(tmp.File("giant.tif"));
            Try("giant.tif", File.ReadAllBytes(tmp.File("giant.tif")));
        }
        for (int i = 0; i < 3; i++)
        {
            var loop = new TinyTiff();
            int n = 2 + rng.Next(4);
            for (int k = 0; k < n; k++)
                loop.AddSparseTiled(8192, 8192, 512).Next = k < n - 1 ? k + 1 : -1;
            loop.Directories[rng.Next(n)].SubIfds(Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Take(1 + rng.Next(n)).ToArray());
            loop.Write(tmp.File("subifd.tif"));
            Try("subifd.tif", File.ReadAllBytes(tmp.File("subifd.tif")));
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // Random bytes occasionally decode as valid Huffman codes; nearly all damaged JPEG data must be caught.
        Assert.True(jpegReported >= jpegCases * 0.9, $"{jpegReported} of {jpegCases} damaged JPEG cases reported");
        Assert.True(cases > 40, $"only {cases} cases");
    }

    [Fact]
    public void AbsurdTileSizeIsRefusedBeforeAllocating()
    {
        // boxes.tiff with TileWidth/TileLength patched to 16384: 805 MB per decoded tile would be needed.
        var b = File.ReadAllBytes(TestData.Wsi("boxes.tiff"));
        uint ifd = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4));
        int entries = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)ifd));
        for (int e = 0; e < entries; e++)
        {
            int at = (int)ifd + 2 + e * 12;
            ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at));
            if (tag is 322 or 323)
                BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at + 8), 16384);
        }
        using var tmp = new TempDir();
        var path = tmp.File("huge-tiles.tiff");
        File.WriteAllBytes(path, b);
        var ex = Assert.Throws<SlideException>(() => SlideOpener.Open(path).Dispose());
        Assert.Contains("16384x16384", ex.Message);
    }
}
