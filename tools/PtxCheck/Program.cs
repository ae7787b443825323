using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using HistoQuant.Kernels;

// Writes the PTX of every pixel-engine kernel, and of a control kernel that ptxas must fuse into an FMA, for each
// architecture named on the command line (sm_80 sm_90): OUT/<arch>/<kernel>.ptx. `.ci/ptx-check` assembles them.
// No CUDA device or driver is needed: ILGPU's PTX backend compiles from IL alone.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: PtxCheck OUT_DIR sm_80 [sm_90 ...]");
    return 2;
}
string outDir = args[0];
using var context = Context.Create(builder => builder.Optimize(OptimizationLevel.O1));
var kernels = IlgpuPixelEngine.Kernels.Append(typeof(Control).GetMethod(nameof(Control.FusableKernel))!).ToList();
foreach (var arch in args.Skip(1))
{
    var architecture = arch switch
    {
        "sm_80" => CudaArchitecture.SM_80,
        "sm_86" => CudaArchitecture.SM_86,
        "sm_90" => CudaArchitecture.SM_90,
        _ => throw new ArgumentException($"unknown architecture {arch}"),
    };
    // PTX ISA 7.8: the newest that the CUDA 11.8 assembler (Debian 12's) accepts, and enough for sm_90.
    var backend = new PTXBackend(context, new CudaCapabilityContext(architecture), architecture, CudaInstructionSet.ISA_78, null);
    Directory.CreateDirectory(Path.Combine(outDir, arch));
    foreach (var kernel in kernels)
    {
        // A kernel whose first parameter is an index is implicitly grouped; the others use Grid/Group themselves.
        var first = kernel.GetParameters()[0].ParameterType;
        var entry = first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, new KernelSpecialization());
        File.WriteAllText(Path.Combine(outDir, arch, kernel.Name + ".ptx"), compiled.PTXAssembly);
    }
}
Console.WriteLine(string.Join(' ', kernels.Select(k => k.Name)));
return 0;

static class Control
{
    /// <summary>a·b + c written as two operations: ptxas fuses them under --fmad=true, so the check can tell.</summary>
    public static void FusableKernel(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c)
    {
        c[i] = a[i] * b[i] + c[i];
    }
}
