namespace HistoQuant.Kernels;

/// <summary>Picks the pixel engine for `--device auto|cpu|gpu`.</summary>
public static class EngineFactory
{
    public static readonly string[] Choices = ["auto", "cpu", "gpu"];

    public static IPixelEngine Create(string device) => device.ToLowerInvariant() switch
    {
        "auto" or "cpu" => new CpuPixelEngine(),
        "gpu" => throw new NotSupportedException("--device gpu: no GPU engine is available in this build (use --device auto or cpu)"),
        _ => throw new ArgumentException($"unknown device '{device}' (choose auto, cpu or gpu)"),
    };
}
