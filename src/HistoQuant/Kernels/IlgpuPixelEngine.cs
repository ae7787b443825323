using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace HistoQuant.Kernels;

/// <summary>
/// The ILGPU engine: a batch of tiles is copied to the device in one transfer, one kernel launch measures
/// them all, and only the per-tile totals (five 64-bit numbers and the 64-bin chromogen histogram) come back. Each thread walks a
/// strided share of one tile's pixels, so neighbouring threads read neighbouring pixels; it keeps its own
/// counts, the threads of a group add theirs in shared memory, and one thread per total then adds the group's
/// to the tile's with one 64-bit global atomic (so a tile's 69 addresses see one atomic per group, not one per
/// thread). The chromogen sum is carried in fixed point (2⁻²⁰ OD) so every addition is an exact integer one
/// and the result does not depend on thread order.
/// <para>
/// The engine has <see cref="BatchesInFlight"/> lanes, each with its own device stream, page-locked host
/// buffers and device buffers. Batches measured from different threads take different lanes, so one
/// batch's copy to the device runs while another batch's kernel runs (copies from page-locked memory are
/// asynchronous; from ordinary memory they would block the host). Buffers grow only when a batch needs more.
/// </para>
/// </summary>
public sealed class IlgpuPixelEngine : IPixelEngine
{
    internal const int ThreadsPerTile = 1024;
    /// <summary>Threads per group on a GPU; ILGPU's CPU emulator allows fewer (see <see cref="GroupSizeFor"/>).</summary>
    private const int PreferredGroupSize = 256;
    internal const double SumScale = 1 << 20;
    private const int MetaPerTile = 5;
    private const int SumsPerTile = 5 + DabHistogram.Bins;

    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<long>, KernelArgs> _kernel;
    private readonly int _groupSize;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, PlaneArgs> _planesKernel;
    private readonly Lane[] _lanes;
    private readonly SemaphoreSlim _free;
    private readonly System.Collections.Concurrent.ConcurrentBag<Lane> _idle;
    private readonly object _statsGate = new();
    private double _pack, _upload, _kernelTime, _download;

    public string Name { get; }
    /// <summary>How many groups share one tile, each adding its shared-memory totals to the tile's.</summary>
    internal int GroupsPerTile => ThreadsPerTile / _groupSize;
    public int BatchSize { get; }
    public int BatchesInFlight => _lanes.Length;

    /// <summary>
    /// Where the time went, for `bench`: host packing (wall), and device time for copies in, kernel and
    /// copies out, taken from stream profiling markers (so overlapped lanes each count their own time).
    /// </summary>
    public (double Pack, double Upload, double Kernel, double Download) Seconds
    {
        get { lock (_statsGate) return (_pack, _upload, _kernelTime, _download); }
    }

    private IlgpuPixelEngine(Context context, Accelerator accelerator, string name, int batchSize, int lanes)
    {
        _context = context;
        _accelerator = accelerator;
        Name = name;
        BatchSize = batchSize;
        _planesKernel = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, PlaneArgs>(PlanesKernel);
        _kernel = accelerator.LoadKernel<ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<long>, KernelArgs>(MeasureKernel);
        _groupSize = GroupSizeFor(accelerator.MaxNumThreadsPerGroup);
        _lanes = new Lane[lanes];
        for (int i = 0; i < lanes; i++)
            _lanes[i] = new Lane(accelerator);
        _idle = new(_lanes);
        _free = new SemaphoreSlim(lanes, lanes);
    }

    /// <summary>The first CUDA device, else the first OpenCL GPU; null when the machine has neither.</summary>
    public static IlgpuPixelEngine? TryCreateGpu(int batchSize = 32, int lanes = 2) => TryCreateGpu(out _, batchSize, lanes);

    /// <summary>The sentence <see cref="TryCreateGpu(out string?, int, int)"/> gives when there is simply no GPU.</summary>
    public const string NoGpu = "no CUDA device or OpenCL GPU found";

