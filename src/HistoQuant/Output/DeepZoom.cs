using System.Globalization;
using System.Text;
using OpenCvSharp;
using HistoQuant.Kernels;
using HistoQuant.Slides;

namespace HistoQuant.Output;

/// <summary>What <see cref="DeepZoom.Write"/> wrote: the DZI geometry and, per level, which tiles exist.</summary>
/// <param name="Present">Per DZI level (0 = 1×1 px), the tiles written, row-major, as hex digits of 4 tiles each (most significant bit first).</param>
public sealed record DeepZoomPyramid(int Width, int Height, int TileSize, int Overlap, int MaxLevel, IReadOnlyList<string> Present,
    int TilesWritten, int TilesSkipped, long Bytes, string BlankTile);

/// <summary>
/// A Deep Zoom (DZI) tile pyramid of a slide: JPEG tiles of 254 px with a 1 px overlap in FOLDER/&lt;name&gt;_files/&lt;level&gt;/&lt;x&gt;_&lt;y&gt;.jpg
/// and the descriptor FOLDER/&lt;name&gt;.dzi, as OpenSeadragon and other deep-zoom viewers read them. Only tiles that
/// touch tissue are written (glass would be most of the files on a biopsy slide); the rest are one shared blank tile
/// in the glass colour, and <see cref="DeepZoomPyramid.Present"/> says which is which.
/// </summary>
/// <remarks>
/// Level 0 is read once, in blocks of 254·2^k px (plus a margin of 2^k px, so that every level's overlap pixel is
/// there), each block halved k times to give the k+1 finest levels' tiles; the blocks' coarsest images make a
/// mosaic 2^k times smaller than the slide, from which the coarse levels are cut. Blocks run in parallel.
/// </remarks>
public static class DeepZoom
{
    public const int TileSize = 254, Overlap = 1, JpegQuality = 85;

    /// <summary>The mosaic's longest side stays below this; larger slides take more halvings per block.</summary>
    private const int MaxMosaicSide = 8192;
    private const long BlockMemoryBudget = 1L << 30;

