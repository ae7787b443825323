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
    /// <param name="idKey">What makes the features' ids unique to this slide and marker (the same on every re-run).</param>
    public static void WriteGeoJson(IReadOnlyList<IMeasure> measures, SlideObjects objects, TissueMask tissue, string idKey, string path)
    {
        var features = new List<object>();
        // What was measured, as annotations: the tissue outline and the regions of interest.
        foreach (var (rings, name, colour) in Annotations(tissue))
            features.Add(Annotation(rings, name, colour, StableId(idKey, "annotation", name, features.Count)));
        foreach (var measure in measures)
            if (objects[measure.Name] is { } list)
            {
                int k = 0;
                foreach (var f in measure.Features(list))
                    features.Add(Feature(f, StableId(idKey, measure.Name, Math.Round(f.X, 1) + "," + Math.Round(f.Y, 1), k++)));
            }
        var json = JsonSerializer.Serialize(new { type = "FeatureCollection", features });
        ResultsWriter.WriteAtomically(path, json);
    }

    /// <summary>A UUID made from the slide, marker and object (SHA-256 of them, RFC 4122 variant bits): a re-run gives the same ids.</summary>
    internal static string StableId(string idKey, string kind, string what, int ordinal)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{idKey}|{kind}|{what}|{ordinal}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5-style: name-based
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true).ToString();
    }

    private static IEnumerable<(List<List<(double X, double Y)>> Rings, string Name, int[] Colour)> Annotations(TissueMask tissue)
    {
        if (tissue.Mask is null)
            yield return ([[(0, 0), (tissue.Level0Width, 0), (tissue.Level0Width, tissue.Level0Height), (0, tissue.Level0Height)]], "Tissue", TissueOutline);
        else
        {
            // The low-resolution mask's outlines (with holes), scaled to level-0 pixels.
            using var mask = Mat.FromPixelData(tissue.Height, tissue.Width, MatType.CV_8UC1, tissue.Mask);
            using var padded = new Mat();
            Cv2.CopyMakeBorder(mask, padded, 1, 1, 1, 1, BorderTypes.Constant, Scalar.All(0));
            Cv2.FindContours(padded, out Point[][] contours, out HierarchyIndex[] hierarchy, RetrievalModes.CComp, ContourApproximationModes.ApproxSimple);
            double sx = (double)tissue.Level0Width / tissue.Width, sy = (double)tissue.Level0Height / tissue.Height;
            List<(double, double)> Scale(Point[] c) => c.Select(p => ((p.X - 1 + 0.5) * sx, (p.Y - 1 + 0.5) * sy)).ToList();
            for (int i = 0; i < contours.Length; i++)
            {
                if (hierarchy[i].Parent >= 0 || contours[i].Length < 3)
                    continue;
                var rings = new List<List<(double, double)>> { Scale(contours[i]) };
                for (int child = hierarchy[i].Child; child >= 0; child = hierarchy[child].Next)
                    if (contours[child].Length >= 3)
                        rings.Add(Scale(contours[child]));
                yield return (rings, "Tissue", TissueOutline);
            }
        }
        if (tissue.Region is { } region)
        {
            foreach (var p in region.Included)
                yield return (p.Rings.Select(r => r.ToList()).ToList(), "Measured region", RegionOutline);
            foreach (var p in region.Excluded)
                yield return (p.Rings.Select(r => r.ToList()).ToList(), "Ignore*", [180, 180, 180]);
        }
    }

    private static object Annotation(List<List<(double X, double Y)>> rings, string name, int[] colour, string id) => new Dictionary<string, object>
    {
        ["type"] = "Feature",
        ["id"] = id,
        ["geometry"] = new { type = "Polygon", coordinates = rings.Select(r => Ring(r, 0, 0)).ToArray() },
        ["properties"] = new Dictionary<string, object>
        {
            ["objectType"] = "annotation",
            ["classification"] = new { name, color = colour },
            ["isLocked"] = true,
        },
    };

    private static object Feature(GeoFeature f, string id)
    {
        var feature = new Dictionary<string, object>
        {
            ["type"] = "Feature",
            ["id"] = id,
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
    /// <param name="title">The band's first line (slide and marker); null draws no band (no title, scale bar or legend).</param>
    /// <param name="mpp">Level-0 µm per pixel, for the scale bar.</param>
    public static void WriteOverlay(ISlide slide, TissueMask tissue, Kernels.PixelModel model, IReadOnlyList<IMeasure> measures, SlideObjects objects, string path, int maxSide = 2048,
        string? title = null, double? mpp = null, bool tint = true)
    {
        var level0 = slide.Levels[0];
        var (w, h) = SlideOverview.FitWithin(level0, maxSide);
        var overview = SlideOverview.Render(slide, w, h);
        // Only where the model grades the chromogen: on an H&E morphometry model "positive" would be all the eosin.
        if (tint)
            TintPositivePixels(overview, tissue, model, level0);
        using var rgb = Mat.FromPixelData(h, w, MatType.CV_8UC3, overview.Pixels);
        using var bgr = new Mat();
        Cv2.CvtColor(rgb, bgr, ColorConversionCodes.RGB2BGR);
        DrawTissueOutline(bgr, tissue);
        double scale = (double)w / level0.Width;
        DrawRegions(bgr, tissue, scale);
        int radius = Math.Max(2, (int)Math.Round(4 * scale * Math.Max(1, 1 / scale / 8)));
        var canvas = new OverlayCanvas(bgr, scale, radius);
        foreach (var measure in measures.OrderBy(m => m.OverlayOrder))
            if (objects[measure.Name] is { } list)
                measure.Draw(canvas, list);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir)
            Directory.CreateDirectory(dir);
        if (title is null)
        {
            Cv2.ImWrite(path, bgr);
            return;
        }
        var legend = new List<(string, int[])> { ("tissue outline", TissueOutline) };
        if (tint)
            legend.Add(("chromogen ≥ weak (tinted)", [0, 255, 255]));
        if (tissue.Region is not null)
            legend.Add(("region of interest", RegionOutline));
        legend.AddRange(measures.Where(m => objects[m.Name] is not null).SelectMany(m => m.Legend));
        using var framed = WithBand(bgr, title, mpp is { } um ? um / scale : null, legend);
        Cv2.ImWrite(path, framed);
    }

    internal const int BandHeight = 64;
    private const int LegendLineHeight = 20;
    private static readonly int[] TissueOutline = [255, 0, 255], RegionOutline = [0, 90, 200];

    /// <summary>
    /// The overview with a white band below: the title, a scale bar of a round length near a sixth of the width,
    /// and the legend, wrapped onto as many lines as it needs (the band grows) so that no entry is lost on a narrow
    /// overview. Hershey fonts have no "µ" or "≥", so those are spelt out.
    /// </summary>
    internal static Mat WithBand(Mat image, string title, double? micronsPerPixel, IReadOnlyList<(string Label, int[] Colour)> legend)
    {
        const HersheyFonts font = HersheyFonts.HersheySimplex;
        var ink = new Scalar(30, 30, 30);
        int left = 10;
        (double Length, string Label)? bar = null;
        if (micronsPerPixel is { } um && um > 0)
        {
            double target = image.Cols / 6.0 * um;
            double nice = new[] { 1, 2, 5 }.SelectMany(m => Enumerable.Range(-1, 6).Select(e => m * Math.Pow(10, e))).Where(v => v <= target).DefaultIfEmpty(target).Max();
            int length = Math.Max(1, (int)Math.Round(nice / um));
            bar = (length, nice >= 1000 ? $"{nice / 1000:0.#} mm" : $"{nice:0.#} um");
            left += Math.Max(length, 80) + 20;
        }

        // Lay the legend out first: the band's height depends on how many lines it takes.
        var placed = new List<(string Text, int[] Colour, int X, int Line)>();
        int x = left, line = 0;
        foreach (var (label, colour) in legend)
        {
            string text = Ascii(label);
            int w = Cv2.GetTextSize(text, font, 0.45, 1, out _).Width;
            if (x > left && x + 18 + w > image.Cols)
            {
                x = left;
                line++;
            }
            placed.Add((text, colour, x, line));
            x += 16 + w + 18;
        }

        var framed = new Mat(image.Rows + BandHeight + line * LegendLineHeight, image.Cols, MatType.CV_8UC3, Scalar.All(255));
        image.CopyTo(framed[new Rect(0, 0, image.Cols, image.Rows)]);
        int top = image.Rows;
        Cv2.PutText(framed, Ascii(title), new Point(10, top + 22), font, 0.6, ink, 1, LineTypes.AntiAlias);
        if (bar is { } b)
        {
            Cv2.Rectangle(framed, new Rect(10, top + 38, (int)b.Length, 6), ink, -1);
            Cv2.PutText(framed, b.Label, new Point(10, top + 58), font, 0.45, ink, 1, LineTypes.AntiAlias);
        }
        foreach (var (text, colour, px, l) in placed)
        {
            int y = top + 36 + l * LegendLineHeight;
            Cv2.Rectangle(framed, new Rect(px, y, 12, 12), OverlayCanvas.Colour(colour), -1);
            Cv2.Rectangle(framed, new Rect(px, y, 12, 12), ink, 1);
            Cv2.PutText(framed, text, new Point(px + 16, y + 11), font, 0.45, ink, 1, LineTypes.AntiAlias);
        }
        return framed;
    }

    private static string Ascii(string s) => new(s.Replace("µ", "u").Replace("≥", ">=").Replace("²", "2").Replace("—", "-").Select(c => c < 128 ? c : '?').ToArray());

    /// <summary>Both detection files of a measured slide into <paramref name="folder"/>: the GeoJSON (what was measured, and the objects found) and the overlay.</summary>
    public static void Write(Pipeline.MeasuredSlide m, string folder)
    {
        Directory.CreateDirectory(folder);
        WriteGeoJson(m.Measures, m.Objects, m.Tissue, $"{Path.GetFileName(m.Path)}|{m.Result.Marker}", Path.Combine(folder, "detections.geojson"));
        WriteOverlay(m.Slide, m.Tissue, m.Model, m.Measures, m.Objects, Path.Combine(folder, "overlay.png"),
            title: $"{Path.GetFileName(m.Path)} - {m.Result.Marker}{(m.Result.Mpp is { } mpp ? $", {mpp:0.###} um/px" : "")}", mpp: m.Result.Mpp, tint: m.GradesChromogen);
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
        Cv2.DrawContours(bgr, contours, -1, OverlayCanvas.Colour(TissueOutline), 2, LineTypes.AntiAlias);
    }

    private static void DrawRegions(Mat bgr, TissueMask tissue, double scale)
    {
        if (tissue.Region is not { } region)
            return;
        foreach (var polygon in region.Included.Concat(region.Excluded))
            foreach (var ring in polygon.Rings)
            {
                var points = ring.Select(p => new Point(p.X * scale, p.Y * scale)).ToArray();
                Cv2.Polylines(bgr, [points], true, OverlayCanvas.Colour(RegionOutline), 2, LineTypes.AntiAlias);
            }
    }
}
