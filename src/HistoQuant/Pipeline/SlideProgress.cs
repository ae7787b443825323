namespace HistoQuant.Pipeline;

/// <summary>
/// How far one slide has got: the stage it is in (tissue, pixels, cells, fibres, capillaries) and the units
/// of work of that stage done so far. Written by the pipeline's workers, read by a progress display.
/// </summary>
public sealed class SlideProgress
{
    private int _done, _total;
    private volatile string _stage = "opening";

    public string Stage => _stage;

    /// <summary>Fraction of the current stage done, or null when the stage has no countable units.</summary>
    public double? Fraction => Volatile.Read(ref _total) is > 0 and var total ? Math.Min(1.0, Volatile.Read(ref _done) / (double)total) : null;

    public void Begin(string stage, int units = 0)
    {
        Volatile.Write(ref _total, 0);
        Volatile.Write(ref _done, 0);
        _stage = stage;
        Volatile.Write(ref _total, units);
    }

    public void Step() => Interlocked.Increment(ref _done);
}