    /// <param name="tissue">Where tissue is (tiles elsewhere are not written); its glass colour fills the blank tile.</param>
    public static DeepZoomPyramid Write(ISlide slide, TissueMask tissue, string folder, string name = "slide", int maxThreads = 0)
    {
        var level0 = slide.Levels[0];
        int width = level0.Width, height = level0.Height;
        int maxLevel = (int)Math.Ceiling(Math.Log2(Math.Max(width, height)));
        if (1L << maxLevel < Math.Max(width, height))
            maxLevel++; // Log2's rounding for exact powers
        int k = 3;
        while (k < maxLevel && (Math.Max(width, height) >> k) > MaxMosaicSide)
            k++;
        k = Math.Min(k, maxLevel);
        int block = TileSize << k, margin = 1 << k, side = block + 2 * margin;
        var glass = tissue.Glass is { } g ? new Scalar(Math.Clamp(g.B, 0, 255), Math.Clamp(g.G, 0, 255), Math.Clamp(g.R, 0, 255)) : new Scalar(255, 255, 255);

        string tiles = Path.Combine(folder, name + "_files");
        if (Directory.Exists(tiles))
            Directory.Delete(tiles, recursive: true); // a pyramid of another size must not leave stale tiles behind
        for (int l = 0; l <= maxLevel; l++)
            Directory.CreateDirectory(Path.Combine(tiles, l.ToString(CultureInfo.InvariantCulture)));
        var coverage = new TissueCoverage(tissue);
        var present = new bool[maxLevel + 1][];
        for (int l = 0; l <= maxLevel; l++)
        {
            var (lw, lh) = LevelSize(width, height, maxLevel - l);
            present[l] = new bool[Across(lw) * Across(lh)];
        }
        long bytes = 0;
        int written = 0;

        void Emit(Mat image, int originX, int originY, int level, int tx, int ty, int shift)
        {
            var (lw, lh) = LevelSize(width, height, shift);
            int x0 = tx * TileSize - (tx > 0 ? Overlap : 0), y0 = ty * TileSize - (ty > 0 ? Overlap : 0);
            int x1 = Math.Min(lw, (tx + 1) * TileSize + Overlap), y1 = Math.Min(lh, (ty + 1) * TileSize + Overlap);
            if (!coverage.Any((long)x0 << shift, (long)y0 << shift, (long)x1 << shift, (long)y1 << shift))
                return;
            using var tile = new Mat(image, new Rect(x0 - originX, y0 - originY, x1 - x0, y1 - y0));
            Cv2.ImEncode(".jpg", tile, out byte[] jpeg, new ImageEncodingParam(ImwriteFlags.JpegQuality, JpegQuality));
            File.WriteAllBytes(Path.Combine(tiles, level.ToString(CultureInfo.InvariantCulture), $"{tx}_{ty}.jpg"), jpeg);
            present[level][ty * Across(lw) + tx] = true;
            Interlocked.Add(ref bytes, jpeg.Length);
            Interlocked.Increment(ref written);
        }

        // The finest k+1 levels, block by block; each block leaves its coarsest core in the mosaic.
        var (mw, mh) = LevelSize(width, height, k);
        using var mosaic = new Mat(mh, mw, MatType.CV_8UC3, glass);
        int blocksAcross = (width + block - 1) / block, blocksDown = (height + block - 1) / block;
        int threads = maxThreads > 0 ? maxThreads : Environment.ProcessorCount;
        threads = (int)Math.Clamp(BlockMemoryBudget / ((long)side * side * 3 * 2), 1, threads);
        Parallel.For(0, blocksAcross * blocksDown, new ParallelOptions { MaxDegreeOfParallelism = threads }, () => new byte[slide.Levels[0].TileBufferBytes()], (b, _, tileBuffer) =>
        {
            int bx = b % blocksAcross, by = b / blocksAcross;
            int ox = bx * block - margin, oy = by * block - margin;
            if (!coverage.Any(ox, oy, ox + side, oy + side))
                return tileBuffer;
            var image = ReadBlock(slide, ox, oy, side, glass, tileBuffer);
            try
            {
                for (int j = 0; j <= k; j++)
                {
                    if (j > 0)
                    {
                        var half = new Mat();
                        Cv2.Resize(image, half, new Size(image.Cols / 2, image.Rows / 2), 0, 0, InterpolationFlags.Area);
                        image.Dispose();
                        image = half;
                    }
                    int per = 1 << (k - j), level = maxLevel - j;
                    var (lw, lh) = LevelSize(width, height, j);
                    for (int ty = by * per; ty < Math.Min((by + 1) * per, Across(lh)); ty++)
                        for (int tx = bx * per; tx < Math.Min((bx + 1) * per, Across(lw)); tx++)
                            Emit(image, ox >> j, oy >> j, level, tx, ty, j);
                }
                // The block's core at the coarsest of its levels (TileSize px, less at the slide's edge) into the mosaic.
                int cw = Math.Min(TileSize, mw - bx * TileSize), ch = Math.Min(TileSize, mh - by * TileSize);
                if (cw > 0 && ch > 0)
                    lock (mosaic)
                    {
                        using var core = new Mat(image, new Rect(1, 1, cw, ch));
                        using var target = new Mat(mosaic, new Rect(bx * TileSize, by * TileSize, cw, ch));
                        core.CopyTo(target);
                    }
            }
            finally
            {
                image.Dispose();
            }
            return tileBuffer;
        }, _ => { });

        // The coarse levels from the mosaic, halving it (padded to even sizes with glass) down to 1×1 px.
        var current = mosaic.Clone();
        try
        {
            for (int j = k + 1; j <= maxLevel; j++)
            {
                var (lw, lh) = LevelSize(width, height, j);
                using var padded = new Mat();
                Cv2.CopyMakeBorder(current, padded, 0, lh * 2 - current.Rows, 0, lw * 2 - current.Cols, BorderTypes.Constant, glass);
                var half = new Mat();
                Cv2.Resize(padded, half, new Size(lw, lh), 0, 0, InterpolationFlags.Area);
                current.Dispose();
                current = half;
                int level = maxLevel - j;
                var image = current;
                Parallel.For(0, Across(lw) * Across(lh), new ParallelOptions { MaxDegreeOfParallelism = threads },
                    t => Emit(image, 0, 0, level, t % Across(lw), t / Across(lw), j));
            }
        }
        finally
        {
            current.Dispose();
        }

        string blank = name + "_blank.jpg";
        using (var tile = new Mat(TileSize, TileSize, MatType.CV_8UC3, glass))
            Cv2.ImWrite(Path.Combine(folder, blank), tile, new ImageEncodingParam(ImwriteFlags.JpegQuality, JpegQuality));
        ResultsWriter.WriteAtomically(Path.Combine(folder, name + ".dzi"),
            $"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Image xmlns=\"http://schemas.microsoft.com/deepzoom/2008\" Format=\"jpg\" Overlap=\"{Overlap}\" TileSize=\"{TileSize}\">\n"
            + $"  <Size Width=\"{width}\" Height=\"{height}\"/>\n</Image>\n");
        int total = present.Sum(p => p.Length);
        return new DeepZoomPyramid(width, height, TileSize, Overlap, maxLevel, present.Select(Hex).ToList(), written, total - written, bytes, blank);
    }

