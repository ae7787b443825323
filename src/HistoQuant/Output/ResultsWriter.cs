using HistoQuant.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HistoQuant.Measures;
using HistoQuant.Pipeline;

namespace HistoQuant.Output;

/// <summary>
/// Writes DIR/results.csv and DIR/results.json. Both are rewritten whole after every slide through a
/// temporary file and an atomic rename, so a crash never leaves a half-written row behind.
/// </summary>
public sealed class ResultsWriter : IDisposable
{
    /// <summary>results.csv's fixed columns: the slide's facts, every registered measure's columns, the run's.</summary>
    public static readonly string[] Columns =
    [
        "slide", "marker", "regions", "region", "status", "error", "stain_check", "warnings", "width_px", "height_px", "mpp",
        .. MeasureRegistry.Columns.Select(c => c.Name),
        "device", "seconds",
    ];

    private readonly string _folder;
    private readonly List<SlideResult> _results = new();
    private readonly FileStream _lock;

    /// <summary>
    /// Opens DIR, taking over the rows a previous run left in DIR/results.json. DIR is locked (DIR/.histoquant.lock)
    /// until disposed: a second run on the same folder is refused rather than both rewriting the tables and losing
    /// each other's rows. Throws <see cref="IOException"/> with one line when DIR cannot be written or is in use.
    /// </summary>
    public ResultsWriter(string folder)
    {
        _folder = folder;
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{folder}: cannot create the results folder ({e.Message})");
        }
        _lock = Lock(folder);
        try
        {
            CheckWritable(folder);
            TakeOver();
        }
        catch
        {
            _lock.Dispose();
            throw;
        }
    }

    private static FileStream Lock(string folder)
    {
        string path = Path.Combine(folder, ".histoquant.lock");
        try
        {
            // FileShare.None is an exclusive advisory lock (flock) on Unix; it goes when the process does, even on kill -9.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"{folder}: results cannot be written here ({e.Message})");
        }
        catch (IOException e) when (File.Exists(path))
        {
            throw new IOException($"{folder}: in use by another histoquant run ({path}); wait for it to finish or choose another --out ({e.Message})");
        }
    }

    /// <summary>Fails before any slide is measured when the folder cannot take the tables (read-only, full).</summary>
    private static void CheckWritable(string folder)
    {
        string probe = Path.Combine(folder, ".histoquant.write-test-" + Environment.ProcessId);
        try
        {
            File.WriteAllText(probe, "x");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{folder}: results cannot be written here ({e.Message})");
        }
    }

    private void TakeOver()
    {
        string folder = _folder;
        foreach (var stale in Directory.GetFiles(folder, "results.*.tmp-*"))
            File.Delete(stale); // left by a run killed mid-write; the real files are whole
        if (File.Exists(JsonPath))
        {
            try
            {
                _results.AddRange(ReadJson(JsonPath));
            }
            catch (JsonException e)
            {
                // Written atomically, so this is a hand-edited or foreign file: keep it aside, start afresh.
                string aside = JsonPath + ".unreadable-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss");
                File.Move(JsonPath, aside);
                Console.Error.WriteLine($"histoquant: {JsonPath}: not readable as results ({e.Message}); moved to {aside}");
            }
        }
    }

    /// <summary>Puts the rows in the order of <paramref name="rank"/> (stable for equal ranks) and rewrites both files.</summary>
    public void Reorder(Func<SlideResult, int> rank)
    {
        var ordered = _results.OrderBy(rank).ToList();
        _results.Clear();
        _results.AddRange(ordered);
        Write();
    }

    public void Dispose() => _lock.Dispose();

    public static List<SlideResult> ReadJson(string path) => ResultsJson.Read(File.ReadAllText(path));

    /// <summary>The finished row for this slide, marker and regions, if an earlier run measured it with these parameters.</summary>
    public SlideResult? Finished(string slide, string marker, string regions, string region, string parameters) =>
        _results.FirstOrDefault(r => r.Slide == slide && r.Marker == marker && r.Regions == regions && r.Region == region && r.Status == SlideResult.Ok && r.Parameters == parameters);

    public string CsvPath => Path.Combine(_folder, "results.csv");
    public string JsonPath => Path.Combine(_folder, "results.json");

    public IReadOnlyList<SlideResult> Results => _results;

    /// <summary>Adds or replaces the row of this slide, marker and regions, then rewrites both files atomically.</summary>
    public void Add(SlideResult result)
    {
        int at = _results.FindIndex(r => r.Slide == result.Slide && r.Marker == result.Marker && r.Regions == result.Regions && r.Region == result.Region);
        if (at >= 0)
            _results[at] = result;
        else
            _results.Add(result);
        Write();
    }

    private void Write()
    {
        WriteAtomically(CsvPath, ToCsv(_results));
        WriteAtomically(JsonPath, ResultsJson.Write(_results));
    }

    public static string ToCsv(IEnumerable<SlideResult> results)
    {
        var list = results.ToList();
        // Manifest columns follow the fixed ones, in the order they first appear.
        var extra = list.Where(r => r.Manifest is not null).SelectMany(r => r.Manifest!.Keys).Distinct().ToList();
        var csv = new CsvBuilder(Columns.Concat(extra.Select(CsvBuilder.Text)));
        foreach (var r in list)
            csv.Row(
            [
                CsvBuilder.Text(r.Slide), CsvBuilder.Text(r.Marker), CsvBuilder.Text(r.Regions), CsvBuilder.Text(r.Region), r.Status, CsvBuilder.Text(r.Error), r.StainCheck, CsvBuilder.Text(r.Warnings), Int(r.WidthPx), Int(r.HeightPx), Num(r.Mpp, "0.######"),
                .. MeasureRegistry.Columns.Select(c => c.ToCsv(r[c.Name])),
                CsvBuilder.Text(r.Device), r.Seconds.ToString("0.###", CultureInfo.InvariantCulture),
                .. extra.Select(k => CsvBuilder.Text(r.Manifest is { } m && m.TryGetValue(k, out var v) ? v : "")),
            ]);
        return csv.ToString();
    }

    private static string Int(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "";

    private static string Num(double? v, string format) => v?.ToString(format, CultureInfo.InvariantCulture) ?? "";

    public static void WriteAtomically(string path, string content)
    {
        string tmp = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllText(tmp, content, new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }
}
