using System.Globalization;
using System.Text.Json;
using OpenCvSharp;
using HistoQuant.Stains;
using HistoQuant.Slides.Tiff;

namespace HistoQuant.Synth;

/// <summary>
/// Renders a <see cref="SyntheticScene"/> through Beer–Lambert into a pyramidal JPEG-tiled TIFF, one band of
/// tiles at a time: level 0 is rendered band by band, each finished band is encoded and written, then
/// averaged 2×2 into the next level's band, and so on down the pyramid. Memory is a few bands, whatever the
/// slide size. The truth is accumulated from level-0 pixels before compression.
/// </summary>
public static class SyntheticSlideWriter
{
    public static SynthTruth Write(SynthOptions o, string path, IProgress<double>? progress = null)
    {
        if (o.Problem() is { } why)
            throw new ArgumentException(why);
        var scene = new SyntheticScene(o);
        var truth = new TruthAccumulator(o);
        bool big = (long)o.Width * o.Height * 3 > 3_500_000_000L; // classic TIFF only when it surely fits in 4 GB
        using var writer = new TiledTiffWriter(path, big);

        LevelBuilder? first = null, previous = null;
        int w = o.Width, h = o.Height;
        while (true)
        {
            var level = new LevelBuilder(writer, writer.AddLevel(w, h, o.TileSize), w, h, o.TileSize, o.JpegQuality);
            first ??= level;
            if (previous is not null)
                previous.Next = level;
            previous = level;
            if (Math.Max(w, h) <= o.TileSize)
                break;
            w = (w + 1) / 2;
            h = (h + 1) / 2;
        }

        int bands = (o.Height + o.TileSize - 1) / o.TileSize;
        int across = (o.Width + o.TileSize - 1) / o.TileSize;
        for (int band = 0; band < bands; band++)
        {
            int y0 = band * o.TileSize, rows = Math.Min(o.TileSize, o.Height - y0);
            var buffer = first!.BandBuffer;
            var partials = new TruthAccumulator.Partial[across];
            Parallel.For(0, across, col =>
            {
                int x0 = col * o.TileSize, cols = Math.Min(o.TileSize, o.Width - x0);
                partials[col] = RenderTile(scene, o, truth, x0, y0, cols, rows, buffer, o.Width * 3);
            });
            foreach (var p in partials)
                truth.Add(p);
            first.PushBand(rows);
            progress?.Report((band + 1.0) / bands);
        }
        first!.Finish();

        var (fibres, positiveFibres, sarcoplasmicFibres) = scene.CountFibres();
        var medians = scene.FibreMedians(CutFibreMicrons2, MostFibresMeasured);
        var result = truth.Result(Path.GetFileName(path), scene.PositiveCells, scene.NegativeNuclei, fibres, positiveFibres, scene.Capillaries) with
        {
            SarcoplasmicFibres = sarcoplasmicFibres,
            SarcoplasmicFibresPct = fibres > 0 ? 100.0 * sarcoplasmicFibres / fibres : 0,
            Compartments = scene.Fascicles?.Truth(),
            CutFibres = scene.CountCutFibres(CutFibreMicrons2),
            FibreMinFeretMedianUm = medians?.MinFeret,
            FibreAreaMedianUm2 = medians?.Area,
            FibreMinFeretCv = medians?.MinFeretCv,
            CentralNucleiFibresPct = medians?.CentralNucleiPct,
        };
        writer.Finish(string.Create(CultureInfo.InvariantCulture,
            $"HistoQuant synthetic muscle biopsy IHC; seed={o.Seed}; mpp={o.Mpp}; stains={o.Stains.Name}; fibres-positive={o.FibresPositive}; dab-scale={o.DabScale}{(o.EndomysiumOd != new SynthOptions().EndomysiumOd ? $"; endomysium-od={o.EndomysiumOd}" : "")}{(o.FibresSarcoplasmic > 0 ? $"; fibres-sarcoplasmic={o.FibresSarcoplasmic}" : "")}{(o.EndomysiumMicrons != new SynthOptions().EndomysiumMicrons ? $"; endomysium-um={o.EndomysiumMicrons}" : "")}{(o.FibreSizeVariation > 0 ? $"; fibre-size-variation={o.FibreSizeVariation}" : "")}"), o.Mpp);
        return result;
    }

    // The smallest fibre the shipped MHC class I model keeps (min_area_um2).
    private const double CutFibreMicrons2 = 300;
    private const int MostFibresMeasured = 3000;

