using System.CommandLine;
using System.Globalization;
using HistoQuant.Stains;
using HistoQuant.Synth;

namespace HistoQuant.Cli;

/// <summary>`histoquant synth`: a synthetic muscle-biopsy IHC slide with its ground truth (FILE.truth.json).</summary>
public static class SynthCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Slide to write (.tif); the truth goes beside it as .truth.json.", Required = true };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1, Description = "Random seed: the same seed gives the same slide." };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 4096, Description = "Level-0 width in px." };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 3072, Description = "Level-0 height in px." };
        var mpp = new Option<double>("--mpp") { DefaultValueFactory = _ => 0.5, Description = "µm per pixel." };
        var cells = new Option<int?>("--cells") { Description = "DAB-positive cells (default 150 per mm² of tissue)." };
        var nuclei = new Option<int?>("--nuclei") { Description = "DAB-negative nuclei (default 400 per mm² of tissue)." };
        var fibres = new Option<double>("--fibres-positive") { DefaultValueFactory = _ => 0.3, Description = "Fraction of fibres with a sarcolemmal DAB ring." };
        var clusters = new Option<int>("--clusters") { DefaultValueFactory = _ => 0, Description = "Dense infiltrates: clusters of small cells 8–14 µm apart, two in five DAB-positive (added to --cells/--nuclei)." };
        var capillaries = new Option<int>("--capillaries") { DefaultValueFactory = _ => 0, Description = "DAB-positive capillaries (rings and segments)." };
        var dab = new Option<double>("--dab-scale") { DefaultValueFactory = _ => 1.0, Description = "Multiplies all DAB (0 = negative slide)." };
        var sarcoplasmic = new Option<double>("--fibres-sarcoplasmic") { DefaultValueFactory = _ => 0, Description = "Fraction of fibres with diffuse sarcoplasmic DAB as well as the ring." };
        var endomysiumWidth = new Option<double>("--endomysium-um") { DefaultValueFactory = _ => 2.5, Description = "Width of the endomysium between fibres in µm (below 1: touching fibres, a faint line)." };
        var endomysium = new Option<double>("--endomysium-od") { DefaultValueFactory = _ => 0.008, Description = "Hematoxylin OD of the endomysium between fibres (fibres take 0.03–0.06)." };
        var fascicle = new Option<double>("--fascicle-um") { DefaultValueFactory = _ => 0, Description = "Fascicles about this far apart in µm, separated by perimysium (0: none); compartments truth." };
        var vessels = new Option<int>("--vessels") { DefaultValueFactory = _ => 0, Description = "Vessels (lumen 10–18 µm in radius) in the perimysium (with --fascicle-um)." };
        var placed = new Option<string?>("--compartment-cells") { Description = "Positive cells by compartment, ENDOMYSIAL,PERIMYSIAL,PERIVASCULAR,INVADING (with --fascicle-um)." };
        var perifascicular = new Option<double?>("--perifascicular-positive") { Description = "Fraction of perifascicular fibres (first 2 layers) with the ring (default: --fibres-positive)." };
        var atrophy = new Option<double>("--perifascicular-atrophy") { DefaultValueFactory = _ => 0, Description = "Perifascicular fibres shrink by this fraction of the fibre diameter (0–0.4)." };
        var sizeVariation = new Option<double>("--fibre-size-variation") { DefaultValueFactory = _ => 0, Description = "Fibre radii vary by up to ± this fraction (0–0.6): small fibres beside large ones; the truth gives the medians of area and minimal Feret." };
        var central = new Option<double>("--central-nuclei") { DefaultValueFactory = _ => 0, Description = "Fraction of fibres with a central nucleus (myopathy); the other nuclei then lie under the sarcolemma or in the endomysium, none deep in a fibre. Not with --cells, --clusters or --fascicle-um." };
        var tile = new Option<int>("--tile-size") { DefaultValueFactory = _ => 256, Description = "Tile side in px." };
        var quality = new Option<int>("--quality") { DefaultValueFactory = _ => 90, Description = "JPEG quality." };
        var stains = new Option<string?>("--stains") { Description = "Stain preset or JSON file to render with (default H-DAB)." };
        var glass = new Option<string?>("--glass") { Description = "Glass intensity I0: one value or R,G,B (default 255)." };
        var command = new Command("synth", "Render a synthetic muscle-biopsy IHC slide (pyramidal JPEG TIFF) with known ground truth.")
        {
            output, seed, width, height, mpp, cells, nuclei, clusters, fibres, sarcoplasmic, endomysiumWidth, capillaries, dab, endomysium, fascicle, vessels, placed, perifascicular, atrophy, sizeVariation, central, tile, quality, stains, glass,
        };
        command.SetAction(parse =>
        {
            int[] byCompartment = parse.GetValue(placed) is { } text ? ParseCounts(text) : [0, 0, 0, 0];
            var options = new SynthOptions
            {
                FascicleMicrons = parse.GetValue(fascicle),
                Vessels = parse.GetValue(vessels),
                EndomysialCells = byCompartment[0],
                PerimysialCells = byCompartment[1],
                PerivascularCells = byCompartment[2],
                InvadingCells = byCompartment[3],
                PerifascicularPositive = parse.GetValue(perifascicular),
                PerifascicularAtrophy = parse.GetValue(atrophy),
                FibreSizeVariation = parse.GetValue(sizeVariation),
                CentralNuclei = parse.GetValue(central),
                Seed = parse.GetValue(seed),
                Width = parse.GetValue(width),
                Height = parse.GetValue(height),
                Mpp = parse.GetValue(mpp),
                Cells = parse.GetValue(cells),
                NegativeNuclei = parse.GetValue(nuclei),
                Clusters = parse.GetValue(clusters),
                FibresPositive = parse.GetValue(fibres),
                FibresSarcoplasmic = parse.GetValue(sarcoplasmic),
                EndomysiumMicrons = parse.GetValue(endomysiumWidth),
                Capillaries = parse.GetValue(capillaries),
                DabScale = parse.GetValue(dab),
                EndomysiumOd = parse.GetValue(endomysium),
                TileSize = parse.GetValue(tile),
                JpegQuality = parse.GetValue(quality),
                Stains = parse.GetValue(stains) is { } s ? StainPresets.Find(s) ?? LoadStains(s) : StainPresets.HDab,
                Glass = QuantifyCommand.ParseBackground(parse.GetValue(glass), out bool auto) ?? Background.White,
            };
            if (auto)
                throw new UsageException("--glass takes one value or R,G,B, not 'auto'");
            if (options.Problem() is { } why)
                throw new UsageException(why);
            string path = parse.GetValue(output)!;
            if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder)
                Directory.CreateDirectory(folder);
            var truth = SyntheticSlideWriter.Write(options, path);
            string truthPath = Path.ChangeExtension(path, null) + ".truth.json";
            File.WriteAllText(truthPath, SyntheticSlideWriter.TruthJson(truth));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {path} ({options.Width}x{options.Height} px) and {truthPath}: tissue {truth.TissueAreaMm2:0.###} mm², DAB ≥ 0.2 on {truth.DabPositiveAreaPct["0.2"]:0.##}%, {truth.PositiveCells} positive cells, {truth.PositiveFibres}/{truth.Fibres} ring-positive fibres"));
            return Cli.Ok;
        });
        return command;
    }

    private static int[] ParseCounts(string text)
    {
        var parts = text.Split(',');
        var counts = parts.Select(p => int.TryParse(p.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0 ? v : -1).ToArray();
        return counts.Length == 4 && counts.All(c => c >= 0) ? counts
            : throw new UsageException($"--compartment-cells takes four counts ENDOMYSIAL,PERIMYSIAL,PERIVASCULAR,INVADING, not \"{text}\"");
    }

    private static StainSet LoadStains(string path)
    {
        try
        {
            return StainFile.Load(path);
        }
        catch (FormatException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