    /// <param name="why">Null when a GPU engine was made; else why not: <see cref="NoGpu"/>, or what failed on a GPU that is there.</param>
    public static IlgpuPixelEngine? TryCreateGpu(out string? why, int batchSize = 32, int lanes = 2) =>
        TryCreate(() => Context.Create(builder => builder.Cuda().OpenCL().Profiling().Optimize(OptimizationLevel.O1)), PickGpu, out why, batchSize, lanes);

    private static (Device Device, string Name)? PickGpu(Context context)
    {
        foreach (var device in context.Devices)
            if (device.AcceleratorType == AcceleratorType.Cuda)
                return (device, $"cuda:{device.Name}");
        foreach (var device in context.Devices)
            // CPU OpenCL drivers (pocl) are slower than the CPU engine, so only GPUs qualify.
            if (device is CLDevice cl && cl.DeviceType == CLDeviceType.CL_DEVICE_TYPE_GPU)
                return (device, $"opencl:{device.Name}");
        return null;
    }

    /// <summary>
    /// Makes an engine on the device <paramref name="pick"/> chooses. A failure (a driver that does not load, a
    /// kernel that does not compile or JIT) is not hidden as "no GPU": <paramref name="why"/> says what happened,
    /// and the accelerator and context made before it are released.
    /// </summary>
    /// <param name="afterAccelerator">Runs once the accelerator exists (tests simulate failures there).</param>
    internal static IlgpuPixelEngine? TryCreate(Func<Context> createContext, Func<Context, (Device Device, string Name)?> pick, out string? why,
        int batchSize, int lanes, Action<Accelerator>? afterAccelerator = null)
    {
        Context? context = null;
        Accelerator? accelerator = null;
        string? name = null;
        try
        {
            context = createContext();
            if (pick(context) is not { } chosen)
            {
                context.Dispose();
                why = NoGpu;
                return null;
            }
            name = chosen.Name;
            accelerator = chosen.Device.CreateAccelerator(context);
            afterAccelerator?.Invoke(accelerator);
            var engine = new IlgpuPixelEngine(context, accelerator, name, batchSize, lanes);
            why = null;
            return engine;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            accelerator?.Dispose();
            context?.Dispose();
            string message = e.Message.Split('\n')[0].Trim();
            why = name is null ? $"the GPU drivers could not be used ({e.GetType().Name}: {message})" : $"{name} could not be used ({e.GetType().Name}: {message})";
            return null;
        }
    }

    /// <summary>ILGPU's CPU accelerator: an emulator, for checking the kernel against the CPU engine in CI.</summary>
    public static IlgpuPixelEngine CreateCpuEmulator(int batchSize = 4, int lanes = 2)
    {
        var context = Context.Create(builder => builder.CPU().Profiling().Optimize(OptimizationLevel.O1));
        return new IlgpuPixelEngine(context, context.CreateCPUAccelerator(0), "ilgpu-cpu", batchSize, lanes);
    }

    /// <summary>
    /// The most pixel bytes one batch may hold: offsets into a batch are 32-bit on the device (and in the packed
    /// index), and 32 tiles of 16 Mpx would already be 75% of int.MaxValue. Larger batches are measured in halves.
    /// </summary>
    internal long MaxBatchBytes { get; set; } = 1L << 30;

    internal static long BatchBytes(IReadOnlyList<TileJob> tiles) => tiles.Sum(t => (long)(t.Height - 1) * t.Stride + (long)t.Width * 3);

