namespace HistoQuant.Kernels;

/// <summary>
/// Runs a GPU engine and, the first time it fails (out of memory, driver error), measures that batch and
/// every later one on the CPU engine instead, and says so once on stderr and in <see cref="Name"/>.
/// </summary>
public sealed class FallbackPixelEngine : IPixelEngine
{
    private readonly IPixelEngine _primary;
    private readonly IPixelEngine _fallback;
    private readonly object _gate = new();
    private volatile bool _failed;
    private string? _reason;

    public FallbackPixelEngine(IPixelEngine primary, IPixelEngine fallback)
    {
        _primary = primary;
        _fallback = fallback;
    }

    public string Name => _failed ? $"{_primary.Name}->{_fallback.Name}" : _primary.Name;
    public string? FailureReason => _reason;
    public int BatchSize => _failed ? _fallback.BatchSize : _primary.BatchSize;
    public int BatchesInFlight => _failed ? _fallback.BatchesInFlight : _primary.BatchesInFlight;

    public void Measure(IReadOnlyList<TileJob> tiles, PixelModel model, Span<PixelSums> results)
    {
        if (!_failed)
        {
            try
            {
                _primary.Measure(tiles, model, results);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Fail(e);
            }
        }
        _fallback.Measure(tiles, model, results);
    }

    public void Deconvolve(TileJob tile, PixelModel model, Span<float> counterstain, Span<float> chromogen)
    {
        if (!_failed)
        {
            try
            {
                _primary.Deconvolve(tile, model, counterstain, chromogen);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Fail(e);
            }
        }
        _fallback.Deconvolve(tile, model, counterstain, chromogen);
    }

    private void Fail(Exception e)
    {
        lock (_gate)
        {
            if (_failed)
                return;
            _reason = e.Message;
            _failed = true;
            Console.Error.WriteLine($"histoquant: {_primary.Name} failed ({e.GetType().Name}: {e.Message}); measuring the remaining tiles on {_fallback.Name}");
        }
    }

    public void Dispose()
    {
        _primary.Dispose();
        _fallback.Dispose();
    }
}
