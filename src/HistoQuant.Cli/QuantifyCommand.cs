using System.CommandLine;
using System.Globalization;
using HistoQuant.Kernels;
using HistoQuant.Models;
using HistoQuant.Output;
using HistoQuant.Pipeline;
using HistoQuant.Slides;
using HistoQuant.Stains;
using HistoQuant.Study;

namespace HistoQuant.Cli;

public static class QuantifyCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("input") { Description = "Slides, or folders of slides.", Arity = ArgumentArity.ZeroOrMore };
        var shard = new Option<string?>("--shard") { Description = "K/N: measure only the K-th of N deterministic shares (cluster job arrays); join with 'histoquant merge'." };
        var manifest = new Option<string?>("--manifest") { Description = "CSV with a 'slide' column and optional 'marker', 'regions', 'patient', 'timepoint', 'group'... (other columns are carried into the results); ',', ';' or tab separated." };
        var output = new Option<string>("--out") { Description = "Folder for results.csv and results.json.", Required = true };
        var marker = new Option<string>("--marker") { Description = "Marker model id (models/ID.json) or a model file.", DefaultValueFactory = _ => MarkerCatalog.DefaultId };
        var stains = new Option<string?>("--stains") { Description = "Stain preset (H-DAB, \"H-DAB Ruifrok\", H-E, H-AEC), a stain JSON file, or 'auto' (estimated per slide); overrides the marker's." };
        var mpp = new Option<double?>("--mpp") { Description = "Level-0 pixel size in µm/px; overrides or supplies the file's." };
        var tissue = new Option<string>("--tissue") { Description = "auto: detect tissue at low resolution; all: every pixel is tissue.", DefaultValueFactory = _ => "auto" };
        tissue.AcceptOnlyFromAmong("auto", "all");
        var weak = new Option<double?>("--weak") { Description = "Chromogen OD threshold for weak (1+) and for 'positive'; default from the marker (0.2)." };
        var moderate = new Option<double?>("--moderate") { Description = "Chromogen OD threshold for moderate (2+); default 0.4." };
        var strong = new Option<double?>("--strong") { Description = "Chromogen OD threshold for strong (3+); default 0.6." };
        var device = new Option<string>("--device") { Description = "Pixel engine: auto, cpu or gpu.", DefaultValueFactory = _ => "auto" };
        device.AcceptOnlyFromAmong(EngineFactory.Choices);
        var background = new Option<string?>("--background") { Description = "Background (glass) intensity I0: 'auto' (estimated per slide), one value, or R,G,B. Default 255." };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var cells = new Option<bool>("--cells") { Description = "Detect and classify cells even if the marker model does not ask for them." };
        var detections = new Option<bool>("--detections") { Description = "Also write DIR/<slide>.<marker>-<hash>/detections.geojson (QuPath objects) and a QC overlay.png; changes no number." };
        var viewer = new Option<bool>("--viewer") { Description = "Also write a zoomable viewer per slide (viewer.html beside the detections: deep-zoom tiles, detections, OpenSeadragon; opens from disk). Implies --detections." };
        var force = new Option<bool>("--force") { Description = "Measure again slides that DIR already holds finished rows for." };
        var cellTile = new Option<double?>("--cell-tile") { Description = "Core size of cell detection regions in µm (default 512)." };
        var histogram = new Option<bool>("--histogram") { Description = "Add each slide's 64-bin chromogen OD histogram (0.05 OD bins) to results.json." };
        var regions = new Option<string?>("--regions") { Description = "QuPath annotations (GeoJSON, level-0 pixels) to measure inside; Ignore*/Exclude/Artefact annotations are cut out. One slide; a manifest takes a 'regions' column." };
        var perRegion = new Option<bool>("--per-region") { Description = "With regions: one more row per included annotation class (column 'region'; 'all' is their union)." };
        var noStainCheck = new Option<bool>("--no-stain-check") { Description = "Do not estimate each slide's stain vectors to compare them with the model's (stain_check stays empty)." };
        var noHash = new Option<bool>("--no-hash") { Description = "Do not compute each slide file's sha256 for results.json's provenance." };
        var parallel = new Option<int>("--jobs") { Description = "Slides measured at once (each gets its share of the threads); limited by memory.", DefaultValueFactory = _ => 1 };

        var command = new Command("quantify", "Measure DAB (or another chromogen) per slide: tissue area, % positive area, intensity grades, H-score.")
        {
            inputs, output, marker, stains, mpp, tissue, weak, moderate, strong, device, background, threads, cells, detections, viewer, cellTile, force, manifest, shard, parallel, histogram, noStainCheck, noHash, regions, perRegion,
        };
        command.SetAction(parse =>
        {
            var model = Cli.Load(() => MarkerCatalog.Resolve(parse.GetValue(marker)!));
            if (parse.GetValue(parallel) < 1)
                throw new UsageException("--jobs must be at least 1");
            double? core = parse.GetValue(cellTile);
            if (core is not null and not (>= 32 and <= 8192))
                throw new UsageException("--cell-tile must be between 32 and 8192 µm");
            var run = RunInfo.Now("histoquant " + string.Join(' ', parse.Tokens.Select(t => t.Value.Length == 0 || t.Value.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'') ? "'" + t.Value.Replace("'", "'\\''") + "'" : t.Value)));
            // Command-line overrides apply to every marker; everything else comes from each marker's model.
            QuantifyOptions For(MarkerModel m) => new()
            {
                Run = run,
                CheckStains = !parse.GetValue(noStainCheck),
                HashFiles = !parse.GetValue(noHash),
                Marker = m,
                Stains = parse.GetValue(stains) is { } s && s != "auto" ? Cli.Load(() => ResolveStains(s)) : null,
                EstimateStains = parse.GetValue(stains) == "auto",
                Thresholds = MergeThresholds(m.Thresholds, parse.GetValue(weak), parse.GetValue(moderate), parse.GetValue(strong)),
                Mpp = CheckMpp(parse.GetValue(mpp)),
                Tissue = parse.GetValue(tissue) == "all" ? TissueMode.All : TissueMode.Auto,
                Background = ParseBackground(parse.GetValue(background), out bool estimate),
                EstimateBackground = estimate,
                Threads = BatchRunner.ThreadsPerJob(parse.GetValue(threads), parse.GetValue(parallel)),
                // --detections only writes files: it never switches a measure on or changes a number.
                Cells = parse.GetValue(cells),
                Histogram = parse.GetValue(histogram),
                Detections = parse.GetValue(detections) || parse.GetValue(viewer),
                CellSettings = core is { } c ? m.Cells with { CoreMicrons = c } : null,
            };
            var options = For(model);
            IPixelEngine engine;
            try
            {
                engine = EngineFactory.Create(parse.GetValue(device)!, Console.Error);
            }
            catch (Exception e) when (e is NotSupportedException or ArgumentException)
            {
                throw new UsageException(e.Message);
            }
            using (engine)
            {
                var jobs = ExpandInputs(parse.GetValue(inputs)!).Select(s => new BatchJob(s, options.Marker.Id, Regions: parse.GetValue(regions))).ToList();
                if (parse.GetValue(regions) is not null && jobs.Count != 1)
                    throw new UsageException("--regions belongs to one slide (its coordinates are that slide's pixels); for several, give a manifest with a 'regions' column");
                if (parse.GetValue(manifest) is { } file)
                    jobs.AddRange(Cli.Load(() => Manifest.Load(file)).Select(e => new BatchJob(e.Slide, e.Marker ?? options.Marker.Id, e.Columns, Regions: e.Regions)));
                jobs = jobs.Select((j, i) => j with { InputOrder = i }).ToList();
                if (parse.GetValue(shard) is { } text)
                    jobs = Cli.Load(() => Shard.Parse(text)).Take(jobs).ToList();
                // One quantifier per marker: a manifest may mix markers, each with its own model.
                var quantifiers = new Dictionary<string, Quantifier>(StringComparer.OrdinalIgnoreCase);
                foreach (var id in jobs.Select(j => j.Marker).Distinct(StringComparer.OrdinalIgnoreCase))
                    quantifiers[id] = new Quantifier(id.Equals(model.Id, StringComparison.OrdinalIgnoreCase) ? options : For(Cli.Load(() => MarkerCatalog.Resolve(id))), engine);
                if (jobs.Count == 0)
                    throw new UsageException("no slides to measure: give slides, folders or --manifest");
                var runner = new BatchRunner(quantifiers, parse.GetValue(output)!, parse.GetValue(force), parse.GetValue(parallel), parse.GetValue(detections) || parse.GetValue(viewer), parse.GetValue(perRegion),
                    parse.GetValue(viewer));
                using var display = new ProgressDisplay(jobs.Count, Console.Error, ProgressDisplay.StderrIsTerminal);
                int failed = runner.Run(jobs, display, Console.Error);
                Console.Error.WriteLine($"{jobs.Count - failed} of {jobs.Count} slides measured; results in {runner.Writer!.CsvPath}");
                return failed == 0 ? Cli.Ok : Cli.SomeFailed;
            }
        });
        return command;
    }

    /// <summary>Files stay as given; folders contribute their slide files (not recursive, one per DICOM series), sorted by name.</summary>
    public static IReadOnlyList<string> ExpandInputs(IEnumerable<string> inputs)
    {
        var list = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
                list.AddRange(Directory.GetFiles(input)
                    .Where(SlideFormats.IsSlideFile)
                    .Order(StringComparer.Ordinal));
            else
                list.Add(input); // a missing file becomes an error row, not an aborted batch
        }
        return list;
    }

    private static StainSet ResolveStains(string nameOrFile) =>
        StainPresets.Find(nameOrFile) ?? (File.Exists(nameOrFile) ? StainFile.Load(nameOrFile)
            : throw new FormatException($"--stains: '{nameOrFile}' is neither a preset ({string.Join(", ", StainPresets.All.Select(p => p.Name))}) nor a file"));

    private static Thresholds MergeThresholds(Thresholds model, double? weak, double? moderate, double? strong)
    {
        var t = new Thresholds(weak ?? model.Weak, moderate ?? model.Moderate, strong ?? model.Strong);
        return t.Problem() is { } why ? throw new UsageException(why) : t;
    }

    private static double? CheckMpp(double? mpp) =>
        mpp is null ? null
        : PixelSize.IsPlausible(mpp.Value) ? mpp
        : throw new UsageException($"--mpp must be a microscope's pixel size, {PixelSize.Min} to {PixelSize.Max} µm per pixel (got {mpp})");

    public static Background? ParseBackground(string? text, out bool estimate)
    {
        estimate = false;
        if (text is null)
            return null;
        if (text.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            estimate = true;
            return null;
        }
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = parts.Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN).ToArray();
        if (values.Length is not (1 or 3) || values.Any(v => !(v >= 1 && v <= 255)))
            throw new UsageException($"--background must be 'auto', one intensity or R,G,B, each 1 to 255 (got '{text}')");
        return values.Length == 1 ? new Background(values[0], values[0], values[0]) : new Background(values[0], values[1], values[2]);
    }
}
