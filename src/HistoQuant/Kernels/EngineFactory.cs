namespace HistoQuant.Kernels;

/// <summary>
/// Picks the pixel engine for `--device`: auto = CUDA, else an OpenCL GPU, else the CPU engine;
/// gpu = CUDA or OpenCL GPU or a clear error; cpu = the CPU engine. GPU engines fall back to the CPU
/// engine for the rest of the run if they fail mid-way.
/// </summary>
public static class EngineFactory
{
    public static readonly string[] Choices = ["auto", "cpu", "gpu"];

    public static IPixelEngine Create(string device)
    {
        switch (device.ToLowerInvariant())
        {
            case "cpu":
                return new CpuPixelEngine();
            case "auto":
                return IlgpuPixelEngine.TryCreateGpu() is { } gpu ? new FallbackPixelEngine(gpu, new CpuPixelEngine()) : new CpuPixelEngine();
            case "gpu":
                return IlgpuPixelEngine.TryCreateGpu() is { } only ? new FallbackPixelEngine(only, new CpuPixelEngine())
                    : throw new NotSupportedException("--device gpu: no CUDA device or OpenCL GPU found (use --device auto or cpu)");
            default:
                throw new ArgumentException($"unknown device '{device}' (choose auto, cpu or gpu)");
        }
    }
}
