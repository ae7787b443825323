using System.Text.RegularExpressions;
using HistoQuant.Kernels;
using HistoQuant.Measures;
using HistoQuant.Models;
using HistoQuant.Output;
using HistoQuant.Pipeline;
using HistoQuant.Slides;
using HistoQuant.Study;

namespace HistoQuant.Tests;

/// <summary>The registries and the one-way layering the README's architecture section describes.</summary>
public class ArchitectureTests
{
    // A folder may use only the folders before it: slide → tiles → kernels → measures → results → study.
    private static readonly string[] Layers = ["Common", "Slides", "Stains", "Kernels", "Measures", "Models", "Pipeline", "Output", "Study", "Synth"];

    [Fact]
    public void LayersPointOneWay()
    {
        var root = Path.Combine(TestData.RepoRoot, "src", "HistoQuant");
        var reference = new Regex(@"(?<![\w.])(?:HistoQuant\.)?(" + string.Join("|", Layers) + @")\.[A-Z]");
        var problems = new List<string>();
        foreach (var file in Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
        {
            string folder = Path.GetRelativePath(root, file).Split('/')[0];
            int layer = Array.IndexOf(Layers, folder);
            if (layer < 0)
                continue;
            foreach (var (line, n) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
            {
                string code = line.Split("//")[0];
                if (code.TrimStart().StartsWith("namespace") || code.TrimStart().StartsWith("///"))
                    continue;
                foreach (Match m in reference.Matches(code))
                {
                    int used = Array.IndexOf(Layers, m.Groups[1].Value);
                    if (used > layer)
                        problems.Add($"{Path.GetRelativePath(TestData.RepoRoot, file)}:{n}: {folder} uses {m.Groups[1].Value}");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void TheLayeringCheckSeesAUsingDirective()
    {
        // Guards the check above against a regex that matches nothing.
        var reference = new Regex(@"(?<![\w.])(?:HistoQuant\.)?(Pipeline)\.[A-Z]");
        Assert.Matches(reference, "using HistoQuant.Pipeline.Something;");
        Assert.DoesNotMatch(reference, "var x = options.Pipeline.Y;");
    }

    [Fact]
    public void ResultColumnsAreTheSlideFactsThenEveryRegisteredMeasureColumnOnce()
    {
        var names = MeasureRegistry.Columns.Select(c => c.Name).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal(["slide", "marker", "regions", "region", "status", "error", "stain_check", "warnings", "width_px", "height_px", "mpp", .. names, "device", "seconds"], ResultsWriter.Columns);
        // Study tools and presence calls read numbers.
        Assert.All(MeasureRegistry.Columns.Where(c => c.Study || c.PresenceBasis), c => Assert.NotEqual(ColumnKind.YesNo, c.Kind));
        Assert.Contains("positive_cells_per_mm2", StudyMeasures.Numeric);
        Assert.Contains("present", StudyMeasures.Ordinal);
        Assert.DoesNotContain("tissue_area_mm2", StudyMeasures.Numeric);
    }

    [Fact]
    public void EveryMeasureSectionIsAModelKeyWithDefaultsTheModelStartsFrom()
    {
        var model = MarkerCatalog.Parse("""{ "id": "x", "stains": "H-DAB" }""", "x.json");
        foreach (var m in MeasureRegistry.All.Where(m => m.SectionName is not null))
        {
            Assert.True(model.Settings.ContainsKey(m.SectionName!), m.Name);
            Assert.Equal(m.DefaultSettings, model.Settings[m.SectionName!]);
            // A section the measure does not know is refused by that measure, naming the file and key.
            var e = Assert.Throws<FormatException>(() => MarkerCatalog.Parse($$"""{ "id": "x", "stains": "H-DAB", "{{m.SectionName}}": { "no_such_key": 1 } }""", "x.json"));
            Assert.StartsWith("x.json: ", e.Message);
        }
    }

    [Fact]
    public void ColumnsFormatCountsCallsAndNumbersForTheCsv()
    {
        Assert.Equal("12", new Column("n", ColumnKind.Count).ToCsv(12));
        Assert.Equal("yes", new Column("p", ColumnKind.YesNo).ToCsv(1));
        Assert.Equal("no", new Column("p", ColumnKind.YesNo).ToCsv(0));
        Assert.Equal("", new Column("p", ColumnKind.YesNo).ToCsv(null));
        Assert.Equal("0.123", new Column("x", ColumnKind.Number, "0.###").ToCsv(0.12345));
        Assert.Equal(1, new Column("p", ColumnKind.YesNo).Parse("YES"));
        Assert.Null(new Column("x", ColumnKind.Number).Parse(""));
    }

    [Fact]
    public void ResultsJsonReadsBackWhatItWrote()
    {
        var row = new SlideResult
        {
            Slide = "a,b.svs", Marker = "il1ra", Status = SlideResult.Ok, WidthPx = 10, HeightPx = 20, Mpp = 0.25,
            Values = new Dictionary<string, double?> { ["positive_area_pct"] = 1.5, ["total_cells"] = 7, ["present"] = 1, ["h_score"] = double.NaN },
            Manifest = new Dictionary<string, string> { ["patient"] = "P1" }, Parameters = "abc", Seconds = 1.25,
        };
        var error = new SlideResult { Slide = "x.svs", Marker = "cd163", Status = SlideResult.Failed, Error = "x.svs: file not found" };
        string text = ResultsJson.Write([row, error]);
        Assert.Contains("\"total_cells\": 7,", text);
        Assert.Contains("\"present\": \"yes\"", text);
        var back = ResultsJson.Read(text);
        Assert.Equal(text, ResultsJson.Write(back));
        Assert.Equal(1.5, back[0]["positive_area_pct"]);
        Assert.True(double.IsNaN(back[0]["h_score"]!.Value));
        Assert.Null(back[1]["total_cells"]);
        Assert.Throws<System.Text.Json.JsonException>(() => ResultsJson.Read("""[{ "marker": "x", "status": "ok" }]"""));
    }

    [Theory]
    [InlineData("cmu-1-small-region.svs", "aperio-svs")]
    [InlineData("tcga-cr-7395-01a-01-ts1.svs", "aperio-svs")]
    [InlineData("OS-2-vsi.ome.tif", "ome-tiff")]
    [InlineData("boxes.tiff", "generic-tiff")]
    [InlineData("boxes.png", "image")]
    [InlineData("small_dicom.dcm", "dicom-wsi")]
    public void EachFileIsOpenedByTheFormatThatRecognisesIt(string file, string format)
    {
        using var slide = SlideOpener.Open(TestData.Wsi(file), out var reader);
        Assert.Equal(format, reader.Name);
        Assert.Equal(format, slide.Format);
        Assert.Contains(reader, SlideFormats.All);
        Assert.Contains($"reader:        {reader.Reader}", HistoQuant.Cli.InfoCommand.Describe(slide, reader));
    }

    [Fact]
    public void NoFormatRecognisingAFileIsAnUnknownFormat()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("notes.svs"), "not a slide at all");
        var e = Assert.Throws<SlideException>(() => SlideOpener.Open(tmp.File("notes.svs")).Dispose());
        Assert.Contains("notes.svs", e.Message);
        Assert.Contains("unknown format", e.Message);
        File.WriteAllText(tmp.File("scan.mrxs"), "index");
        Assert.Contains("OpenSlide does not recognise it as a MIRAX slide", Assert.Throws<SlideException>(() => SlideOpener.Open(tmp.File("scan.mrxs")).Dispose()).Message);
        File.WriteAllText(tmp.File("scan.czi"), "ZISRAWFILE");
        Assert.Contains("convert to OME-TIFF first (bfconvert", Assert.Throws<SlideException>(() => SlideOpener.Open(tmp.File("scan.czi")).Dispose()).Message);
    }

    [Fact]
    public void FolderScanningTakesTheFormatsExtensions()
    {
        foreach (var f in SlideFormats.All)
            Assert.All(f.Extensions, e => Assert.True(SlideFormats.HasSlideExtension("x" + e.ToUpperInvariant()), e));
        Assert.False(SlideFormats.HasSlideExtension("notes.txt"));
        Assert.False(SlideFormats.HasSlideExtension("results.json"));
    }
}