    public void Measure(IReadOnlyList<TileJob> tiles, PixelModel model, Span<PixelSums> results)
    {
        if (tiles.Count == 0)
            return;
        if (tiles.Count > 1 && BatchBytes(tiles) > MaxBatchBytes)
        {
            int half = tiles.Count / 2;
            Measure(tiles.Take(half).ToList(), model, results[..half]);
            Measure(tiles.Skip(half).ToList(), model, results[half..]);
            return;
        }
        var lane = Take();
        try
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            var layout = lane.Pack(tiles);
            double pack = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;

            var stream = lane.Stream;
            using var start = stream.AddProfilingMarker();
            lane.Upload(layout, model, stream);
            using var uploaded = stream.AddProfilingMarker();
            var args = new KernelArgs(model.Weak, model.Moderate, model.Strong, ThreadsPerTile, tiles.Count, layout.RowStartAt, layout.SpanStartAt, layout.SpanEndAt, model.Histogram ? 1 : 0);
            var config = new KernelConfig(tiles.Count * (ThreadsPerTile / _groupSize), _groupSize);
            _kernel(stream, config, lane.Rgb.View, lane.Index.View, lane.Lut.View, lane.Sums.View, args);
            using var measured = stream.AddProfilingMarker();
            int sumCount = tiles.Count * SumsPerTile;
            lane.HostSums.ArrayView.SubView(0, sumCount).CopyFrom(stream, lane.Sums.View.BaseView.SubView(0, sumCount));
            using var downloaded = stream.AddProfilingMarker();
            stream.Synchronize();

            var sums = lane.HostSums.Span;
            for (int t = 0; t < tiles.Count; t++)
            {
                int o = t * SumsPerTile;
                var tileSums = new PixelSums
                {
                    Tissue = sums[o],
                    AtLeastWeak = sums[o + 1],
                    AtLeastModerate = sums[o + 2],
                    AtLeastStrong = sums[o + 3],
                    ChromogenSum = sums[o + 4] / SumScale,
                };
                for (int k = 0; k < DabHistogram.Bins; k++)
                    tileSums.Histogram[k] = sums[o + 5 + k];
                results[t] = tileSums;
            }
            lock (_statsGate)
            {
                _pack += pack;
                _upload += (uploaded - start).TotalSeconds;
                _kernelTime += (measured - uploaded).TotalSeconds;
                _download += (downloaded - measured).TotalSeconds;
            }
        }
        catch
        {
            // Work queued before the failure may still be writing into this lane's buffers: let it finish (or
            // fail) before the lane goes back to the pool for another batch.
            lane.TrySynchronize();
            throw;
        }
        finally
        {
            Give(lane);
        }
    }

    public void Deconvolve(TileJob tile, PixelModel model, Span<float> counterstain, Span<float> chromogen)
    {
        int pixels = tile.Width * tile.Height;
        int bytes = (tile.Height - 1) * tile.Stride + tile.Width * 3;
        var lane = Take();
        try
        {
            var stream = lane.Stream;
            lane.Grow(_accelerator, bytes, 0, 0);
            lane.EnsurePlanes(_accelerator, pixels);
            lane.Rgb.View.BaseView.SubView(0, bytes).CopyFromCPU(stream, new ReadOnlySpan<byte>(tile.Rgb, 0, bytes));
            lane.SetLut(model.ChromogenLut, stream);
            lane.CounterstainLut!.View.BaseView.SubView(0, 768).CopyFromCPU(stream, model.CounterstainLut);
            _planesKernel(stream, pixels, lane.Rgb.View, lane.CounterstainLut.View, lane.Lut.View, lane.PlaneH!.View, lane.PlaneD!.View, new PlaneArgs(tile.Width, tile.Stride));
            lane.PlaneH.View.BaseView.SubView(0, pixels).CopyToCPU(stream, counterstain[..pixels]);
            lane.PlaneD!.View.BaseView.SubView(0, pixels).CopyToCPU(stream, chromogen[..pixels]);
            stream.Synchronize();
        }
        catch
        {
            // Work queued before the failure may still be writing into this lane's buffers: let it finish (or
            // fail) before the lane goes back to the pool for another batch.
            lane.TrySynchronize();
            throw;
        }
        finally
        {
            Give(lane);
        }
    }

    private Lane Take()
    {
        _free.Wait();
        _idle.TryTake(out var lane);
        return lane!;
    }

    private void Give(Lane lane)
    {
        _idle.Add(lane);
        _free.Release();
    }

    /// <summary>Every kernel this engine launches, for the CUDA compile check (`.ci/ptx-check`).</summary>
    public static IReadOnlyList<System.Reflection.MethodInfo> Kernels { get; } =
    [
        typeof(IlgpuPixelEngine).GetMethod(nameof(MeasureKernel), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!,
        typeof(IlgpuPixelEngine).GetMethod(nameof(PlanesKernel), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!,
    ];

    internal readonly record struct PlaneArgs(int Width, int Stride);

    private static void PlanesKernel(Index1D p, ArrayView<byte> rgb, ArrayView<float> hLut, ArrayView<float> dLut, ArrayView<float> h, ArrayView<float> d, PlaneArgs a)
    {
        int y = p / a.Width;
        int i = y * a.Stride + (p - y * a.Width) * 3;
        int r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
        h[p] = hLut[r] + hLut[256 + g] + hLut[512 + b];
        d[p] = dLut[r] + dLut[256 + g] + dLut[512 + b];
    }

    /// <summary>Where each part of a batch's index array starts: per-tile metadata first, then the tissue runs.</summary>
    private readonly record struct BatchLayout(int RgbBytes, int IndexInts, int RowStartAt, int SpanStartAt, int SpanEndAt);

    /// <summary>One stream with the host and device buffers it owns; used by one batch at a time.</summary>
    private sealed class Lane : IDisposable
    {
        public readonly AcceleratorStream Stream;
        public PageLockedArray1D<byte> HostRgb = PageLockedArray1D<byte>.Empty;
        public PageLockedArray1D<int> HostIndex = PageLockedArray1D<int>.Empty;
        public PageLockedArray1D<long> HostSums = PageLockedArray1D<long>.Empty;
        public MemoryBuffer1D<byte, Stride1D.Dense> Rgb;
        public MemoryBuffer1D<int, Stride1D.Dense> Index;
        public MemoryBuffer1D<long, Stride1D.Dense> Sums;
        public MemoryBuffer1D<float, Stride1D.Dense> Lut;
        public MemoryBuffer1D<float, Stride1D.Dense>? CounterstainLut, PlaneH, PlaneD;
        private float[]? _lutOnDevice;

        public Lane(Accelerator accelerator)
        {
            Stream = accelerator.CreateStream();
            Rgb = accelerator.Allocate1D<byte>(1);
            Index = accelerator.Allocate1D<int>(1);
            Sums = accelerator.Allocate1D<long>(1);
            Lut = accelerator.Allocate1D<float>(768);
        }

        /// <summary>Lays the batch out in page-locked memory: pixels back to back, then one int array of indices.</summary>
        public BatchLayout Pack(IReadOnlyList<TileJob> tiles)
        {
            int rgbBytes = 0, rows = 0, spans = 0;
            foreach (var t in tiles)
            {
                rgbBytes += (t.Height - 1) * t.Stride + t.Width * 3;
                rows += t.Height + 1;
                spans += t.Tissue.RowStart[t.Tissue.Rows];
            }
            int rowStartAt = tiles.Count * MetaPerTile, spanStartAt = rowStartAt + rows, spanEndAt = spanStartAt + spans;
            int indexInts = spanEndAt + spans;
            var accelerator = Stream.Accelerator;
            Grow(accelerator, rgbBytes, indexInts, tiles.Count * SumsPerTile);
            if (HostRgb.Length < rgbBytes)
                Replace(ref HostRgb, accelerator.AllocatePageLocked1D<byte>(Headroom(rgbBytes)));
            if (HostIndex.Length < indexInts)
                Replace(ref HostIndex, accelerator.AllocatePageLocked1D<int>(Headroom(indexInts)));
            if (HostSums.Length < tiles.Count * SumsPerTile)
                Replace(ref HostSums, accelerator.AllocatePageLocked1D<long>(Headroom(tiles.Count * SumsPerTile)));

            var rgb = HostRgb.Span;
            var index = HostIndex.Span;
            int rgbAt = 0, rowAt = 0, spanAt = 0;
            for (int i = 0; i < tiles.Count; i++)
            {
                var t = tiles[i];
                int bytes = (t.Height - 1) * t.Stride + t.Width * 3;
                t.Rgb.AsSpan(0, bytes).CopyTo(rgb[rgbAt..]);
                int m = i * MetaPerTile;
                index[m] = rgbAt;
                index[m + 1] = t.Stride;
                index[m + 2] = t.Width;
                index[m + 3] = t.Height;
                index[m + 4] = rowAt;
                var s = t.Tissue;
                for (int y = 0; y <= t.Height; y++)
                    index[rowStartAt + rowAt + y] = spanAt + s.RowStart[y];
                int n = s.RowStart[t.Height];
                s.Start.AsSpan(0, n).CopyTo(index[(spanStartAt + spanAt)..]);
                s.End.AsSpan(0, n).CopyTo(index[(spanEndAt + spanAt)..]);
                rgbAt += bytes;
                rowAt += t.Height + 1;
                spanAt += n;
            }
            return new BatchLayout(rgbBytes, indexInts, rowStartAt, spanStartAt, spanEndAt);
        }

        /// <summary>Queues the copies to the device on this lane's stream; nothing here waits.</summary>
        public void Upload(BatchLayout layout, PixelModel model, AcceleratorStream stream)
        {
            if (layout.RgbBytes > 0)
                Rgb.View.BaseView.SubView(0, layout.RgbBytes).CopyFrom(stream, HostRgb.ArrayView.SubView(0, layout.RgbBytes));
            Index.View.BaseView.SubView(0, layout.IndexInts).CopyFrom(stream, HostIndex.ArrayView.SubView(0, layout.IndexInts));
            Sums.View.MemSetToZero(stream);
            SetLut(model.ChromogenLut, stream);
        }

        public void SetLut(float[] lut, AcceleratorStream stream)
        {
            if (ReferenceEquals(_lutOnDevice, lut))
                return;
            Lut.View.BaseView.SubView(0, 768).CopyFromCPU(stream, lut);
            _lutOnDevice = lut;
        }

        public void Grow(Accelerator accelerator, long rgbBytes, long indexInts, long sums)
        {
            Ensure(accelerator, ref Rgb, rgbBytes);
            Ensure(accelerator, ref Index, indexInts);
            Ensure(accelerator, ref Sums, sums);
        }

        public void EnsurePlanes(Accelerator accelerator, long pixels)
        {
            CounterstainLut ??= accelerator.Allocate1D<float>(768);
            PlaneH ??= accelerator.Allocate1D<float>(1);
            PlaneD ??= accelerator.Allocate1D<float>(1);
            Ensure(accelerator, ref PlaneH, pixels);
            Ensure(accelerator, ref PlaneD, pixels);
        }

        private static long Headroom(long length) => Math.Max(1, length + length / 4);

        private static void Ensure<T>(Accelerator accelerator, ref MemoryBuffer1D<T, Stride1D.Dense> buffer, long length) where T : unmanaged
        {
            if (buffer.Length >= length)
                return;
            buffer.Dispose();
            // Grow with headroom so a slightly larger batch does not reallocate.
            buffer = accelerator.Allocate1D<T>(Headroom(length));
        }

        private static void Replace<T>(ref PageLockedArray1D<T> array, PageLockedArray1D<T> larger) where T : unmanaged
        {
            if (array.Length > 0)
                array.Dispose();
            array = larger;
        }

        /// <summary>Waits for queued work; false when the device reports an error (a sticky CUDA error, a lost device).</summary>
        public bool TrySynchronize()
        {
            try
            {
                Stream.Synchronize();
                return true;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return false;
            }
        }

        /// <summary>
        /// Releases everything, each part on its own: after a sticky CUDA error every call into the driver fails,
        /// and one failure must not leak the rest or throw out of a run that had already fallen back to the CPU.
        /// </summary>
        public void Dispose()
        {
            TrySynchronize();
            foreach (var b in new MemoryBuffer?[] { Rgb, Index, Sums, Lut, CounterstainLut, PlaneH, PlaneD })
                Quietly(() => b?.Dispose());
            if (HostRgb.Length > 0) Quietly(HostRgb.Dispose);
            if (HostIndex.Length > 0) Quietly(HostIndex.Dispose);
            if (HostSums.Length > 0) Quietly(HostSums.Dispose);
            Quietly(Stream.Dispose);
        }
    }

    internal readonly record struct KernelArgs(float Weak, float Moderate, float Strong, int ThreadsPerTile, int TileCount,
        int RowStartAt, int SpanStartAt, int SpanEndAt, int Histogram);

    /// <summary>
    /// The largest power of two up to <see cref="PreferredGroupSize"/> that the device allows: it divides
    /// <see cref="ThreadsPerTile"/>, so a group never spans two tiles.
    /// </summary>
    internal static int GroupSizeFor(int maxThreadsPerGroup)
    {
        int size = PreferredGroupSize;
        while (size > 1 && size > maxThreadsPerGroup)
            size /= 2;
        return size;
    }

    /// <param name="meta">Per tile: pixel offset, stride, width, height, first row; then row starts and tissue runs (see <see cref="BatchLayout"/>).</param>
    /// <param name="sums">Per tile: tissue, ≥ weak, ≥ moderate, ≥ strong, fixed-point chromogen sum, histogram; zeroed before the launch.</param>
    private static void MeasureKernel(ArrayView<byte> rgb, ArrayView<int> meta, ArrayView<float> lut, ArrayView<long> sums, KernelArgs a)
    {
        // The group's totals in shared memory, laid out as a tile's sums.
        var shared = SharedMemory.Allocate1D<long>(SumsPerTile);
        for (int k = Group.IdxX; k < SumsPerTile; k += Group.DimX)
            shared[k] = 0;
        Group.Barrier();

        int groupsPerTile = a.ThreadsPerTile / Group.DimX;
        int tile = Grid.IdxX / groupsPerTile;
        // A group never spans two tiles, so all its threads take the same branch and all reach the barrier below.
        if (tile < a.TileCount)
        {
            int lane = (Grid.IdxX - tile * groupsPerTile) * Group.DimX + Group.IdxX;
            int m = tile * MetaPerTile;
            int offset = meta[m], stride = meta[m + 1], width = meta[m + 2], height = meta[m + 3], rowBase = meta[m + 4];
            long tissue = 0, weak = 0, moderate = 0, strong = 0;
            float sum = 0;
            // Each thread counts its own histogram in local memory and adds it to the group's at the end.
            var hist = LocalMemory.Allocate1D<int>(DabHistogram.Bins);
            if (a.Histogram != 0)
                for (int k = 0; k < DabHistogram.Bins; k++)
                    hist[k] = 0;
            int pixels = width * height;
            for (int p = lane; p < pixels; p += a.ThreadsPerTile)
            {
                int y = p / width;
                int x = p - y * width;
                bool inside = false;
                int row = a.RowStartAt + rowBase + y;
                for (int k = meta[row]; k < meta[row + 1]; k++)
                {
                    if (x >= meta[a.SpanStartAt + k] && x < meta[a.SpanEndAt + k])
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
                if (a.Histogram != 0) // the same for every thread of a launch: no divergence
                    hist[(int)IntrinsicMath.Min(IntrinsicMath.Max(d * DabHistogram.BinsPerOd, 0f), DabHistogram.Bins - 1f)]++;
                if (d >= a.Weak) weak++;
                if (d >= a.Moderate) moderate++;
                if (d >= a.Strong) strong++;
            }
            if (tissue != 0)
            {
                Atomic.Add(ref shared[0], tissue);
                Atomic.Add(ref shared[1], weak);
                Atomic.Add(ref shared[2], moderate);
                Atomic.Add(ref shared[3], strong);
                Atomic.Add(ref shared[4], (long)(sum * SumScale));
                if (a.Histogram != 0)
                    for (int k = 0; k < DabHistogram.Bins; k++)
                        if (hist[k] != 0)
                            Atomic.Add(ref shared[5 + k], (long)hist[k]);
            }
        }
        Group.Barrier();
        if (tile < a.TileCount)
        {
            int s = tile * SumsPerTile;
            for (int k = Group.IdxX; k < SumsPerTile; k += Group.DimX)
                if (shared[k] != 0)
                    Atomic.Add(ref sums[s + k], shared[k]);
        }
    }

    public void Dispose()
    {
        foreach (var lane in _lanes)
            lane.Dispose();
        _free.Dispose();
        Quietly(_accelerator.Dispose);
        Quietly(_context.Dispose);
    }

    /// <summary>Runs a release step whose failure (a device already in error) must not stop the others.</summary>
    private static void Quietly(Action release)
    {
        try
        {
            release();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The device is gone or in error; nothing more can be released through it.
        }
    }
}