    public static string TruthJson(SynthTruth truth) =>
        JsonSerializer.Serialize(truth, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });

    private static TruthAccumulator.Partial RenderTile(SyntheticScene scene, SynthOptions o, TruthAccumulator truth, int x0, int y0, int cols, int rows, byte[] band, int bandStride)
    {
        var s = o.Stains;
        double mpp = o.Mpp;
        var blobs = scene.BlobsNear(x0 * mpp, y0 * mpp, (x0 + cols) * mpp, (y0 + rows) * mpp);
        var partial = new TruthAccumulator.Partial(SynthTruth.Thresholds.Length);
        for (int y = 0; y < rows; y++)
        {
            int py = y0 + y;
            double uy = (py + 0.5) * mpp;
            for (int x = 0; x < cols; x++)
            {
                int px = x0 + x;
                double ux = (px + 0.5) * mpp;
                bool tissue = scene.InTissue(ux, uy);
                double h = 0, dab = 0;
                if (tissue)
                {
                    (h, dab) = scene.Fibres(ux, uy);
                    foreach (var b in blobs)
                    {
                        if (b.Kind != BlobKind.Cell)
                        {
                            dab += b.VesselDab(ux, uy);
                            continue;
                        }
                        double dn = (ux - b.NucleusX) * (ux - b.NucleusX) + (uy - b.NucleusY) * (uy - b.NucleusY);
                        if (dn < b.NucleusRadius * b.NucleusRadius)
                            h += b.Hematoxylin;
                        if (b.Radius > 0)
                        {
                            double dc = (ux - b.X) * (ux - b.X) + (uy - b.Y) * (uy - b.Y);
                            if (dc < b.Radius * b.Radius)
                                dab += dn < b.NucleusRadius * b.NucleusRadius ? 0.3 * b.Dab : b.Dab;
                        }
                    }
                    h = Math.Max(0, h + 0.012 * Hash.Normal(o.Seed, px, py, 20));
                    dab = Math.Max(0, dab + 0.008 * Hash.Normal(o.Seed, px, py, 30) * Math.Max(o.DabScale, 0.25));
                }
                int i = y * bandStride + px * 3;
                for (int c = 0; c < 3; c++)
                {
                    double od = h * s.Stain1[c] + dab * s.Stain2[c];
                    double intensity = OpticalDensity.Intensity(od, o.Glass[c]) + 1.5 * Hash.Normal(o.Seed, px, py, 40 + c);
                    band[i + c] = (byte)Math.Clamp((int)Math.Round(intensity), 0, 255);
                }
                if (tissue)
                    truth.Count(ref partial, band[i], band[i + 1], band[i + 2]);
            }
        }
        return partial;
    }

    /// <summary>One pyramid level's band of rows: encoded and written when full, then halved into the next level.</summary>
    private sealed class LevelBuilder(TiledTiffWriter writer, int level, int width, int height, int tile, int quality)
    {
        public byte[] BandBuffer { get; } = new byte[width * tile * 3];
        public LevelBuilder? Next { get; set; }
        private int _rows, _bandStart;

        /// <summary>The first <paramref name="rows"/> rows of <see cref="BandBuffer"/> were filled by the renderer.</summary>
        public void PushBand(int rows)
        {
            _rows = rows;
            Flush();
        }

        private void PushRow(ReadOnlySpan<byte> row)
        {
            row.CopyTo(BandBuffer.AsSpan(_rows * width * 3));
            _rows++;
            if (_rows == tile || _bandStart + _rows == height)
                Flush();
        }

        private void Flush()
        {
            if (_rows == 0)
                return;
            int across = (width + tile - 1) / tile, bandRow = _bandStart / tile;
            var encoded = new byte[across][];
            int rows = _rows;
            Parallel.For(0, across, col => encoded[col] = EncodeTile(col, rows));
            for (int col = 0; col < across; col++)
                writer.WriteTile(level, col, bandRow, encoded[col]);
            if (Next is not null)
                HalveInto(Next, rows);
            _bandStart += _rows;
            _rows = 0;
        }

        private unsafe byte[] EncodeTile(int col, int rows)
        {
            int x0 = col * tile, cols = Math.Min(tile, width - x0);
            // Edge tiles are padded by repeating the last row and column, so JPEG does not ring against black.
            // Pooled: a fresh 200 KB array per tile lands on the large-object heap, which the GC lets grow for long.
            var rgb = System.Buffers.ArrayPool<byte>.Shared.Rent(tile * tile * 3);
            try
            {
            for (int y = 0; y < tile; y++)
            {
                var src = BandBuffer.AsSpan((Math.Min(y, rows - 1) * width + x0) * 3, cols * 3);
                src.CopyTo(rgb.AsSpan(y * tile * 3));
                for (int x = cols; x < tile; x++)
                    src.Slice((cols - 1) * 3, 3).CopyTo(rgb.AsSpan((y * tile + x) * 3));
            }
            fixed (byte* p = rgb)
            {
                using var mat = Mat.FromPixelData(tile, tile, MatType.CV_8UC3, (IntPtr)p, tile * 3L);
                using var bgr = new Mat();
                Cv2.CvtColor(mat, bgr, ColorConversionCodes.RGB2BGR);
                Cv2.ImEncode(".jpg", bgr, out byte[] jpeg, new ImageEncodingParam(ImwriteFlags.JpegQuality, quality));
                return jpeg;
            }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rgb);
            }
        }

        private void HalveInto(LevelBuilder next, int rows)
        {
            var row = new byte[next.Width * 3];
            for (int y = 0; y < rows; y += 2)
            {
                int y1 = Math.Min(y + 1, rows - 1);
                for (int x = 0; x < next.Width; x++)
                {
                    int xa = 2 * x, xb = Math.Min(2 * x + 1, width - 1);
                    for (int c = 0; c < 3; c++)
                    {
                        int sum = BandBuffer[(y * width + xa) * 3 + c] + BandBuffer[(y * width + xb) * 3 + c]
                                + BandBuffer[(y1 * width + xa) * 3 + c] + BandBuffer[(y1 * width + xb) * 3 + c];
                        row[x * 3 + c] = (byte)((sum + 2) / 4);
                    }
                }
                next.PushRow(row);
            }
        }

        public int Width => width;

        public void Finish()
        {
            Flush();
            Next?.Finish();
        }
    }

    /// <summary>Truth counters, with DAB OD evaluated in double precision from the 8-bit pixel.</summary>
    private sealed class TruthAccumulator
    {
        private readonly SynthOptions _o;
        private readonly double[][] _dabPerChannel;
        private long _tissue;
        private readonly long[] _atLeast = new long[SynthTruth.Thresholds.Length];
        private double _dabSum;

        public struct Partial(int thresholds)
        {
            public long Tissue;
            public long[] AtLeast = new long[thresholds];
            public double DabSum;
        }

        public TruthAccumulator(SynthOptions o)
        {
            _o = o;
            _dabPerChannel = new double[3][];
            for (int c = 0; c < 3; c++)
            {
                _dabPerChannel[c] = new double[256];
                for (int v = 0; v < 256; v++)
                    _dabPerChannel[c][v] = OpticalDensity.Of(v, o.Glass[c]) * o.Stains.Inverse[c, 1];
            }
        }

        public void Count(ref Partial p, byte r, byte g, byte b)
        {
            double dab = _dabPerChannel[0][r] + _dabPerChannel[1][g] + _dabPerChannel[2][b];
            p.Tissue++;
            p.DabSum += dab;
            for (int k = 0; k < SynthTruth.Thresholds.Length; k++)
                if (dab >= SynthTruth.Thresholds[k])
                    p.AtLeast[k]++;
        }

        public void Add(Partial p)
        {
            _tissue += p.Tissue;
            _dabSum += p.DabSum;
            for (int k = 0; k < _atLeast.Length; k++)
                _atLeast[k] += p.AtLeast[k];
        }

        public SynthTruth Result(string slide, int cells, int nuclei, int fibres, int positiveFibres, int capillaries)
        {
            double area = _tissue * _o.Mpp * _o.Mpp * 1e-6;
            var pct = new Dictionary<string, double>();
            for (int k = 0; k < _atLeast.Length; k++)
                pct[SynthTruth.Thresholds[k].ToString("0.0", CultureInfo.InvariantCulture)] = _tissue > 0 ? 100.0 * _atLeast[k] / _tissue : 0;
            return new SynthTruth(slide, _o.Seed, _o.Width, _o.Height, _o.Mpp, _o.Stains.Name,
                [_o.Glass.R, _o.Glass.G, _o.Glass.B], _tissue, area, pct, _tissue > 0 ? _dabSum / _tissue : 0,
                cells, area > 0 ? cells / area : 0, nuclei, fibres, positiveFibres, fibres > 0 ? 100.0 * positiveFibres / fibres : 0,
                capillaries, area > 0 ? capillaries / area : 0);
        }
    }
}
