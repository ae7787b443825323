using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace HistoQuant.Kernels;

/// <summary>
/// The ILGPU engine: a batch of tiles is copied to the device in one transfer, one kernel launch measures
/// them all, and only the per-tile totals (five 64-bit numbers a tile) come back. Each thread walks a
/// strided share of one tile's pixels, so neighbouring threads read neighbouring pixels; it keeps its own
/// counts and then adds them to the tile's totals with 64-bit atomics. The chromogen sum is carried in
/// fixed point (2⁻²⁰ OD) so the atomic additions are exact and the result does not depend on thread order.
/// Device buffers are allocated once and grown only when a batch needs more.
/// </summary>
public sealed class IlgpuPixelEngine : IPixelEngine
{
    internal const int ThreadsPerTile = 1024;
    internal const double SumScale = 1 << 20;
    private const int MetaPerTile = 5;
    private const int SumsPerTile = 5;

    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly Action<Index1D, ArrayView<byte>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<long>, KernelArgs> _kernel;
    private readonly Action<Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, PlaneArgs> _planesKernel;
    private readonly object _gate = new();
    private MemoryBuffer1D<float, Stride1D.Dense>? _hLut, _planeH, _planeD;

    private MemoryBuffer1D<byte, Stride1D.Dense>? _rgb;
    private MemoryBuffer1D<int, Stride1D.Dense>? _meta, _rowStart, _spanStart, _spanEnd;
    private MemoryBuffer1D<float, Stride1D.Dense>? _lut;
    private MemoryBuffer1D<long, Stride1D.Dense>? _sums;
    private float[]? _lutOnDevice;
    private byte[] _staging = [];

    public string Name { get; }
    public int BatchSize { get; }

    /// <summary>Where the time went, for `bench`: host packing, host-to-device copies, kernel, results back.</summary>
    public (double Pack, double Upload, double Kernel, double Download) Seconds => (_pack, _upload, _kernelTime, _download);
    private double _pack, _upload, _kernelTime, _download;

    private IlgpuPixelEngine(Context context, Accelerator accelerator, string name, int batchSize)
    {
        _context = context;
        _accelerator = accelerator;
        Name = name;
        BatchSize = batchSize;
        _planesKernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, PlaneArgs>(PlanesKernel);
        _kernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<long>, KernelArgs>(MeasureKernel);
    }

    /// <summary>The first CUDA device, else the first OpenCL GPU; null when the machine has neither.</summary>
    public static IlgpuPixelEngine? TryCreateGpu(int batchSize = 32)
    {
        Context? context = null;
        try
        {
            context = Context.Create(builder => builder.Cuda().OpenCL().Optimize(OptimizationLevel.O1));
            foreach (var device in context.Devices)
            {
                if (device.AcceleratorType == AcceleratorType.Cuda)
                    return new IlgpuPixelEngine(context, device.CreateAccelerator(context), $"cuda:{device.Name}", batchSize);
            }
            foreach (var device in context.Devices)
            {
                // CPU OpenCL drivers (pocl) are slower than the CPU engine, so only GPUs qualify.
                if (device is CLDevice cl && cl.DeviceType == CLDeviceType.CL_DEVICE_TYPE_GPU)
                    return new IlgpuPixelEngine(context, device.CreateAccelerator(context), $"opencl:{device.Name}", batchSize);
            }
            context.Dispose();
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A missing or broken driver means "no GPU", not a crash.
            context?.Dispose();
            return null;
        }
    }

    /// <summary>ILGPU's CPU accelerator: an emulator, for checking the kernel against the CPU engine in CI.</summary>
    public static IlgpuPixelEngine CreateCpuEmulator(int batchSize = 4)
    {
        var context = Context.Create(builder => builder.CPU().Optimize(OptimizationLevel.O1));
        return new IlgpuPixelEngine(context, context.CreateCPUAccelerator(0), "ilgpu-cpu", batchSize);
    }

