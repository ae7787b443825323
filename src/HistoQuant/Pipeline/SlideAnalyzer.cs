using System.Buffers;
using System.Threading.Channels;
using HistoQuant.Kernels;
using HistoQuant.Slides;

namespace HistoQuant.Pipeline;

/// <summary>What one pass over a slide's level-0 tissue tiles produced.</summary>
public sealed record AnalysisTotals(PixelSums Sums, long TilesTotal, long TilesRead);

/// <summary>
/// Schedules level-0 tiles: only tiles that touch tissue are read. For an engine that measures on the
/// calling thread (the CPU engine), each decode worker measures its own tile. For a batching engine (GPU),
/// decode workers feed a bounded queue and this thread hands full batches to the engine, so decoding the
/// next batch overlaps measuring the last; the queue bounds how many decoded tiles exist at once.
/// Per-tile sums land in an array by tile index and are added in that order, so the totals are the same
/// whatever the thread count or batch size.
/// </summary>
public static class SlideAnalyzer
{
    public static AnalysisTotals Run(ISlide slide, TissueMask tissue, PixelModel model, IPixelEngine engine, int maxThreads = 0, CancellationToken cancel = default,
        SlideProgress? progress = null)
    {
        var level = slide.Levels[0];
        var tiles = tissue.TissueTiles(level);

        progress?.Begin("pixels", tiles.Count);
        var perTile = new PixelSums[tiles.Count];
        int bufferBytes = level.TileBufferBytes() + 64; // kernels read a few bytes past the last pixel
        if (engine.BatchSize <= 1)
        {
            TileWorkers.For(tiles.Count, maxThreads, bufferBytes, (i, buffer) =>
            {
                var rect = tiles[i];
                slide.ReadTile(0, rect.Col, rect.Row, buffer);
                var job = new TileJob(buffer, level.TileWidth * 3, rect.Width, rect.Height, tissue.SpansFor(rect));
                engine.Measure([job], model, perTile.AsSpan(i, 1));
                progress?.Step();
            }, cancel);
        }
        else
            RunBatched(slide, tissue, model, engine, tiles, perTile, bufferBytes, maxThreads, cancel, progress);

        var total = new PixelSums();
        foreach (var s in perTile)
            total.Add(s);
        return new AnalysisTotals(total, level.TileCount, tiles.Count);
    }

    private static void RunBatched(ISlide slide, TissueMask tissue, PixelModel model, IPixelEngine engine, List<TileRect> tiles,
        PixelSums[] perTile, int bufferBytes, int maxThreads, CancellationToken cancel, SlideProgress? progress)
    {
        int batch = engine.BatchSize;
        int stride = slide.Levels[0].TileWidth * 3;
        var queue = Channel.CreateBounded<(int Index, TileJob Job)>(new BoundedChannelOptions((Math.Max(1, engine.BatchesInFlight) + 1) * batch));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var producer = Task.Run(() =>
        {
            try
            {
                TileWorkers.For(tiles.Count, maxThreads, 0, (i, _) =>
                {
                    var rect = tiles[i];
                    var buffer = ArrayPool<byte>.Shared.Rent(bufferBytes);
                    try
                    {
                        slide.ReadTile(0, rect.Col, rect.Row, buffer);
                        var job = new TileJob(buffer, stride, rect.Width, rect.Height, tissue.SpansFor(rect));
                        queue.Writer.WriteAsync((i, job), stop.Token).AsTask().GetAwaiter().GetResult();
                    }
                    catch
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        throw;
                    }
                }, stop.Token);
                queue.Writer.Complete();
            }
            catch (Exception e)
            {
                queue.Writer.Complete(e);
            }
        });

        // Each consumer gathers its own batches, so an engine with several device streams gets that many
        // batches at once and overlaps one batch's copies with another's kernel.
        int consumers = Math.Max(1, engine.BatchesInFlight);
        void Consume()
        {
            var indices = new List<int>(batch);
            var jobs = new List<TileJob>(batch);
            var results = new PixelSums[batch];
            try
            {
                var reader = queue.Reader;
                while (reader.WaitToReadAsync(stop.Token).AsTask().GetAwaiter().GetResult())
                {
                    while (jobs.Count < batch && reader.TryRead(out var item))
                    {
                        indices.Add(item.Index);
                        jobs.Add(item.Job);
                    }
                    // A partial batch waits for more tiles; the queue holds a batch more than the consumers
                    // gather, so producers never stall first.
                    if (jobs.Count == batch)
                        Flush(engine, model, jobs, indices, results, perTile, progress);
                }
                Flush(engine, model, jobs, indices, results, perTile, progress);
                reader.Completion.GetAwaiter().GetResult(); // rethrows a producer's failure
            }
            catch
            {
                stop.Cancel();
                throw;
            }
            finally
            {
                foreach (var j in jobs)
                    ArrayPool<byte>.Shared.Return(j.Rgb);
            }
        }

        try
        {
            var others = Enumerable.Range(1, consumers - 1).Select(_ => Task.Run(Consume)).ToArray();
            Exception? first = null;
            try { Consume(); } catch (Exception e) { first = e; }
            foreach (var t in others)
            {
                try { t.GetAwaiter().GetResult(); } catch (Exception e) { first ??= e; }
            }
            if (first is not null)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }
        finally
        {
            while (queue.Reader.TryRead(out var left))
                ArrayPool<byte>.Shared.Return(left.Job.Rgb);
            try { producer.Wait(); } catch (AggregateException) { }
        }
    }

    private static void Flush(IPixelEngine engine, PixelModel model, List<TileJob> jobs, List<int> indices, PixelSums[] results, PixelSums[] perTile, SlideProgress? progress)
    {
        if (jobs.Count == 0)
            return;
        engine.Measure(jobs, model, results.AsSpan(0, jobs.Count));
        for (int k = 0; k < jobs.Count; k++)
        {
            perTile[indices[k]] = results[k];
            ArrayPool<byte>.Shared.Return(jobs[k].Rgb);
            progress?.Step();
        }
        jobs.Clear();
        indices.Clear();
    }
}
