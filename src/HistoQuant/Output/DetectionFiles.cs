using System.Text.Json;
using OpenCvSharp;
using HistoQuant.Measures;
using HistoQuant.Measures.Fibres;
using HistoQuant.Pipeline;
using HistoQuant.Slides;
using HistoQuant.Kernels;

namespace HistoQuant.Output;

/// <summary>
/// Detections for a person to look at: cells, fibres and capillaries as a GeoJSON FeatureCollection that QuPath imports (polygons
/// in level-0 pixels, a classification, QuPath-style measurement names), and a QC overlay PNG.
/// </summary>
public static class DetectionFiles
{
    private static readonly string[] ClassNames = ["Negative", "1+", "2+", "3+"];
    private static readonly int[][] ClassColours = [[112, 112, 225], [255, 215, 0], [255, 128, 0], [200, 0, 0]];

    public static void WriteGeoJson(SlideObjects objects, string path)
    {
        var features = new List<object>();
        foreach (var c in objects.Cells ?? [])
            features.Add(Feature("cell", Ring(c.Outline, c.X, c.Y), ClassNames[c.Class], ClassColours[c.Class], new()
            {
                ["Centroid X px"] = Math.Round(c.X, 2),
                ["Centroid Y px"] = Math.Round(c.Y, 2),
                ["Cell: Area µm^2"] = Math.Round(c.AreaMicrons2, 3),
                ["Nucleus: Area µm^2"] = Math.Round(c.NucleusAreaMicrons2, 3),
                ["Nucleus: DAB OD mean"] = Math.Round(c.NucleusDab, 5),
                ["Cytoplasm: DAB OD mean"] = Math.Round(c.CytoplasmDab, 5),
                ["Cell: DAB OD mean"] = Math.Round(c.CellDab, 5),
                ["Cell: DAB OD max"] = Math.Round(c.MaxDab, 5),
            }));
        foreach (var f in objects.Fibres ?? [])
        {
            var (name, colour) = FibreClass(f);
            features.Add(Feature("annotation", Ring(f.Outline, f.X, f.Y), name, colour, new()
            {
                ["Centroid X px"] = Math.Round(f.X, 2),
                ["Centroid Y px"] = Math.Round(f.Y, 2),
                ["Fibre: Area µm^2"] = Math.Round(f.AreaMicrons2, 3),
                ["Fibre: Solidity"] = Math.Round(f.Solidity, 4),
                ["Sarcolemma: DAB OD mean"] = Math.Round(f.BandDab, 5),
                ["Sarcolemma: DAB positive fraction"] = Math.Round(f.BandPositiveFraction, 4),
                ["Sarcoplasm: DAB OD mean"] = Math.Round(f.SarcoplasmDab, 5),
            }));
        }
        foreach (var v in objects.Capillaries ?? [])
            features.Add(Feature("detection", Ring(null, v.X, v.Y), v.Ring ? "Capillary (ring)" : "Capillary (elongated)", CapillaryColour, new()
            {
                ["Centroid X px"] = Math.Round(v.X, 2),
                ["Centroid Y px"] = Math.Round(v.Y, 2),
                ["Area µm^2"] = Math.Round(v.AreaMicrons2, 3),
                ["Elongation"] = Math.Round(v.Elongation, 3),
                ["Lumen µm^2"] = Math.Round(v.LumenMicrons2, 3),
                ["DAB OD mean"] = Math.Round(v.MeanDab, 5),
            }));
        var json = JsonSerializer.Serialize(new { type = "FeatureCollection", features });
        ResultsWriter.WriteAtomically(path, json);
    }

    private static readonly int[] CapillaryColour = [0, 160, 255];

    private static (string Name, int[] Colour) FibreClass(DetectedFibre f) =>
        f.Sarcolemmal ? ("Fibre: sarcolemmal positive", [200, 0, 0])
        : f.Sarcoplasmic ? ("Fibre: sarcoplasmic positive", [255, 128, 0])
        : ("Fibre: negative", [0, 170, 0]);

    private static object Feature(string objectType, double[][] ring, string className, int[] colour, Dictionary<string, double> measurements) => new
    {
        type = "Feature",
        geometry = new { type = "Polygon", coordinates = new[] { ring } },
        properties = new Dictionary<string, object>
        {
            ["objectType"] = objectType,
            ["classification"] = new { name = className, color = colour },
            ["measurements"] = measurements,
        },
    };

