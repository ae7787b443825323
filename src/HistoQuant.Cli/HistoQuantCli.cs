using System.CommandLine;

namespace HistoQuant.Cli;

public static class HistoQuantCli
{
    public static RootCommand BuildRoot() => new("HistoQuant: quantify immunohistochemistry in whole-slide images.")
    {
        InfoCommand.Create(),
        ThumbnailCommand.Create(),
        QuantifyCommand.Create(),
        BenchCommand.Create(),
        SynthCommand.Create(),
        StainsCommand.Create(),
        MergeCommand.Create(),
        CompareCommand.Create(),
        ValidateCommand.Create(),
    };

    public static int Main(string[] args) => Cli.Run(BuildRoot(), args);
}
