using System.CommandLine;
using HistoQuant.Cli;

var root = new RootCommand("HistoQuant: quantify immunohistochemistry in whole-slide images.")
{
    InfoCommand.Create(),
    ThumbnailCommand.Create(),
    QuantifyCommand.Create(),
};
return Cli.Run(root, args);
