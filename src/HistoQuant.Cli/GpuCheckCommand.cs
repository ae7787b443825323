using System.CommandLine;
using System.Text.Json;
using HistoQuant.Pipeline;

namespace HistoQuant.Cli;

/// <summary>`histoquant gpu-check`: GPU against CPU engine parity and throughput, one JSON on stdout (bench/gpu-check.sh).</summary>
public static class GpuCheckCommand
{
    public static Command Create()
    {
        var work = new Option<string>("--work") { Description = "Folder for the generated test slide (kept for the next run).", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "histoquant-gpu-check") };
        var side = new Option<int?>("--slide-side") { Description = "Side of the generated slide in px (default 16384 on a GPU, 768 on the CPU accelerator)." };
        var command = new Command("gpu-check", "GPU engine against the CPU engine: exact counts, sums, kernel Gpx/s and a whole slide end to end; one JSON on stdout.") { work, side };
        command.SetAction(parse =>
        {
            var report = GpuCheck.Run(parse.GetValue(work)!, parse.GetValue(side));
            if (report.NoGpuReason is { } why)
                Console.Error.WriteLine($"histoquant: no GPU used ({why})");
            Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
            return report.Ok ? Cli.Ok : Cli.SomeFailed;
        });
        return command;
    }
}
