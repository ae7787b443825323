using HistoQuant.Output;
using HistoQuant.Slides;

namespace HistoQuant.Tests;

/// <summary>Where the shared test data and the repository live, and small helpers to read whole levels.</summary>
public static class TestData
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared/data beside the repository (as CI lays it out), or $HISTOQUANT_SHARED_DATA.</summary>
    public static string SharedData { get; } =
        Environment.GetEnvironmentVariable("HISTOQUANT_SHARED_DATA") is { Length: > 0 } d ? d
        : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));

    public static string Wsi(string name) => Existing(Path.Combine(SharedData, "wsi", name));
    public static string Reference(string name) => Existing(Path.Combine(SharedData, "wsi", "reference", name));
    public static string Ihc(string name) => Existing(Path.Combine(SharedData, "ihc", name));
    public static string Fixture(string name) => Existing(Path.Combine(RepoRoot, "tests", "fixtures", name));
    public static string RepoFile(string relative) => Existing(Path.Combine(RepoRoot, relative));

    /// <summary>A shipped model (models/ID.json) as JSON, renamed to <paramref name="newId"/>, to edit and write as a model file.</summary>
    public static System.Text.Json.Nodes.JsonNode ModelCopy(string id, string newId)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(RepoFile(Path.Combine("models", id + ".json"))))!;
        json["id"] = newId;
        return json;
    }

    private static string Existing(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"test data missing: {path} (is ../shared beside the repository?)");

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "HistoQuant.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("HistoQuant.sln not found above the test binaries");
    }

    /// <summary>Assembles a whole level from its tiles (test images are small).</summary>
    public static RgbImage ReadLevel(ISlide slide, int level)
    {
        var l = slide.Levels[level];
        var pixels = new byte[l.Width * l.Height * 3];
        var tile = new byte[l.TileBufferBytes() + 64];
        for (int r = 0; r < l.TilesDown; r++)
            for (int c = 0; c < l.TilesAcross; c++)
            {
                var b = l.TileBounds(c, r);
                slide.ReadTile(level, c, r, tile);
                for (int y = 0; y < b.Height; y++)
                    tile.AsSpan(y * l.TileWidth * 3, b.Width * 3).CopyTo(pixels.AsSpan(((b.Y + y) * l.Width + b.X) * 3));
            }
        return new RgbImage(l.Width, l.Height, pixels);
    }

    public static RgbImage ReadPng(string path) => PngFile.Read(path);

    /// <summary>Mean absolute difference per channel (R, G, B).</summary>
    public static double[] MeanAbsDiff(RgbImage a, RgbImage b)
    {
        Assert.Equal((b.Width, b.Height), (a.Width, a.Height));
        var sum = new double[3];
        for (int i = 0; i < a.Pixels.Length; i++)
            sum[i % 3] += Math.Abs(a.Pixels[i] - b.Pixels[i]);
        int n = a.Width * a.Height;
        return sum.Select(s => s / n).ToArray();
    }

    public static double[] MeanRgb(RgbImage a)
    {
        var sum = new double[3];
        for (int i = 0; i < a.Pixels.Length; i++)
            sum[i % 3] += a.Pixels[i];
        return sum.Select(s => s / (a.Width * a.Height)).ToArray();
    }
}

/// <summary>A scratch folder deleted after the test.</summary>
public static class DetectionOutput
{
    /// <summary>The detection folder of the one slide named <paramref name="stem"/> in a results folder (DIR/stem.marker-hash/).</summary>
    public static string Folder(string outDir, string stem) =>
        Assert.Single(Directory.GetDirectories(outDir, stem + ".*-*"));
}

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("histoquant-test-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
