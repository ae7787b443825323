using HistoQuant.Common;
using System.Buffers.Binary;
using System.Diagnostics;
using HistoQuant.Cli;
using HistoQuant.Output;
using HistoQuant.Slides;

namespace HistoQuant.Tests;

/// <summary>Inputs and outputs that used to hang, lose rows, leak runtime messages or write wrong "ok" rows.</summary>
[Collection(MeasuresAllocations.Name)] // reads the process-wide Console.Error: other tests must not write to it meanwhile
public class ReliabilityTests
{
    private static (int Code, string Stderr) Run(params string[] args)
    {
        var err = new StringWriter();
        var saved = Console.Error;
        Console.SetError(err);
        try
        {
            return (HistoQuantCli.Main(args), err.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }

    private static string Synthetic => Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic", "P01-post-CD163.tif");

    [Fact]
    public async Task APipeNamedLikeASlideOrAModelIsRefusedWithoutWaitingForAWriter()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp.File("in"));
        foreach (var name in new[] { "in/pipe.svs", "pipe.json" })
            Process.Start("mkfifo", tmp.File(name))!.WaitForExit();
        File.Copy(Synthetic, tmp.File("in/real.tif"));
        var run = await Task.Run(() => Run("quantify", tmp.File("in"), "--out", tmp.File("out"))).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, run.Code);
        var rows = QuantifyRun.ReadCsv(tmp.File("out/results.csv"));
        Assert.Equal(["error", "ok"], rows.Select(r => r["status"]));
        Assert.Contains("not a regular file", rows[0]["error"]);

        var model = await Task.Run(() => Run("quantify", Synthetic, "--marker", tmp.File("pipe.json"), "--out", tmp.File("out2"))).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, model.Code);
        Assert.Contains("pipe.json: file is empty (or not a regular file", model.Stderr);
    }

    [Fact]
    public void AnOutputFolderThatCannotBeWrittenIsOneLineAndNothingIsMeasured()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("a-file"), "x");
        var (code, stderr) = Run("quantify", Synthetic, "--out", tmp.File("a-file/out"));
        Assert.Equal(1, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("cannot create the results folder", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void ASecondRunOnTheSameFolderIsRefusedWhileTheFirstHoldsIt()
    {
        using var tmp = new TempDir();
        string outDir = tmp.File("out");
        using (new ResultsWriter(outDir))
        {
            var (code, stderr) = Run("quantify", Synthetic, "--out", outDir);
            Assert.Equal(1, code);
            Assert.Contains("in use by another histoquant run", stderr);
        }
        // Released (also when a process dies: the lock is the kernel's): the next run goes ahead.
        Assert.Equal(0, Run("quantify", Synthetic, "--out", outDir).Code);
        Assert.False(File.Exists(Path.Combine(outDir, ".histoquant.lock")));
    }

    [Fact]
    public void TextCellsThatASpreadsheetWouldRunAreNeutralisedNumbersStay()
    {
        Assert.Equal("'=HYPERLINK(\"x\")", CsvBuilder.Text("=HYPERLINK(\"x\")"));
        Assert.Equal("'+1+2", CsvBuilder.Text("+1+2"));
        Assert.Equal("'@SUM(A1)", CsvBuilder.Text("@SUM(A1)"));
        Assert.Equal("-5", CsvBuilder.Text("-5"));
        Assert.Equal("+0.5", CsvBuilder.Text("+0.5"));
        Assert.Equal("P01", CsvBuilder.Text("P01"));
    }

    [Fact]
    public void ManifestColumnsNamedLikeResultsAreRefused()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("m.csv"), $"slide,h_score\n{Synthetic},3\n");
        var (code, stderr) = Run("quantify", "--manifest", tmp.File("m.csv"), "--out", tmp.File("out"));
        Assert.Equal(2, code);
        Assert.Contains("m.csv:1: column 'h_score' is also a results column", stderr);
    }

    [Theory]
    [InlineData("--mpp", "1e300", "--mpp must be a microscope's pixel size")]
    [InlineData("--mpp", "1e-9", "--mpp must be a microscope's pixel size")]
    [InlineData("--background", "1e-300", "--background must be")]
    [InlineData("--background", "300", "--background must be")]
    public void ValuesThatWouldGiveNonFiniteNumbersAreRefused(string option, string value, string expected)
    {
        using var tmp = new TempDir();
        var (code, stderr) = Run("quantify", Synthetic, option, value, "--out", tmp.File("out"));
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
    }

    [Fact]
    public void NearlyDependentStainVectorsAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new HistoQuant.Stains.StainSet("near",
            new HistoQuant.Stains.StainVector("A", 0.65, 0.70, 0.29), new HistoQuant.Stains.StainVector("B", 0.651, 0.70, 0.29)));
        Assert.Contains("nearly linearly dependent", e.Message);
        _ = HistoQuant.Stains.StainPresets.HDab; // the shipped presets are well conditioned
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(65535u)]
    public void AbsurdSamplesPerPixelIsExplainedNotARuntimeMessage(uint samples)
    {
        using var tmp = new TempDir();
        var b = File.ReadAllBytes(TestData.Wsi("boxes.tiff"));
        uint ifd = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4));
        int entries = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)ifd));
        for (int e = 0; e < entries; e++)
        {
            int at = (int)ifd + 2 + e * 12;
            if (BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at)) == 277)
                BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 8), (ushort)samples);
        }
        File.WriteAllBytes(tmp.File("spp.tiff"), b);
        var ex = Assert.Throws<SlideException>(() => SlideOpener.Open(tmp.File("spp.tiff")).Dispose());
        Assert.Contains($"{samples} samples per pixel", ex.Message);
    }
}

/// <summary>results.csv is read back by compare and validate with the same CSV library that wrote it.</summary>
public class CsvRoundTripTests
{
    [Fact]
    public void ASlideNameWithALineBreakAndQuotesSurvivesResultsCsv()
    {
        using var tmp = new TempDir();
        string name = tmp.File("P01 \"pre\",\nCD163.tif");
        File.Copy(Path.Combine(TestData.RepoRoot, "sample-slides", "synthetic", "P01-pre-CD163.tif"), name);
        var rows = QuantifyRun.Rows(tmp, name, "--marker", "cd163");
        var row = Assert.Single(rows);
        Assert.Equal("ok", row["status"]);
        Assert.Equal(name, row["slide"]);
    }
}
