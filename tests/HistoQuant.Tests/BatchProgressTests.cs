using HistoQuant.Cli;
using HistoQuant.Pipeline;

namespace HistoQuant.Tests;

/// <summary>Slides in parallel (--jobs) and the progress display.</summary>
public class BatchProgressTests
{
    [Fact]
    public void ParallelJobsGiveTheSameTableInTheSameOrder()
    {
        using var tmp = new TempDir();
        string folder = Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic");
        var one = QuantifyRun.Rows(tmp, folder, "--jobs", "1");
        var two = QuantifyRun.Rows(tmp, folder, "--jobs", "3");
        Assert.Equal(4, one.Count);
        static string Numbers(Dictionary<string, string> row) => string.Join(",", row.Where(c => c.Key is not ("seconds" or "device")).Select(c => $"{c.Key}={c.Value}"));
        Assert.Equal(one.Select(r => Numbers(r)), two.Select(r => Numbers(r)));
    }

    [Fact]
    public void JobsMustBePositive()
    {
        using var tmp = new TempDir();
        Assert.Equal(2, HistoQuantCli.Main(["quantify", TestData.Wsi("boxes.tiff"), "--jobs", "0", "--out", tmp.Path]));
    }

    [Fact]
    public void WithoutATerminalOnlyFinishedSlidesAreWritten()
    {
        var output = new StringWriter();
        using (var display = new ProgressDisplay(2, output, live: false))
        {
            var a = display.Start("a.tif");
            a!.Begin("pixels", 10);
            display.Finish(a, "a.tif: ok", failed: false);
            display.Finish(display.Start("b.tif"), "error: b.tif: corrupt", failed: true);
        }
        Assert.Equal("[1/2] a.tif: ok\n[2/2] error: b.tif: corrupt\n", output.ToString().Replace("\r\n", "\n"));
    }

    [Fact]
    public void OnATerminalAStatusLineShowsRunningSlidesAndTheirStage()
    {
        var output = new StringWriter();
        using (var display = new ProgressDisplay(3, output, live: true))
        {
            var a = display.Start("a.tif");
            var b = display.Start("b.tif");
            b!.Begin("pixels", 4);
            b.Step();
            display.Finish(a, "a.tif: ok", failed: true);
            Assert.Contains("\r1/3 done, 1 failed | b.tif pixels 25%", output.ToString());
        }
        Assert.EndsWith("\r", output.ToString()); // the status line is cleared at the end
    }

    [Fact]
    public void SlideProgressCountsTheCurrentStage()
    {
        var p = new SlideProgress();
        Assert.Null(p.Fraction);
        p.Begin("cells", 8);
        p.Step();
        p.Step();
        Assert.Equal(("cells", 0.25), (p.Stage, p.Fraction!.Value));
        p.Begin("fibres");
        Assert.Null(p.Fraction);
    }
}
