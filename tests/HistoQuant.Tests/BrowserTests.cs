using System.Globalization;
using System.Text;
using HistoQuant.Cli;
using HistoQuant.Synth;

namespace HistoQuant.Tests;

/// <summary>
/// The pages a pathologist opens, rendered in headless Chromium from disk as they would open them: the compare and
/// validate report.html, the batch's qc.html and a slide's viewer. Each must load its plots or tiles without a console
/// error and show something (a screenshot that is not blank). With HISTOQUANT_UPDATE_SCREENSHOTS=1 the screenshots
/// are copied to docs/ for the README.
/// </summary>
public sealed class BrowserTests(BrowserTests.Study study) : IClassFixture<BrowserTests.Study>
{
    /// <summary>One small study for all the pages: six patients before and after (CD163 cells, every slide with a viewer), compared and validated, and a muscle section (MHC I fibres and cells) with its viewer.</summary>
    public sealed class Study : IDisposable
    {
        private readonly TempDir _tmp = new();
        public string Results => _tmp.File("results");
        public string Compare => _tmp.File("compare");
        public string Validate => _tmp.File("validate");
        public string Muscle => _tmp.File("muscle");
        public string Shots => _tmp.File("shots");

        public Study()
        {
            Directory.CreateDirectory(Shots);
            var manifest = new StringBuilder("slide,patient,timepoint,group,marker\n");
            var manual = new StringBuilder("slide,marker,manual_positive_cells_per_mm2\n");
            int seed = 700;
            foreach (var (patient, group, pre, post) in new[] { ("P1", "responder", 70, 12), ("P2", "responder", 60, 15), ("P3", "responder", 80, 20),
                         ("P4", "non-responder", 50, 55), ("P5", "non-responder", 65, 60), ("P6", "non-responder", 45, 52) })
                foreach (var (timepoint, count) in new[] { ("pre", pre), ("post", post) })
                {
                    string name = $"{patient}-{timepoint}.tif";
                    var truth = SyntheticSlideWriter.Write(new SynthOptions { Width = 1536, Height = 1152, Seed = seed++, Cells = count, FibresPositive = 0 }, _tmp.File(name));
                    manifest.Append(CultureInfo.InvariantCulture, $"{name},{patient},{timepoint},{group},cd163\n");
                    manual.Append(CultureInfo.InvariantCulture, $"{name},cd163,{truth.PositiveCellsPerMm2 * (0.9 + 0.03 * (seed % 7)):0.###}\n");
                }
            File.WriteAllText(_tmp.File("manifest.csv"), manifest.ToString());
            File.WriteAllText(_tmp.File("manual.csv"), manual.ToString());
            Run(["quantify", "--manifest", _tmp.File("manifest.csv"), "--out", Results, "--viewer"]);
            Run(["compare", Path.Combine(Results, "results.csv"), "--pre", "pre", "--post", "post", "--group-col", "group", "--out", Compare]);
            Run(["validate", Path.Combine(Results, "results.csv"), "--manual", _tmp.File("manual.csv"), "--out", Validate]);
            string section = _tmp.File("section.tif");
            SyntheticSlideWriter.Write(new SynthOptions { Width = 3072, Height = 2304, Seed = 9, Cells = 60, FibresPositive = 0.3, Capillaries = 40 }, section);
            Run(["quantify", section, "--marker", "mhc1", "--cells", "--out", Muscle, "--viewer"]);
        }

        private static void Run(string[] args) => Assert.Equal(0, HistoQuantCli.Main(args));

        public void Dispose() => _tmp.Dispose();
    }

    [Fact]
    public void CompareReportShowsItsPlots() => CheckStaticPage(Path.Combine(study.Compare, "report.html"), "compare-report.png", minImages: 2);

    [Fact]
    public void ValidateReportShowsItsPlots() => CheckStaticPage(Path.Combine(study.Validate, "report.html"), "validate-report.png", minImages: 2);

    [Fact]
    public void QcPageShowsOverlaysAndLinksToViewers()
    {
        string html = Path.Combine(study.Results, "qc.html");
        var dom = CheckStaticPage(html, "qc.png", minImages: 12);
        var viewers = Chromium.LocalReferences(dom).Where(r => r.EndsWith("/viewer.html", StringComparison.Ordinal)).Distinct().ToList();
        Assert.Equal(12, viewers.Count);
        Assert.All(viewers, v => Assert.True(File.Exists(Path.Combine(study.Results, v)), v));
    }

