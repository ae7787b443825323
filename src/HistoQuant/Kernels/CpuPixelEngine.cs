using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HistoQuant.Kernels;

/// <summary>
/// The CPU engine: per pixel, chromogen OD = lut[r] + lut[256+g] + lut[512+b], then three threshold
/// counts and a sum. With AVX2, eight pixels at a time: one load and three byte shuffles split the 8
/// interleaved RGB triplets into channels, and two gathers look up the tables: the red+green sums made
/// ahead for every (r, g) (<see cref="PixelModel.RedGreenLut"/>), then blue. Both paths compute each pixel's OD with the same float additions in the
/// same order, so threshold counts are identical; sums differ only by float summation order (~1e-7 relative).
/// Parallelism comes from the pipeline (one tile per thread).
/// </summary>
public sealed class CpuPixelEngine : IPixelEngine
{
    private const int Lanes = 8;
    private readonly bool _vector;

    public CpuPixelEngine(bool allowVector = true) => _vector = allowVector && Avx2.IsSupported;

    public string Name => _vector ? "cpu-avx2" : "cpu";

    public int BatchSize => 1;

    public void Measure(IReadOnlyList<TileJob> tiles, PixelModel model, Span<PixelSums> results)
    {
        for (int i = 0; i < tiles.Count; i++)
            results[i] = Measure(tiles[i].View, tiles[i].Tissue, model);
    }

    public void Deconvolve(TileJob tile, PixelModel model, Span<float> counterstain, Span<float> chromogen)
    {
        var h = model.CounterstainLut;
        var d = model.ChromogenLut;
        for (int y = 0; y < tile.Height; y++)
        {
            var row = tile.Rgb.AsSpan(y * tile.Stride, tile.Width * 3);
            int o = y * tile.Width;
            for (int x = 0; x < tile.Width; x++)
            {
                byte r = row[x * 3], g = row[x * 3 + 1], b = row[x * 3 + 2];
                counterstain[o + x] = h[r] + h[256 + g] + h[512 + b];
                chromogen[o + x] = d[r] + d[256 + g] + d[512 + b];
            }
        }
    }

    public unsafe PixelSums Measure(TileView tile, TissueSpans tissue, PixelModel model)
    {
        if (tissue.Rows < tile.Height)
            throw new ArgumentException("tissue spans cover fewer rows than the tile");
        var sums = new PixelSums();
        fixed (byte* rgb = tile.Rgb)
        fixed (float* lut = model.ChromogenLut)
        fixed (float* rg = _vector ? model.RedGreenLut : null)
        {
            var counts = new RunCounts { RedGreen = rg };
            // One histogram per vector lane: neighbouring pixels often fall in one bin, and eight increments of
            // one counter in a row would wait on each other's stores. Merged once per tile.
            long* hist = stackalloc long[Lanes * DabHistogram.Bins];
            new Span<long>(hist, Lanes * DabHistogram.Bins).Clear();
            counts.Histogram = model.Histogram ? hist : null;
            for (int y = 0; y < tile.Height; y++)
            {
                byte* row = rgb + (long)y * tile.Stride;
                for (int k = tissue.RowStart[y]; k < tissue.RowStart[y + 1]; k++)
                {
                    int x0 = Math.Max(tissue.Start[k], 0), x1 = Math.Min(tissue.End[k], tile.Width);
                    if (x1 <= x0)
                        continue;
                    float runSum = _vector
                        ? MeasureRunAvx2(row + x0 * 3, x1 - x0, lut, model, ref counts)
                        : MeasureRunScalar(row + x0 * 3, x1 - x0, lut, model, ref counts);
                    sums.ChromogenSum += runSum;
                    sums.Tissue += x1 - x0;
                }
            }
            sums.AtLeastWeak = counts.Weak;
            sums.AtLeastModerate = counts.Moderate;
            sums.AtLeastStrong = counts.Strong;
            for (int lane = 0; lane < Lanes; lane++)
                for (int k = 0; k < DabHistogram.Bins; k++)
                    sums.Histogram[k] += hist[lane * DabHistogram.Bins + k];
        }
        return sums;
    }

    private unsafe struct RunCounts
    {
        public long Weak, Moderate, Strong;
        public long* Histogram; // Lanes × Bins, see Measure
        public float* RedGreen; // PixelModel.RedGreenLut
    }