    private static double[][] Ring(IReadOnlyList<(double X, double Y)>? outline, double x, double y)
    {
        const double r = 2; // objects without an outline get a small square at their centroid
        var points = outline is { Count: >= 3 } o ? o : [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)];
        var ring = points.Select(p => new[] { Math.Round(p.X, 2), Math.Round(p.Y, 2) }).ToList();
        ring.Add(ring[0]); // GeoJSON rings are closed
        return ring.ToArray();
    }

    /// <summary>
    /// The QC overlay: the slide's overview with the tissue outline (green), chromogen-positive pixels
    /// (OD ≥ weak, measured on the overview's own pixels) tinted cyan, fibre outlines (green negative, red
    /// sarcolemmal, orange sarcoplasmic), capillaries as blue rings and cells as dots (negative blue,
    /// 1+ yellow, 2+ orange, 3+ red).
    /// </summary>
    public static void WriteOverlay(ISlide slide, TissueMask tissue, Kernels.PixelModel model, SlideObjects objects, string path, int maxSide = 2048)
    {
        var level0 = slide.Levels[0];
        var (w, h) = SlideOverview.FitWithin(level0, maxSide);
        var overview = SlideOverview.Render(slide, w, h);
        TintPositivePixels(overview, tissue, model, level0);
        using var rgb = Mat.FromPixelData(h, w, MatType.CV_8UC3, overview.Pixels);
        using var bgr = new Mat();
        Cv2.CvtColor(rgb, bgr, ColorConversionCodes.RGB2BGR);
        DrawTissueOutline(bgr, tissue);
        double scale = (double)w / level0.Width;
        static Scalar Bgr(int[] c) => new(c[2], c[1], c[0]);
        foreach (var f in objects.Fibres ?? [])
        {
            if (f.Outline is not { Count: >= 3 } outline)
                continue;
            var points = outline.Select(p => new Point((int)(p.X * scale), (int)(p.Y * scale))).ToArray();
            Cv2.Polylines(bgr, [points], true, Bgr(FibreClass(f).Colour), 1, LineTypes.AntiAlias);
        }
        int radius = Math.Max(2, (int)Math.Round(4 * scale * Math.Max(1, 1 / scale / 8)));
        foreach (var v in objects.Capillaries ?? [])
            Cv2.Circle(bgr, new Point((int)(v.X * scale), (int)(v.Y * scale)), radius + 1, Bgr(CapillaryColour), 1, LineTypes.AntiAlias);
        foreach (var c in objects.Cells ?? [])
            Cv2.Circle(bgr, new Point((int)(c.X * scale), (int)(c.Y * scale)), radius, Bgr(ClassColours[c.Class]), -1);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir)
            Directory.CreateDirectory(dir);
        Cv2.ImWrite(path, bgr);
    }

    /// <summary>Half-way to cyan where the overview pixel's chromogen OD is at or above the weak threshold, in tissue.</summary>
    private static void TintPositivePixels(RgbImage overview, TissueMask tissue, Kernels.PixelModel model, SlideLevel level0)
    {
        var lut = model.ChromogenLut;
        var px = overview.Pixels;
        double sx = (double)level0.Width / overview.Width, sy = (double)level0.Height / overview.Height;
        for (int y = 0, i = 0; y < overview.Height; y++)
            for (int x = 0; x < overview.Width; x++, i += 3)
            {
                float d = lut[px[i]] + lut[256 + px[i + 1]] + lut[512 + px[i + 2]];
                if (d < model.Weak || !tissue.IsTissue((x + 0.5) * sx, (y + 0.5) * sy))
                    continue;
                px[i] = (byte)(px[i] / 2);
                px[i + 1] = (byte)((px[i + 1] + 255) / 2);
                px[i + 2] = (byte)((px[i + 2] + 255) / 2);
            }
    }

    private static void DrawTissueOutline(Mat bgr, TissueMask tissue)
    {
        if (tissue.Mask is null)
            return;
        using var mask = Mat.FromPixelData(tissue.Height, tissue.Width, MatType.CV_8UC1, tissue.Mask);
        using var scaled = new Mat();
        Cv2.Resize(mask, scaled, bgr.Size(), 0, 0, InterpolationFlags.Nearest);
        Cv2.FindContours(scaled, out Point[][] contours, out _, RetrievalModes.List, ContourApproximationModes.ApproxSimple);
        Cv2.DrawContours(bgr, contours, -1, new Scalar(0, 160, 0), 2, LineTypes.AntiAlias);
    }
}
