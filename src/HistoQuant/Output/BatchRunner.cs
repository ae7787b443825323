using System.Globalization;
using HistoQuant.Pipeline;

namespace HistoQuant.Output;

/// <summary>One slide to measure with one marker; <see cref="Columns"/> are a manifest row's other columns.</summary>
/// <param name="InputOrder">Position in the whole batch as given (before --shard), so merged shards keep the input order.</param>
/// <param name="Regions">A QuPath annotation GeoJSON the slide is measured inside (`--regions`, the manifest's `regions`).</param>
/// <param name="RegionClass">One annotation class of the regions (a `--per-region` row); null for their union.</param>
public sealed record BatchJob(string Slide, string Marker, IReadOnlyDictionary<string, string>? Columns = null, int? InputOrder = null, string? Regions = null,
    string? RegionClass = null)
{
    /// <summary>The row's `region`: empty without regions, `all` for their union, else the class.</summary>
    public string Region => Regions is null ? "" : RegionClass ?? "all";
}

/// <summary>Where a batch tells its progress (a terminal's status line, or nothing).</summary>
public interface IBatchProgress
{
    SlideProgress? Start(string slide);
    void Finish(SlideProgress? progress, string line, bool failed);
}

/// <summary>
/// Measures a batch of slides into DIR/results.csv and results.json: rows already finished with the same
/// parameters are kept (unless forced), each finished slide is written at once (atomically), its detection files
/// are written beside them when asked for, slides run `jobs` at a time within the memory the process may use, and
/// the tables list rows in the order the jobs were given. One bad slide is an error row; the batch goes on.
/// </summary>
/// <param name="perRegion">Slides with regions get one more row per included annotation class (`--per-region`).</param>
/// <param name="viewer">Also write each slide's zoomable viewer (viewer.html) into its detection folder (`--viewer`; implies detections).</param>
public sealed class BatchRunner(IReadOnlyDictionary<string, Quantifier> quantifiers, string outDir, bool force = false, int jobs = 1, bool detections = false,
    bool perRegion = false, bool viewer = false)
{
    /// <summary>Measured peaks: about 350 MB a slide for pixel measures, 540 MB with cells (50 000² px), 480 MB with fibres (20 000² px).</summary>
    public const long PixelBytesPerSlide = 350L << 20, ObjectBytesPerSlide = 650L << 20;

    public int Failed { get; private set; }

    public ResultsWriter? Writer { get; private set; }

    /// <summary>Runs the jobs; returns how many slides failed (their rows say why).</summary>
    public int Run(IReadOnlyList<BatchJob> given, IBatchProgress? progressSink = null, TextWriter? log = null)
    {
        var batch = perRegion ? given.SelectMany(PerRegion).ToList() : given;
        using var writer = Writer = new ResultsWriter(outDir);
        int failed = 0;
        Exception? writeFailure = null;
        int parallel = JobsWithinMemory(jobs, quantifiers.Values, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, log);
        Parallel.For(0, batch.Count, new ParallelOptions { MaxDegreeOfParallelism = parallel }, (i, loop) =>
        {
            if (Volatile.Read(ref writeFailure) is not null)
                return;
            var job = batch[i];
            var quantifier = quantifiers[job.Marker];
            // A re-run (after a crash, or with more slides) keeps rows finished with the same parameters (and regions).
            string parameters = ParametersOf(quantifier, job);
            bool kept;
            lock (writer)
                kept = !force && writer.Finished(job.Slide, quantifier.MarkerId, job.Regions ?? "", job.Region, parameters) is not null;
            if (kept)
            {
                // A finished row asked for again with --viewer: the viewer is all that is missing.
                if (viewer && job.RegionClass is null && !File.Exists(Path.Combine(DetectionFolder(job.Slide, quantifier.MarkerId, job.Regions), ViewerExport.HtmlName)))
                    try
                    {
                        ViewerExport.ForResults(job.Slide, outDir, quantifier.MarkerId);
                    }
                    catch (Exception e) when (e is IOException or FormatException or Slides.SlideException or UnauthorizedAccessException)
                    {
                        log?.WriteLine($"histoquant: no viewer for {job.Slide}: {e.Message}");
                    }
                progressSink?.Finish(null, $"{job.Slide}: already measured with these parameters, kept (--force redoes it)", failed: false);
                return;
            }
            var progress = progressSink?.Start(job.Slide);
            // Detection files come from the union's measurement (per-class rows would only repeat them in part).
            Action<MeasuredSlide>? write = (detections || viewer) && job.RegionClass is null ? m =>
            {
                string folder = DetectionFolder(job.Slide, quantifier.MarkerId, job.Regions);
                DetectionFiles.Write(m, folder);
                if (viewer)
                    ViewerExport.Write(m.Slide, m.Tissue, Path.Combine(folder, "detections.geojson"), folder, ViewerExport.Title(m.Path, m.Result.Marker, m.Result.Mpp), m.Result.Mpp,
                        maxThreads: 0);
            } : null;
            var result = quantifier.Run(job.Slide, default, progress, write, job.Regions, job.RegionClass)
                with { Manifest = job.Columns, InputOrder = job.InputOrder ?? i, Parameters = parameters, Regions = job.Regions ?? "", Region = job.Region };
            try
            {
                lock (writer)
                    writer.Add(result);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A full disk or a folder gone read-only: stop measuring; the tables keep every row written before.
                Interlocked.CompareExchange(ref writeFailure, e, null);
                loop.Stop();
                return;
            }
            if (result.Status == SlideResult.Ok)
                progressSink?.Finish(progress, $"{job.Slide}: {Headline(quantifier, result)} ({result.Seconds:0.0} s, {result.Device})", failed: false);
            else
            {
                Interlocked.Increment(ref failed);
                progressSink?.Finish(progress, $"error: {result.Error}", failed: true);
            }
        });
        if (writeFailure is not null)
            throw new IOException($"{outDir}: results could not be written ({writeFailure.Message}); the rows written before are intact, run the same command again to finish");
        // Slides finish in any order with --jobs; the tables list them in the order they were given.
        var order = batch.Select((j, i) => (Key: (j.Slide, quantifiers[j.Marker].MarkerId, j.Regions ?? "", j.Region), i)).GroupBy(x => x.Key).ToDictionary(g => g.Key, g => g.First().i);
        writer.Reorder(r => order.TryGetValue((r.Slide, r.Marker, r.Regions, r.Region), out int rank) ? rank : int.MaxValue);
        BatchPage.Write(writer.Results, r => r.Region is "" or "all"
            ? Path.GetRelativePath(outDir, DetectionFolder(r.Slide, r.Marker, r.Regions.Length > 0 ? r.Regions : null)) : null, outDir);
        return Failed = failed;
    }

    /// <summary>
    /// DIR/&lt;slide name&gt;.&lt;marker&gt;-&lt;hash&gt;/: one folder per slide, marker and regions, unique for slides of the same name in
    /// different folders (the hash is of the slide's full path, the marker and the regions file).
    /// </summary>
    public string DetectionFolder(string slide, string marker, string? regions = null) => DetectionFolder(outDir, slide, marker, regions);

    public static string DetectionFolder(string outDir, string slide, string marker, string? regions = null)
    {
        string key = $"{Path.GetFullPath(slide)}|{marker}|{(regions is null ? "" : Path.GetFullPath(regions))}";
        string hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)), 0, 3).ToLowerInvariant();
        return Path.Combine(outDir, $"{Quantifier.SafeName(slide)}.{marker}-{hash}");
    }

    /// <summary>A slide with regions: the union's row, then one per included annotation class.</summary>
    private static IEnumerable<BatchJob> PerRegion(BatchJob job)
    {
        yield return job;
        if (job.Regions is null || job.RegionClass is not null)
            yield break;
        foreach (var c in RegionsFile.IncludedClasses(job.Regions))
            yield return job with { RegionClass = c };
    }

    /// <summary>The quantifier's fingerprint, and the regions file's content when there is one: new regions, new numbers.</summary>
    private static string ParametersOf(Quantifier quantifier, BatchJob job)
    {
        if (job.Regions is null)
            return quantifier.Fingerprint;
        string content = File.Exists(job.Regions) ? Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(job.Regions)), 0, 4) : "missing";
        return $"{quantifier.Fingerprint}+regions-{content.ToLowerInvariant()}";
    }

    /// <summary>The progress line of a finished slide: tissue, % positive and H-score, then each measure's headline.</summary>
    public static string Headline(Quantifier quantifier, SlideResult r)
    {
        var parts = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"tissue {r["tissue_area_mm2"]:0.###} mm², positive {r["positive_area_pct"]:0.##}%, H-score {r["h_score"]:0.#}"),
        };
        foreach (var measure in quantifier.Measures)
            if (measure.Headline is { } column && Measures.MeasureRegistry.Column(column) is { } c)
                parts.Add($"{column} {(r[column] is not { } v ? "-" : c.Kind == Measures.ColumnKind.Number ? v.ToString("0.#", CultureInfo.InvariantCulture) : c.ToCsv(v))}");
        return string.Join(", ", parts);
    }

    /// <summary>
    /// `jobs`, lowered so that the slides in flight fit in <paramref name="availableBytes"/>; says so on
    /// <paramref name="log"/> when it lowers it.
    /// </summary>
    public static int JobsWithinMemory(int requested, IEnumerable<Quantifier> quantifiers, long availableBytes, TextWriter? log = null)
    {
        if (requested <= 1)
            return 1;
        long perJob = quantifiers.Any(q => q.DetectsObjects) ? ObjectBytesPerSlide : PixelBytesPerSlide;
        int fit = (int)Math.Clamp(availableBytes / perJob, 1, requested);
        if (fit < requested)
            log?.WriteLine($"histoquant: --jobs {requested} lowered to {fit} to stay within {availableBytes >> 20} MB of memory");
        return fit;
    }

    /// <summary>Threads for each of `jobs` slides at once, out of <paramref name="threads"/> (0 = all cores).</summary>
    public static int ThreadsPerJob(int threads, int jobs) =>
        jobs <= 1 ? Math.Max(0, threads) : Math.Max(1, (threads > 0 ? threads : Environment.ProcessorCount) / jobs);
}
