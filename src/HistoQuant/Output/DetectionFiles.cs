using System.Text.Json;
using OpenCvSharp;
using HistoQuant.Measures;
using HistoQuant.Slides;
using HistoQuant.Kernels;

namespace HistoQuant.Output;

/// <summary>
/// Detections for a person to look at: cells, fibres and capillaries as a GeoJSON FeatureCollection that QuPath imports (polygons
/// in level-0 pixels, a classification, QuPath-style measurement names), and a QC overlay PNG.
/// </summary>
public static class DetectionFiles
{
    public static void WriteGeoJson(IReadOnlyList<IMeasure> measures, SlideObjects objects, string path)
    {
        var features = new List<object>();
        foreach (var measure in measures)
            if (objects[measure.Name] is { } list)
                features.AddRange(measure.Features(list).Select(Feature));
        var json = JsonSerializer.Serialize(new { type = "FeatureCollection", features });
        ResultsWriter.WriteAtomically(path, json);
    }

    private static object Feature(GeoFeature f)
    {
        var feature = new Dictionary<string, object>
        {
            ["type"] = "Feature",
            ["geometry"] = new { type = "Polygon", coordinates = new[] { Ring(f.Outline, f.X, f.Y) } },
        };
        // QuPath's cells: "geometry" is the cell, "nucleusGeometry" its nucleus.
        if (f.NucleusOutline is { Count: >= 3 } nucleus)
            feature["nucleusGeometry"] = new { type = "Polygon", coordinates = new[] { Ring(nucleus, f.X, f.Y) } };
        feature["properties"] = new Dictionary<string, object>
        {
            ["objectType"] = f.ObjectType,
            ["classification"] = new { name = f.ClassName, color = f.Colour },
            ["measurements"] = f.Measurements,
        };
        return feature;
    }

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
    public static void WriteOverlay(ISlide slide, TissueMask tissue, Kernels.PixelModel model, IReadOnlyList<IMeasure> measures, SlideObjects objects, string path, int maxSide = 2048)
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
        int radius = Math.Max(2, (int)Math.Round(4 * scale * Math.Max(1, 1 / scale / 8)));
        var canvas = new OverlayCanvas(bgr, scale, radius);
        foreach (var measure in measures.OrderBy(m => m.OverlayOrder))
            if (objects[measure.Name] is { } list)
                measure.Draw(canvas, list);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir)
            Directory.CreateDirectory(dir);
        Cv2.ImWrite(path, bgr);
    }

    /// <summary>Both detection files of a measured slide into <paramref name="folder"/> (GeoJSON only when objects were detected).</summary>
    public static void Write(Pipeline.MeasuredSlide m, string folder)
    {
        Directory.CreateDirectory(folder);
        if (!m.Objects.IsEmpty)
            WriteGeoJson(m.Measures, m.Objects, Path.Combine(folder, "detections.geojson"));
        WriteOverlay(m.Slide, m.Tissue, m.Model, m.Measures, m.Objects, Path.Combine(folder, "overlay.png"));
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
                float d = Stains.ChannelLut.Sum(lut, px[i], px[i + 1], px[i + 2]);
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
