using System.Globalization;
using HistoQuant.Pipeline;
using HistoQuant.Output;

namespace HistoQuant.Cli;

/// <summary>
/// What a batch is doing, on stderr. Finished slides always get one line each (a log that survives
/// redirection). On a terminal, a status line below them is redrawn a few times a second: slides done of
/// all, failures, and each running slide's stage and progress. When stderr is not a terminal the status
/// line is never drawn, so logs stay clean.
/// </summary>
public sealed class ProgressDisplay : IBatchProgress, IDisposable
{
    private readonly TextWriter _out;
    private readonly int _total;
    private readonly bool _live;
    private readonly object _gate = new();
    private readonly Dictionary<SlideProgress, string> _running = new();
    private readonly Timer? _timer;
    private int _done, _failed, _lastWidth;

    public ProgressDisplay(int total, TextWriter output, bool live)
    {
        _total = total;
        _out = output;
        _live = live;
        if (live)
            _timer = new Timer(_ => Redraw(), null, 250, 250);
    }

    public static bool StderrIsTerminal => !Console.IsErrorRedirected;

    public SlideProgress? Start(string slide)
    {
        var progress = new SlideProgress();
        lock (_gate)
            _running[progress] = Path.GetFileName(slide);
        return progress;
    }

    /// <summary>A slide is finished (measured, failed or skipped): its line goes above the status line.</summary>
    public void Finish(SlideProgress? progress, string line, bool failed)
    {
        lock (_gate)
        {
            if (progress is not null)
                _running.Remove(progress);
            _done++;
            if (failed)
                _failed++;
            Clear();
            _out.WriteLine($"[{_done}/{_total}] {line}");
            DrawLocked();
        }
    }

    private void Redraw()
    {
        lock (_gate)
            DrawLocked();
    }

    private void DrawLocked()
    {
        if (!_live || _done == _total)
            return;
        var parts = _running.Select(r => r.Key.Fraction is { } f
            ? string.Create(CultureInfo.InvariantCulture, $"{r.Value} {r.Key.Stage} {f * 100:0}%")
            : $"{r.Value} {r.Key.Stage}");
        string text = $"{_done}/{_total} done{(_failed > 0 ? $", {_failed} failed" : "")} | {string.Join(" | ", parts)}";
        int width = Math.Max(20, SafeWidth() - 1);
        if (text.Length > width)
            text = text[..(width - 1)] + "…";
        _out.Write("\r" + text.PadRight(_lastWidth));
        _lastWidth = text.Length;
        _out.Flush();
    }

    private void Clear()
    {
        if (!_live || _lastWidth == 0)
            return;
        _out.Write("\r" + new string(' ', _lastWidth) + "\r");
        _lastWidth = 0;
    }

    private static int SafeWidth()
    {
        try
        {
            return Console.WindowWidth > 0 ? Console.WindowWidth : 100;
        }
        catch (IOException)
        {
            return 100;
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        lock (_gate)
            Clear();
    }
}