    public void Measure(IReadOnlyList<TileJob> tiles, PixelModel model, Span<PixelSums> results)
    {
        if (tiles.Count == 0)
            return;
        long[] sums;
        lock (_gate)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            var packed = Pack(tiles);
            long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            Upload(packed, model);
            _accelerator.Synchronize();
            long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
            var args = new KernelArgs(model.Weak, model.Moderate, model.Strong, ThreadsPerTile, tiles.Count);
            _kernel(tiles.Count * ThreadsPerTile, _rgb!.View, _meta!.View, _rowStart!.View, _spanStart!.View, _spanEnd!.View, _lut!.View, _sums!.View, args);
            _accelerator.Synchronize();
            long t3 = System.Diagnostics.Stopwatch.GetTimestamp();
            sums = _sums.View.SubView(0, tiles.Count * SumsPerTile).GetAsArray1D();
            long t4 = System.Diagnostics.Stopwatch.GetTimestamp();
            _pack += System.Diagnostics.Stopwatch.GetElapsedTime(t0, t1).TotalSeconds;
            _upload += System.Diagnostics.Stopwatch.GetElapsedTime(t1, t2).TotalSeconds;
            _kernelTime += System.Diagnostics.Stopwatch.GetElapsedTime(t2, t3).TotalSeconds;
            _download += System.Diagnostics.Stopwatch.GetElapsedTime(t3, t4).TotalSeconds;
        }
        for (int t = 0; t < tiles.Count; t++)
        {
            int o = t * SumsPerTile;
            results[t] = new PixelSums
            {
                Tissue = sums[o],
                AtLeastWeak = sums[o + 1],
                AtLeastModerate = sums[o + 2],
                AtLeastStrong = sums[o + 3],
                ChromogenSum = sums[o + 4] / SumScale,
            };
        }
    }

    public void Deconvolve(TileJob tile, PixelModel model, Span<float> counterstain, Span<float> chromogen)
    {
        int pixels = tile.Width * tile.Height;
        int bytes = (tile.Height - 1) * tile.Stride + tile.Width * 3;
        lock (_gate)
        {
            Ensure(ref _rgb, bytes);
            Ensure(ref _lut, 768);
            Ensure(ref _hLut, 768);
            Ensure(ref _planeH, pixels);
            Ensure(ref _planeD, pixels);
            _rgb!.View.AsContiguous().SubView(0, bytes).CopyFromCPU(new ReadOnlySpan<byte>(tile.Rgb, 0, bytes));
            _lut!.View.AsContiguous().SubView(0, 768).CopyFromCPU(model.ChromogenLut);
            _lutOnDevice = model.ChromogenLut;
            _hLut!.View.AsContiguous().SubView(0, 768).CopyFromCPU(model.CounterstainLut);
            _planesKernel(pixels, _rgb.View, _hLut.View, _lut.View, _planeH!.View, _planeD!.View, new PlaneArgs(tile.Width, tile.Stride));
            _accelerator.Synchronize();
            _planeH.View.AsContiguous().SubView(0, pixels).CopyToCPU(counterstain[..pixels]);
            _planeD!.View.AsContiguous().SubView(0, pixels).CopyToCPU(chromogen[..pixels]);
        }
    }

    internal readonly record struct PlaneArgs(int Width, int Stride);

    private static void PlanesKernel(Index1D p, ArrayView<byte> rgb, ArrayView<float> hLut, ArrayView<float> dLut, ArrayView<float> h, ArrayView<float> d, PlaneArgs a)
    {
        int y = p / a.Width;
        int i = y * a.Stride + (p - y * a.Width) * 3;
        int r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
        h[p] = hLut[r] + hLut[256 + g] + hLut[512 + b];
        d[p] = dLut[r] + dLut[256 + g] + dLut[512 + b];
    }

    /// <summary>Host-side layout of one batch: pixels back to back, tissue runs concatenated with global indices.</summary>
    private sealed record PackedBatch(int RgbBytes, int[] Meta, int[] RowStart, int[] SpanStart, int[] SpanEnd);

    private PackedBatch Pack(IReadOnlyList<TileJob> tiles)
    {
        int rgbBytes = 0, rows = 0, spans = 0;
        foreach (var t in tiles)
        {
            rgbBytes += (t.Height - 1) * t.Stride + t.Width * 3;
            rows += t.Height + 1;
            spans += t.Tissue.RowStart[t.Tissue.Rows];
        }
        if (_staging.Length < rgbBytes)
            _staging = new byte[rgbBytes];
        var meta = new int[tiles.Count * MetaPerTile];
        var rowStart = new int[Math.Max(rows, 1)];
        var spanStart = new int[Math.Max(spans, 1)];
        var spanEnd = new int[Math.Max(spans, 1)];
        int rgbAt = 0, rowAt = 0, spanAt = 0;
        for (int i = 0; i < tiles.Count; i++)
        {
            var t = tiles[i];
            int bytes = (t.Height - 1) * t.Stride + t.Width * 3;
            Buffer.BlockCopy(t.Rgb, 0, _staging, rgbAt, bytes);
            meta[i * MetaPerTile] = rgbAt;
            meta[i * MetaPerTile + 1] = t.Stride;
            meta[i * MetaPerTile + 2] = t.Width;
            meta[i * MetaPerTile + 3] = t.Height;
            meta[i * MetaPerTile + 4] = rowAt;
            var s = t.Tissue;
            for (int y = 0; y <= t.Height; y++)
                rowStart[rowAt + y] = spanAt + s.RowStart[y];
            int n = s.RowStart[t.Height];
            Array.Copy(s.Start, 0, spanStart, spanAt, n);
            Array.Copy(s.End, 0, spanEnd, spanAt, n);
            rgbAt += bytes;
            rowAt += t.Height + 1;
            spanAt += n;
        }
        return new PackedBatch(rgbBytes, meta, rowStart, spanStart, spanEnd);
    }

    private void Upload(PackedBatch b, PixelModel model)
    {
        Ensure(ref _rgb, b.RgbBytes);
        Ensure(ref _meta, b.Meta.Length);
        Ensure(ref _rowStart, b.RowStart.Length);
        Ensure(ref _spanStart, b.SpanStart.Length);
        Ensure(ref _spanEnd, b.SpanEnd.Length);
        Ensure(ref _sums, b.Meta.Length / MetaPerTile * SumsPerTile);
        Ensure(ref _lut, 768);
        _rgb!.View.AsContiguous().SubView(0, b.RgbBytes).CopyFromCPU(new ReadOnlySpan<byte>(_staging, 0, b.RgbBytes));
        _meta!.View.AsContiguous().SubView(0, b.Meta.Length).CopyFromCPU(b.Meta);
        _rowStart!.View.AsContiguous().SubView(0, b.RowStart.Length).CopyFromCPU(b.RowStart);
        _spanStart!.View.AsContiguous().SubView(0, b.SpanStart.Length).CopyFromCPU(b.SpanStart);
        _spanEnd!.View.AsContiguous().SubView(0, b.SpanEnd.Length).CopyFromCPU(b.SpanEnd);
        _sums!.MemSetToZero();
        if (!ReferenceEquals(_lutOnDevice, model.ChromogenLut))
        {
            _lut!.View.AsContiguous().SubView(0, 768).CopyFromCPU(model.ChromogenLut);
            _lutOnDevice = model.ChromogenLut;
        }
    }

    private void Ensure<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length) where T : unmanaged
    {
        if (buffer is not null && buffer.Length >= length)
            return;
        buffer?.Dispose();
        // Grow with headroom so a slightly larger batch does not reallocate.
        buffer = _accelerator.Allocate1D<T>(Math.Max(1, length + length / 4));
    }

    internal readonly record struct KernelArgs(float Weak, float Moderate, float Strong, int ThreadsPerTile, int TileCount);

    private static void MeasureKernel(Index1D index, ArrayView<byte> rgb, ArrayView<int> meta, ArrayView<int> rowStart,
        ArrayView<int> spanStart, ArrayView<int> spanEnd, ArrayView<float> lut, ArrayView<long> sums, KernelArgs a)
    {
        int tile = index / a.ThreadsPerTile;
        if (tile >= a.TileCount)
            return;
        int lane = index - tile * a.ThreadsPerTile;
        int m = tile * MetaPerTile;
        int offset = meta[m], stride = meta[m + 1], width = meta[m + 2], height = meta[m + 3], rowBase = meta[m + 4];
        long tissue = 0, weak = 0, moderate = 0, strong = 0;
        float sum = 0;
        int pixels = width * height;
        for (int p = lane; p < pixels; p += a.ThreadsPerTile)
        {
            int y = p / width;
            int x = p - y * width;
            bool inside = false;
            for (int k = rowStart[rowBase + y]; k < rowStart[rowBase + y + 1]; k++)
            {
                if (x >= spanStart[k] && x < spanEnd[k])
                {
                    inside = true;
                    break;
                }
            }
            if (!inside)
                continue;
            int i = offset + y * stride + x * 3;
            float d = lut[(int)rgb[i]] + lut[256 + rgb[i + 1]] + lut[512 + rgb[i + 2]];
            tissue++;
            sum += d;
            if (d >= a.Weak) weak++;
            if (d >= a.Moderate) moderate++;
            if (d >= a.Strong) strong++;
        }
        if (tissue == 0)
            return;
        int s = tile * SumsPerTile;
        Atomic.Add(ref sums[s], tissue);
        Atomic.Add(ref sums[s + 1], weak);
        Atomic.Add(ref sums[s + 2], moderate);
        Atomic.Add(ref sums[s + 3], strong);
        Atomic.Add(ref sums[s + 4], (long)(sum * SumScale));
    }

    public void Dispose()
    {
        _rgb?.Dispose();
        _meta?.Dispose();
        _rowStart?.Dispose();
        _spanStart?.Dispose();
        _spanEnd?.Dispose();
        _lut?.Dispose();
        _sums?.Dispose();
        _hLut?.Dispose();
        _planeH?.Dispose();
        _planeD?.Dispose();
        _accelerator.Dispose();
        _context.Dispose();
    }
}
