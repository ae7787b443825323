using System.Text.Json;
using OpenCvSharp;
using HistoQuant.Measures.Cells;
using HistoQuant.Slides;

namespace HistoQuant.Output;

/// <summary>
/// Detections for a person to look at: cells as a GeoJSON FeatureCollection that QuPath imports (polygons
/// in level-0 pixels, a classification, QuPath-style measurement names), and a QC overlay PNG.
/// </summary>
public static class DetectionFiles
{
    private static readonly string[] ClassNames = ["Negative", "1+", "2+", "3+"];
    private static readonly int[][] ClassColours = [[112, 112, 225], [255, 215, 0], [255, 128, 0], [200, 0, 0]];

    public static void WriteGeoJson(IEnumerable<DetectedCell> cells, string path)
    {
        var features = cells.Select(c => new
        {
            type = "Feature",
            geometry = new { type = "Polygon", coordinates = new[] { Ring(c) } },
            properties = new Dictionary<string, object>
            {
                ["objectType"] = "cell",
                ["classification"] = new { name = ClassNames[c.Class], color = ClassColours[c.Class] },
                ["measurements"] = new Dictionary<string, double>
                {
                    ["Centroid X px"] = Math.Round(c.X, 2),
                    ["Centroid Y px"] = Math.Round(c.Y, 2),
                    ["Cell: Area µm^2"] = Math.Round(c.AreaMicrons2, 3),
                    ["Nucleus: Area µm^2"] = Math.Round(c.NucleusAreaMicrons2, 3),
                    ["Nucleus: DAB OD mean"] = Math.Round(c.NucleusDab, 5),
                    ["Cytoplasm: DAB OD mean"] = Math.Round(c.CytoplasmDab, 5),
                    ["Cell: DAB OD mean"] = Math.Round(c.CellDab, 5),
                    ["Cell: DAB OD max"] = Math.Round(c.MaxDab, 5),
                },
            },
        });
        var json = JsonSerializer.Serialize(new { type = "FeatureCollection", features });
        ResultsWriter.WriteAtomically(path, json);
    }

    private static double[][] Ring(DetectedCell c)
    {
        var outline = c.Outline is { Count: >= 3 } o ? o : Square(c);
        var ring = outline.Select(p => new[] { Math.Round(p.X, 2), Math.Round(p.Y, 2) }).ToList();
        ring.Add(ring[0]); // GeoJSON rings are closed
        return ring.ToArray();
    }

    private static List<(double X, double Y)> Square(DetectedCell c)
    {
        double r = 2;
        return [(c.X - r, c.Y - r), (c.X + r, c.Y - r), (c.X + r, c.Y + r), (c.X - r, c.Y + r)];
    }

    /// <summary>Overview of the slide with cells marked: negative blue, 1+ yellow, 2+ orange, 3+ red.</summary>
    public static void WriteOverlay(ISlide slide, IEnumerable<DetectedCell> cells, string path, int maxSide = 2048)
    {
        var (w, h) = SlideOverview.FitWithin(slide.Levels[0], maxSide);
        var overview = SlideOverview.Render(slide, w, h);
        using var rgb = Mat.FromPixelData(h, w, MatType.CV_8UC3, overview.Pixels);
        using var bgr = new Mat();
        Cv2.CvtColor(rgb, bgr, ColorConversionCodes.RGB2BGR);
        double scale = (double)w / slide.Levels[0].Width;
        int radius = Math.Max(1, (int)Math.Round(4 * scale * Math.Max(1, 1 / scale / 8)));
        foreach (var c in cells)
        {
            var col = ClassColours[c.Class];
            Cv2.Circle(bgr, new Point((int)(c.X * scale), (int)(c.Y * scale)), Math.Max(2, radius), new Scalar(col[2], col[1], col[0]), -1);
        }
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir)
            Directory.CreateDirectory(dir);
        Cv2.ImWrite(path, bgr);
    }
}
