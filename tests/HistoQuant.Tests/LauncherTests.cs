using System.Diagnostics;

namespace HistoQuant.Tests;

/// <summary>The launcher's build check, run against a fake `dotnet` that logs what it is asked to do.</summary>
public class LauncherTests
{
    [Fact]
    public void AfterALibrarySourceChangesTheLauncherBuildsOnceNotOnEveryRun()
    {
        using var tmp = new TempDir();
        string root = tmp.File("repo");
        File.Copy(TestData.RepoFile("histoquant"), Path.Combine(root + "-launcher"), overwrite: true);
        Directory.CreateDirectory(Path.Combine(root, "src", "HistoQuant.Cli", "bin", "Release", "net10.0"));
        Directory.CreateDirectory(Path.Combine(root, "src", "HistoQuant", "Measures"));
        Directory.CreateDirectory(Path.Combine(root, "models"));
        File.Move(root + "-launcher", Path.Combine(root, "histoquant"));
        string dll = Path.Combine(root, "src", "HistoQuant.Cli", "bin", "Release", "net10.0", "HistoQuant.Cli.dll");
        File.WriteAllText(dll, "");
        string source = Path.Combine(root, "src", "HistoQuant", "Measures", "Library.cs");
        File.WriteAllText(source, "// a library source");
        // The library changed after the CLI's dll was written (a build that only touches the library's dll).
        File.SetLastWriteTimeUtc(dll, DateTime.UtcNow.AddMinutes(-10));
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow.AddMinutes(-5));

        string bin = tmp.File("bin"), log = tmp.File("dotnet.log");
        Directory.CreateDirectory(bin);
        string fake = Path.Combine(bin, "dotnet");
        File.WriteAllText(fake, $"#!/usr/bin/env bash\necho \"$1\" >> '{log}'\nexit 0\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        for (int run = 0; run < 3; run++)
        {
            var info = new ProcessStartInfo("bash", [Path.Combine(root, "histoquant"), "--version"]) { RedirectStandardError = true, RedirectStandardOutput = true };
            info.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
            using var p = Process.Start(info)!;
            p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }
        var calls = File.ReadAllLines(log);
        Assert.Equal(1, calls.Count(c => c == "build"));
        Assert.Equal(3, calls.Count(c => c.EndsWith("HistoQuant.Cli.dll", StringComparison.Ordinal)));
    }
}