    [Fact]
    public void ViewerLoadsTilesAndDrawsDetections()
    {
        string html = Directory.GetFiles(study.Muscle, "viewer.html", SearchOption.AllDirectories).Single();
        var page = Chromium.Render(html, Path.Combine(study.Shots, "viewer.png"));
        Assert.Empty(Chromium.Errors(page));
        var status = Chromium.Status(page.Dom, "hq-status");
        Assert.Equal("0", status["errors"]);
        Assert.Equal("0", status["tiles-failed"]);
        Assert.True(int.Parse(status["tiles-loaded"], CultureInfo.InvariantCulture) >= 4, $"tiles loaded: {status["tiles-loaded"]}");
        int objects = int.Parse(status["objects"], CultureInfo.InvariantCulture);
        Assert.True(objects > 100, $"objects: {objects}");
        // The whole section is in view at first: every object is drawn.
        Assert.Equal(objects, int.Parse(status["drawn"], CultureInfo.InvariantCulture));
        // The objects were drawn for the view the tiles show (not for a frame of the opening animation).
        Assert.Equal(status["view"], status["drawn-view"]);
        Assert.Contains("Fibres", page.Dom);
        Assert.Contains("Cells", page.Dom);
        var (std, inked) = Chromium.Variance(page.Screenshot);
        Assert.True(std > 20 && inked > 0.3, $"screenshot looks blank: grey-level SD {std:0.0}, {inked:P0} mid-tone pixels");
        Publish(page.Screenshot, "viewer.png");
    }

    [Fact]
    public void ViewerSelectsAnObjectAndShowsItsMeasurements()
    {
        string html = Directory.GetFiles(study.Muscle, "viewer.html", SearchOption.AllDirectories).Single();
        // The address selects object 60 and zooms to it: fewer objects are drawn and its measurements are listed.
        var page = Chromium.Render(html, Path.Combine(study.Shots, "viewer-object.png"), fragment: "#object=60");
        Assert.Empty(Chromium.Errors(page));
        var status = Chromium.Status(page.Dom, "hq-status");
        Assert.Equal("0", status["errors"]);
        Assert.Equal("0", status["tiles-failed"]);
        Assert.Equal(status["view"], status["drawn-view"]);
        Assert.InRange(int.Parse(status["drawn"], CultureInfo.InvariantCulture), 1, int.Parse(status["objects"], CultureInfo.InvariantCulture) - 1);
        var selected = System.Text.RegularExpressions.Regex.Match(page.Dom, "<div id=\"selected\"[^>]*>(.*?)</table>", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.True(selected.Success, "no measurements shown for the selected object");
        Assert.Contains("#60", selected.Groups[1].Value);
        Assert.Contains("Centroid X px", selected.Groups[1].Value);
        Publish(page.Screenshot, "viewer-object.png");
    }

    /// <summary>A page of images and links: no console error, every image and link it refers to is there (images decode), and the screenshot is not blank.</summary>
    private string CheckStaticPage(string html, string shot, int minImages)
    {
        var page = Chromium.Render(html, Path.Combine(study.Shots, shot), width: 1280, height: 1400);
        Assert.Empty(Chromium.Errors(page));
        string folder = Path.GetDirectoryName(html)!;
        var references = Chromium.LocalReferences(page.Dom).Distinct().ToList();
        foreach (var r in references)
            Assert.True(File.Exists(Path.Combine(folder, r)) || Directory.Exists(Path.Combine(folder, r)), $"{html} refers to {r}, which is not there");
        var images = System.Text.RegularExpressions.Regex.Matches(page.Dom, "<img\\s[^>]*?src=\"([^\"]+)\"").Select(m => Uri.UnescapeDataString(System.Net.WebUtility.HtmlDecode(m.Groups[1].Value))).Distinct().ToList();
        Assert.True(images.Count >= minImages, $"{html}: {images.Count} images, expected at least {minImages}");
        foreach (var image in images)
        {
            using var decoded = OpenCvSharp.Cv2.ImRead(Path.Combine(folder, image));
            Assert.False(decoded.Empty(), $"{image} does not decode");
        }
        var (std, inked) = Chromium.Variance(page.Screenshot);
        Assert.True(std > 10 && inked > 0.01, $"{shot} looks blank: grey-level SD {std:0.0}, {inked:P1} mid-tone pixels");
        Publish(page.Screenshot, shot);
        return page.Dom;
    }

    /// <summary>The README's screenshots are these; HISTOQUANT_UPDATE_SCREENSHOTS=1 refreshes docs/.</summary>
    private static void Publish(string screenshot, string name)
    {
        if (Environment.GetEnvironmentVariable("HISTOQUANT_UPDATE_SCREENSHOTS") == "1")
            File.Copy(screenshot, Path.Combine(TestData.RepoRoot, "docs", name), overwrite: true);
    }
}
