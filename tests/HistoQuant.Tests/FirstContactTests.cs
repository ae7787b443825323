using HistoQuant.Cli;

namespace HistoQuant.Tests;

/// <summary>What a new user reads first: help texts and the messages of the study verbs.</summary>
[Collection(MeasuresAllocations.Name)] // captures the process-wide Console.Out/Error
public class FirstContactTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (savedOut, savedErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            return (HistoQuantCli.Main(args), o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(savedOut);
            Console.SetError(savedErr);
        }
    }

    [Fact]
    public void EveryHelpNamesTheLauncherNotTheAssembly()
    {
        var verbs = HistoQuantCli.BuildRoot().Subcommands.Select(c => c.Name).ToList();
        Assert.Contains("quantify", verbs);
        foreach (var args in verbs.Select(v => new[] { v, "--help" }).Append(["--help"]))
        {
            var (code, output, _) = Run(args);
            Assert.Equal(0, code);
            Assert.Contains($"  histoquant {(args.Length > 1 ? args[0] + " " : "")}", output);
            Assert.DoesNotContain("HistoQuant.Cli", output);
        }
    }

    [Fact]
    public void CompareWithAnUnknownTimepointListsTheOnesFound()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("results.csv"), "slide,marker,status,patient,timepoint,positive_area_pct\na.tif,cd163,ok,P1,pre,1\nb.tif,cd163,ok,P1,post,2\n");
        var (code, _, err) = Run("compare", tmp.File("results.csv"), "--pre", "baseline", "--post", "post", "--out", tmp.File("c"));
        Assert.Equal(Cli.Cli.BadArguments, code);
        Assert.Contains("(timepoints found: post, pre)", err);
    }

    [Fact]
    public void ValidateNamesEachMeasureOnceAndCountsInWords()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("manual.csv"), "slide,score\na.tif,1\n");
        File.WriteAllText(tmp.File("results.csv"), "slide,marker,status,mhc1_grade\na.tif,mhc1,ok,2\n");
        var (code, _, err) = Run("validate", tmp.File("results.csv"), "--manual", tmp.File("manual.csv"), "--out", tmp.File("v"));
        Assert.Equal(Cli.Cli.BadArguments, code);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(err, "mhc1_grade"));

        File.WriteAllText(tmp.File("manual.csv"), "slide,mhc1_grade\na.tif,2\nb.tif,3\nc.tif,1\n");
        File.WriteAllText(tmp.File("results.csv"), "slide,marker,status,mhc1_grade\na.tif,mhc1,ok,2\nb.tif,mhc1,ok,3\nc.tif,mhc1,ok,1\n");
        (code, _, err) = Run("validate", tmp.File("results.csv"), "--manual", tmp.File("manual.csv"), "--out", tmp.File("v"));
        Assert.Equal(0, code);
        Assert.Contains("1 comparison over 3 slides;", err);
    }
}
