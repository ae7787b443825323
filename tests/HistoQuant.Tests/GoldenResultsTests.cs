using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using HistoQuant.Cli;

namespace HistoQuant.Tests;

/// <summary>
/// The full output of `quantify --detections` (results.csv, results.json, and a hash of every detections.geojson
/// and overlay.png) for every shipped model on the real sample slides and two generated ones, compared bit for bit
/// with tests/golden/. Refactoring must not change a single number; a deliberate change of results is made by
/// running the suite once with HISTOQUANT_UPDATE_GOLDEN=1 and committing the new files with the reason.
/// </summary>
public sealed class GoldenResultsTests
{
    private static readonly string[] Slides =
    [
        "sample-slides/OS-2-ndpi.ome.tif",
        "sample-slides/cmu-1-small-region.svs",
        "sample-slides/synthetic/P01-pre-CD163.tif",
        "sample-slides/synthetic/P01-pre-MHC1.tif",
    ];

    public static TheoryData<string> Models() =>
        new(Directory.GetFiles(Path.Combine(TestData.RepoRoot, "models"), "*.json").Select(Path.GetFileNameWithoutExtension).Order()!);

    [Theory]
    [MemberData(nameof(Models))]
    public void Every_model_on_the_sample_slides_gives_the_recorded_results(string model)
    {
        using var tmp = new TempDir();
        string outDir = tmp.File("out");
        var inputs = Slides.Select(s => Path.Combine(TestData.RepoRoot, s)).ToArray();
        Assert.Equal(0, HistoQuantCli.Main(["quantify", .. inputs, "--marker", model, "--detections", "--out", outDir]));

        var actual = new Dictionary<string, string>
        {
            [$"{model}.csv"] = Normalise(File.ReadAllText(Path.Combine(outDir, "results.csv")), csv: true),
            [$"{model}.json"] = Normalise(File.ReadAllText(Path.Combine(outDir, "results.json")), csv: false),
            [$"{model}.detections.txt"] = DetectionHashes(outDir),
        };

        string golden = Path.Combine(TestData.RepoRoot, "tests", "golden");
        if (Environment.GetEnvironmentVariable("HISTOQUANT_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(golden);
            foreach (var (name, text) in actual)
                File.WriteAllText(Path.Combine(golden, name), text);
            return;
        }
        foreach (var (name, text) in actual)
        {
            string path = Path.Combine(golden, name);
            Assert.True(File.Exists(path), $"{path} is missing: run the tests once with HISTOQUANT_UPDATE_GOLDEN=1");
            AssertSameLines(File.ReadAllText(path), text, name);
        }
    }

    /// <summary>Paths relative to the repository; wall time and engine name (machine-dependent) blanked.</summary>
    private static string Normalise(string text, bool csv)
    {
        text = text.Replace(TestData.RepoRoot + "/", "");
        if (!csv)
        {
            text = Regex.Replace(text, "\"seconds\": [^,\\n]+", "\"seconds\": 0");
            // Provenance that changes with every build and run; file size, hash and model stay pinned.
            text = Regex.Replace(text, "\"(tool_version|started|command_line)\": \"[^\"]*\"", "\"$1\": \"\"");
            return Regex.Replace(text, "\"device\": \"[^\"]*\"", "\"device\": \"\"");
        }
        var lines = text.Split('\n');
        var header = QuantifyRun.ParseCsvLine(lines[0]).ToList();
        int seconds = header.IndexOf("seconds"), device = header.IndexOf("device");
        var table = new HistoQuant.Common.CsvBuilder(header);
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var cells = QuantifyRun.ParseCsvLine(line);
            cells[seconds] = "";
            cells[device] = "";
            table.Row(cells);
        }
        return table.ToString();
    }

    private static string DetectionHashes(string outDir)
    {
        var sb = new StringBuilder();
        foreach (var file in Directory.GetFiles(outDir, "*", SearchOption.AllDirectories)
                     .Where(f => Path.GetFileName(f) is "detections.geojson" or "overlay.png")
                     .Select(f => Path.GetRelativePath(outDir, f).Replace('\\', '/')).Order(StringComparer.Ordinal))
            // The folder's hash is of the slide's absolute path, which depends on where the checkout lies.
            sb.Append(Regex.Replace(file, "-[0-9a-f]{6}/", "-HASH/")).Append(' ').Append(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(outDir, file)))).ToLowerInvariant()).Append('\n');
        return sb.ToString();
    }

    private static void AssertSameLines(string expected, string actual, string name)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            string el = i < e.Length ? e[i] : "<end>", al = i < a.Length ? a[i] : "<end>";
            Assert.True(el == al, $"tests/golden/{name} differs at line {i + 1}:\n  recorded: {el}\n  now:      {al}");
        }
    }
}
