using HistoQuant.Kernels;
using HistoQuant.Models;
using HistoQuant.Output;
using HistoQuant.Pipeline;

namespace HistoQuant.Tests;

/// <summary>The batch runner without the command line: resume, order, detection files, memory budget, bad slides.</summary>
public class BatchRunnerTests
{
    private static string Synthetic(string name) => Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic", name);

    private static Dictionary<string, Quantifier> Quantifiers(IPixelEngine engine, bool detections = false) => new(StringComparer.OrdinalIgnoreCase)
    {
        ["dab-generic"] = new Quantifier(new QuantifyOptions { Marker = MarkerCatalog.Resolve("dab-generic"), Detections = detections }, engine),
    };

    [Fact]
    public void KeepsFinishedRowsListsTheGivenOrderAndGoesOnPastABadSlide()
    {
        using var tmp = new TempDir();
        using var engine = new CpuPixelEngine();
        string missing = tmp.File("missing.svs");
        BatchJob[] jobs = [new(Synthetic("P01-pre-CD163.tif"), "dab-generic"), new(missing, "dab-generic"), new(Synthetic("P01-post-CD163.tif"), "dab-generic")];
        var runner = new BatchRunner(Quantifiers(engine), tmp.File("out"), jobs: 2);
        Assert.Equal(1, runner.Run(jobs));
        var first = runner.Writer!.Results;
        Assert.Equal(jobs.Select(j => j.Slide), first.Select(r => r.Slide));
        Assert.Equal(SlideResult.Failed, first[1].Status);
        Assert.Contains("missing.svs", first[1].Error);

        // Again in the other order: finished rows are kept (same timings), the failed one is retried, order follows the jobs.
        var again = new BatchRunner(Quantifiers(engine), tmp.File("out"));
        Assert.Equal(1, again.Run(jobs.Reverse().ToArray()));
        Assert.Equal(jobs.Reverse().Select(j => j.Slide), again.Writer!.Results.Select(r => r.Slide));
        Assert.Equal(first[0].Seconds, again.Writer.Results.Single(r => r.Slide == jobs[0].Slide).Seconds);

        // Forced: measured again, same numbers.
        var forced = new BatchRunner(Quantifiers(engine), tmp.File("out"), force: true);
        forced.Run(jobs[..1]);
        var redone = forced.Writer!.Results.Single(r => r.Slide == jobs[0].Slide);
        Assert.Equal(first[0]["positive_area_pct"], redone["positive_area_pct"]);
    }

    [Fact]
    public void DetectionFilesAreWrittenBesideTheResultsWhenAskedFor()
    {
        using var tmp = new TempDir();
        using var engine = new CpuPixelEngine();
        var runner = new BatchRunner(Quantifiers(engine, detections: true), tmp.File("out"), detections: true);
        Assert.Equal(0, runner.Run([new BatchJob(Synthetic("P01-post-CD163.tif"), "dab-generic")]));
        Assert.True(File.Exists(Path.Combine(runner.DetectionFolder(Synthetic("P01-post-CD163.tif"), "dab-generic"), "overlay.png")));
        var plain = new BatchRunner(Quantifiers(engine), tmp.File("plain"));
        plain.Run([new BatchJob(Synthetic("P01-post-CD163.tif"), "dab-generic")]);
        Assert.False(Directory.Exists(plain.DetectionFolder(Synthetic("P01-post-CD163.tif"), "dab-generic")));
    }

    [Fact]
    public void JobsAreLoweredToWhatMemoryHolds()
    {
        using var engine = new CpuPixelEngine();
        var pixels = Quantifiers(engine).Values;
        var cells = new[] { new Quantifier(new QuantifyOptions { Marker = MarkerCatalog.Resolve("cd163") }, engine) };
        Assert.Equal(1, BatchRunner.JobsWithinMemory(1, pixels, 1L << 40));
        Assert.Equal(4, BatchRunner.JobsWithinMemory(4, pixels, 4 * BatchRunner.PixelBytesPerSlide));
        Assert.Equal(3, BatchRunner.JobsWithinMemory(4, cells, 3 * BatchRunner.ObjectBytesPerSlide + 1));
        var log = new StringWriter();
        Assert.Equal(1, BatchRunner.JobsWithinMemory(8, cells, 100L << 20, log));
        Assert.Contains("--jobs 8 lowered to 1", log.ToString());
        Assert.Equal((4, 0, 1), (BatchRunner.ThreadsPerJob(8, 2), BatchRunner.ThreadsPerJob(0, 1), BatchRunner.ThreadsPerJob(1, 4)));
    }

    [Fact]
    public void TheProgressLineNamesTheMarkersHeadline()
    {
        using var engine = new CpuPixelEngine();
        var q = new Quantifier(new QuantifyOptions { Marker = MarkerCatalog.Resolve("cd163") }, engine);
        var r = new SlideResult
        {
            Slide = "s", Marker = "cd163", Status = SlideResult.Ok,
            Values = new Dictionary<string, double?> { ["tissue_area_mm2"] = 1, ["positive_area_pct"] = 2, ["h_score"] = 3, ["positive_cells_per_mm2"] = 45.5 },
        };
        Assert.Equal("tissue 1 mm², positive 2%, H-score 3, positive_cells_per_mm2 45.5", BatchRunner.Headline(q, r));
    }
}
