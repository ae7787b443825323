using System.Diagnostics;
using System.Text.RegularExpressions;
using OpenCvSharp;

namespace HistoQuant.Tests;

/// <summary>
/// Headless Debian Chromium (the launcher installs it for `test`): loads a page from disk, lets it run for a
/// virtual time budget, and returns the DOM as the scripts left it, the console's messages and a screenshot.
/// Every call has its own profile (tests run in parallel) and a hard time limit.
/// </summary>
public static partial class Chromium
{
    public const string Binary = "/usr/bin/chromium";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    public sealed record Page(string Dom, IReadOnlyList<string> Console, string Screenshot);

    public static Page Render(string htmlFile, string screenshot, int width = 1200, int height = 800, string fragment = "", int budgetMs = 8000)
    {
        Assert.True(File.Exists(Binary), $"{Binary} is missing: the browser tests need Debian's chromium (./histoquant test installs it; or apt-get install chromium)");
        string profile = Directory.CreateTempSubdirectory("histoquant-chromium-").FullName;
        try
        {
            var start = new ProcessStartInfo(Binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[]
            {
                "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run", "--disable-extensions", "--mute-audio",
                "--enable-logging=stderr", "--v=0", $"--user-data-dir={profile}", $"--virtual-time-budget={budgetMs}",
                $"--window-size={width},{height}", $"--screenshot={screenshot}", "--dump-dom", new Uri(Path.GetFullPath(htmlFile)).AbsoluteUri + fragment,
            })
                start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Limit))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"chromium did not finish {htmlFile} within {Limit.TotalSeconds} s");
            }
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode} on {htmlFile}: {stderr.Result[^Math.Min(2000, stderr.Result.Length)..]}");
            var console = stderr.Result.Split('\n').Where(l => l.Contains(":CONSOLE")).Select(l => l[(l.IndexOf(']') + 1)..].Trim()).ToList();
            Assert.True(File.Exists(screenshot), $"chromium wrote no screenshot of {htmlFile}");
            return new Page(stdout.Result, console, screenshot);
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Console messages that are errors: uncaught exceptions, failed loads, console.error's usual words.</summary>
    public static IEnumerable<string> Errors(Page page) => page.Console.Where(m => ErrorWords().IsMatch(m));

    /// <summary>Spread of the screenshot's grey levels and the share of pixels that are neither white nor black: a blank or failed page has neither.</summary>
    public static (double StdDev, double Inked) Variance(string png)
    {
        using var image = Cv2.ImRead(png, ImreadModes.Grayscale);
        Assert.False(image.Empty(), $"{png} is not an image");
        Cv2.MeanStdDev(image, out _, out var std);
        using var mid = new Mat();
        Cv2.InRange(image, new Scalar(16), new Scalar(239), mid);
        return (std.Val0, Cv2.CountNonZero(mid) / (double)(image.Rows * image.Cols));
    }

    /// <summary>Local files the page refers to (img src, a href), relative to it; web links and anchors left out.</summary>
    public static IEnumerable<string> LocalReferences(string dom) =>
        Reference().Matches(dom).Select(m => System.Net.WebUtility.HtmlDecode(m.Groups[2].Value))
            .Where(u => !u.Contains(':') && !u.StartsWith('#')).Select(u => Uri.UnescapeDataString(u.Split('#')[0]));

    public static Dictionary<string, string> Status(string dom, string id)
    {
        var tag = Regex.Match(dom, $"<[a-z]+ id=\"{id}\"[^>]*>");
        Assert.True(tag.Success, $"no #{id} in the rendered page");
        return Regex.Matches(tag.Value, "data-([a-z-]+)=\"([^\"]*)\"").ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
    }

    [GeneratedRegex("error|uncaught|failed|refused", RegexOptions.IgnoreCase)]
    private static partial Regex ErrorWords();

    [GeneratedRegex("<(?:img|a)\\s[^>]*?(src|href)=\"([^\"]+)\"")]
    private static partial Regex Reference();
}