    private static unsafe float MeasureRunScalar(byte* p, int n, float* lut, PixelModel m, ref RunCounts c)
    {
        float sum = 0;
        for (int i = 0; i < n; i++)
        {
            float d = lut[p[i * 3]] + lut[256 + p[i * 3 + 1]] + lut[512 + p[i * 3 + 2]];
            sum += d;
            if (c.Histogram != null)
                c.Histogram[DabHistogram.Bin(d)]++;
            if (d >= m.Weak) c.Weak++;
            if (d >= m.Moderate) c.Moderate++;
            if (d >= m.Strong) c.Strong++;
        }
        return sum;
    }

    private static unsafe float MeasureRunAvx2(byte* p, int n, float* lut, PixelModel m, ref RunCounts c)
    {
        var halves = Vector256.Create(0, 1, 2, 3, 3, 4, 5, 6);
        // Within each half, pixel k's channel c is byte 3k + c; -1 (0x80) writes a zero.
        var pickR = Vector256.Create((sbyte)0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1, 9, -1, -1, -1, 0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1, 9, -1, -1, -1).AsByte();
        var pickG = Vector256.Create((sbyte)1, -1, -1, -1, 4, -1, -1, -1, 7, -1, -1, -1, 10, -1, -1, -1, 1, -1, -1, -1, 4, -1, -1, -1, 7, -1, -1, -1, 10, -1, -1, -1).AsByte();
        var pickB = Vector256.Create((sbyte)2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1, 2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1).AsByte();
        var weak = Vector256.Create(m.Weak);
        var moderate = Vector256.Create(m.Moderate);
        var strong = Vector256.Create(m.Strong);
        var acc = Vector256<float>.Zero;
        var binsPerOd = Vector256.Create(DabHistogram.BinsPerOd);
        var lastBin = Vector256.Create((float)(DabHistogram.Bins - 1));
        var laneBase = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * DabHistogram.Bins;
        long* hist = c.Histogram;
        int* bins = stackalloc int[Lanes];
        Vector256<int> vw = default, vm = default, vs = default;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            // 8 pixels = 24 bytes: one 32-byte load, dwords arranged so each 128-bit half holds 4 whole pixels
            // (bytes 0–15 and 12–27), then in-half byte shuffles spread r, g and b into zero-extended dwords.
            var raw = Avx2.PermuteVar8x32(Avx.LoadVector256((int*)(p + i * 3)), halves).AsByte();
            var r = Avx2.Shuffle(raw, pickR).AsInt32();
            var g = Avx2.Shuffle(raw, pickG).AsInt32();
            var b = Avx2.Shuffle(raw, pickB).AsInt32();
            var d = Avx.Add(Avx2.GatherVector256(c.RedGreen, Avx2.Or(Avx2.ShiftLeftLogical(r, 8), g), 4),
                Avx2.GatherVector256(lut + 512, b, 4));
            acc = Avx.Add(acc, d);
            // Bin = (int)min(max(d · 20, 0), 63): the same float product, clamp and truncation as DabHistogram.Bin.
            if (hist != null)
            {
                // Lane j counts into histogram j: bin + 64·j.
                var bin = Avx.ConvertToVector256Int32WithTruncation(Avx.Min(Avx.Max(Avx.Multiply(d, binsPerOd), Vector256<float>.Zero), lastBin));
                Avx.Store(bins, Avx2.Add(bin, laneBase));
                hist[bins[0]]++; hist[bins[1]]++; hist[bins[2]]++; hist[bins[3]]++;
                hist[bins[4]]++; hist[bins[5]]++; hist[bins[6]]++; hist[bins[7]]++;
            }
            // A true compare is all ones (-1 as an integer), so subtracting it counts the lane.
            vw = Avx2.Subtract(vw, Avx.CompareGreaterThanOrEqual(d, weak).AsInt32());
            vm = Avx2.Subtract(vm, Avx.CompareGreaterThanOrEqual(d, moderate).AsInt32());
            vs = Avx2.Subtract(vs, Avx.CompareGreaterThanOrEqual(d, strong).AsInt32());
        }
        c.Weak += Vector256.Sum(vw);
        c.Moderate += Vector256.Sum(vm);
        c.Strong += Vector256.Sum(vs);
        float sum = Vector256.Sum(acc);
        return sum + MeasureRunScalar(p + i * 3, n - i, lut, m, ref c);
    }

    public void Dispose()
    {
    }
}
