using System.CommandLine;

namespace HistoQuant.Cli;

public static class HistoQuantCli
{
    public static RootCommand BuildRoot() => new RootCommand("HistoQuant: quantify immunohistochemistry in whole-slide images.")
    {
        InfoCommand.Create(),
        ThumbnailCommand.Create(),
        ViewCommand.Create(),
        QuantifyCommand.Create(),
        BenchCommand.Create(),
        SynthCommand.Create(),
        StainsCommand.Create(),
        MergeCommand.Create(),
        CompareCommand.Create(),
        ValidateCommand.Create(),
        QcCommand.Create(),
        GpuCheckCommand.Create(),
    }.Named("histoquant");

    // Usage lines name the launcher users type, not the assembly (HistoQuant.Cli.dll).
    private static RootCommand Named(this RootCommand root, string name)
    {
        root.HelpName = name;
        return root;
    }

    public static int Main(string[] args) => Cli.Run(BuildRoot(), args);
}
