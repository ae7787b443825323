namespace HistoQuant.Kernels;

/// <summary>
/// Picks the pixel engine for `--device`: auto = CUDA, else an OpenCL GPU, else the CPU engine;
/// gpu = CUDA or OpenCL GPU or a clear error; cpu = the CPU engine. GPU engines fall back to the CPU
/// engine for the rest of the run if they fail mid-way.
/// </summary>
public static class EngineFactory
{
    public static readonly string[] Choices = ["auto", "cpu", "gpu"];

    /// <param name="log">Where `auto` says why a GPU that is there was not used (a missing GPU is no news).</param>
    public static IPixelEngine Create(string device, TextWriter? log = null) => Create(device, out _, log);

    /// <param name="gpuProblem">Why no GPU engine was made (null when one was, or for `cpu`).</param>
    public static IPixelEngine Create(string device, out string? gpuProblem, TextWriter? log = null)
    {
        gpuProblem = null;
        switch (device.ToLowerInvariant())
        {
            case "cpu":
                return new CpuPixelEngine();
            case "auto":
                if (IlgpuPixelEngine.TryCreateGpu(out gpuProblem) is { } gpu)
                    return new FallbackPixelEngine(gpu, new CpuPixelEngine());
                if (gpuProblem != IlgpuPixelEngine.NoGpu)
                    log?.WriteLine($"histoquant: GPU not used: {gpuProblem}; measuring on the CPU");
                return new CpuPixelEngine();
            case "gpu":
                return IlgpuPixelEngine.TryCreateGpu(out gpuProblem) is { } only ? new FallbackPixelEngine(only, new CpuPixelEngine())
                    : throw new NotSupportedException($"--device gpu: {gpuProblem} (use --device auto or cpu)");
            default:
                throw new ArgumentException($"unknown device '{device}' (choose auto, cpu or gpu)");
        }
    }
}
