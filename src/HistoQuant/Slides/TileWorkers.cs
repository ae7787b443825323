using System.Runtime.ExceptionServices;

namespace HistoQuant.Slides;

/// <summary>
/// Runs a body over tile indices on a bounded number of threads, each with one pooled buffer of its own,
/// and rethrows the first failure as itself (not wrapped in an AggregateException), so a corrupt tile
/// surfaces as the one-line <see cref="SlideException"/> it raised.
/// </summary>
public static class TileWorkers
{
    public static void For(int count, int maxThreads, int bufferBytes, Action<int, byte[]> body, CancellationToken cancel = default)
    {
        var options = new ParallelOptions
        {
            MaxDegreeOfParallelism = maxThreads > 0 ? maxThreads : Environment.ProcessorCount,
            CancellationToken = cancel,
        };
        try
        {
            Parallel.For(0, count, options, () => System.Buffers.ArrayPool<byte>.Shared.Rent(bufferBytes), (i, _, buffer) =>
            {
                body(i, buffer);
                return buffer;
            }, buffer => System.Buffers.ArrayPool<byte>.Shared.Return(buffer));
        }
        catch (AggregateException e)
        {
            var first = e.Flatten().InnerExceptions[0];
            ExceptionDispatchInfo.Capture(first).Throw();
        }
    }
}
