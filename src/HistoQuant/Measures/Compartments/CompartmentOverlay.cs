using OpenCvSharp;

namespace HistoQuant.Measures.Compartments;

/// <summary>Compartments on the QC overlay: perimysium and perivascular zones tinted, fascicle borders, vessel lumina,
/// perifascicular fibres filled faintly.</summary>
internal static class CompartmentOverlay
{
    public static void Draw(OverlayCanvas canvas, CompartmentResult r, int[] fascicle, int[] perimysium, int[] perivascular, int[] vessel, int[] perifascicular)
    {
        var bgr = canvas.Bgr;
        Point[] Poly(IEnumerable<(double X, double Y)> points) => points.Select(p => canvas.At(p.X, p.Y)).ToArray();
        var fascicles = r.FascicleOutlines.Select(f => Poly(f.Outline)).ToArray();
        // Perimysium: tissue outside the fascicles, i.e. the whole image tinted, then the fascicles restored.
        using (var tint = bgr.Clone())
        using (var outside = new Mat(bgr.Size(), MatType.CV_8UC1, Scalar.All(255)))
        {
            tint.SetTo(OverlayCanvas.Colour(perimysium));
            Cv2.FillPoly(outside, fascicles, Scalar.All(0));
            using var blend = new Mat();
            Cv2.AddWeighted(bgr, 0.75, tint, 0.25, 0, blend);
            blend.CopyTo(bgr, outside);
        }
        using (var layer = bgr.Clone())
        {
            foreach (var d in r.Fibres.Where(d => d.Depth <= r.Layers && d.Fibre.Outline is { Count: >= 3 }))
                Cv2.FillPoly(layer, [Poly(d.Fibre.Outline!)], OverlayCanvas.Colour(perifascicular));
            foreach (var z in r.PerivascularOutlines)
                Cv2.FillPoly(layer, [Poly(z)], OverlayCanvas.Colour(perivascular));
            Cv2.AddWeighted(bgr, 0.7, layer, 0.3, 0, bgr);
        }
        int thick = Math.Max(2, canvas.MarkRadius / 2);
        Cv2.Polylines(bgr, fascicles, true, OverlayCanvas.Colour(fascicle), thick, LineTypes.AntiAlias);
        foreach (var v in r.Vessels)
            Cv2.Polylines(bgr, [Poly(v.Outline)], true, OverlayCanvas.Colour(vessel), thick, LineTypes.AntiAlias);
    }
}