    /// <summary>Size of the level <paramref name="shift"/> halvings below full resolution (rounded up, as DZI does).</summary>
    public static (int Width, int Height) LevelSize(int width, int height, int shift) =>
        ((int)(((long)width + (1L << shift) - 1) >> shift), (int)(((long)height + (1L << shift) - 1) >> shift));

    private static int Across(int pixels) => (pixels + TileSize - 1) / TileSize;

    /// <summary>Level-0 pixels [x, x+side)², in BGR; what lies outside the slide is glass.</summary>
    private static Mat ReadBlock(ISlide slide, int x, int y, int side, Scalar glass, byte[] tileBuffer)
    {
        var level0 = slide.Levels[0];
        var image = new Mat(side, side, MatType.CV_8UC3, glass);
        int x0 = Math.Max(0, x), y0 = Math.Max(0, y), x1 = Math.Min(level0.Width, x + side), y1 = Math.Min(level0.Height, y + side);
        if (x1 <= x0 || y1 <= y0)
            return image;
        var rgb = new byte[(x1 - x0) * (y1 - y0) * 3];
        RegionReader.Read(slide, 0, x0, y0, x1 - x0, y1 - y0, rgb, tileBuffer);
        using var region = Mat.FromPixelData(y1 - y0, x1 - x0, MatType.CV_8UC3, rgb);
        using var target = new Mat(image, new Rect(x0 - x, y0 - y, x1 - x0, y1 - y0));
        Cv2.CvtColor(region, target, ColorConversionCodes.RGB2BGR);
        return image;
    }

    private static string Hex(bool[] bits)
    {
        var sb = new StringBuilder((bits.Length + 3) / 4);
        for (int i = 0; i < bits.Length; i += 4)
        {
            int v = 0;
            for (int b = 0; b < 4; b++)
                v = v << 1 | (i + b < bits.Length && bits[i + b] ? 1 : 0);
            sb.Append("0123456789abcdef"[v]);
        }
        return sb.ToString();
    }

    /// <summary>Whether a level-0 rectangle touches tissue, from a summed-area table of the mask (grown by a mask pixel, so edges keep their tiles).</summary>
    private sealed class TissueCoverage
    {
        private readonly TissueMask _tissue;
        private readonly int[]? _sums;

        public TissueCoverage(TissueMask tissue)
        {
            _tissue = tissue;
            if (tissue.Mask is not { } mask)
                return;
            int w = tissue.Width, h = tissue.Height;
            _sums = new int[(w + 1) * (h + 1)];
            for (int y = 0; y < h; y++)
                for (int x = 0, row = 0; x < w; x++)
                {
                    row += mask[y * w + x] != 0 ? 1 : 0;
                    _sums[(y + 1) * (w + 1) + x + 1] = _sums[y * (w + 1) + x + 1] + row;
                }
        }

        public bool Any(long x0, long y0, long x1, long y1)
        {
            if (_sums is null)
                return true;
            int w = _tissue.Width, h = _tissue.Height;
            int mx0 = Math.Clamp((int)(x0 * w / _tissue.Level0Width) - 1, 0, w), my0 = Math.Clamp((int)(y0 * h / _tissue.Level0Height) - 1, 0, h);
            int mx1 = Math.Clamp((int)((x1 - 1) * w / _tissue.Level0Width) + 2, 0, w), my1 = Math.Clamp((int)((y1 - 1) * h / _tissue.Level0Height) + 2, 0, h);
            if (mx1 <= mx0 || my1 <= my0)
                return false;
            return _sums[my1 * (w + 1) + mx1] - _sums[my0 * (w + 1) + mx1] - _sums[my1 * (w + 1) + mx0] + _sums[my0 * (w + 1) + mx0] > 0;
        }
    }
}
