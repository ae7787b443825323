using HistoQuant.Pipeline;

namespace HistoQuant.Study;

/// <summary>One slide's staining as the stain check saw it, with how far it sits from its marker's cohort.</summary>
public sealed record QcSlide(
    string Slide, string Marker, string Patient, string Timepoint, string StainCheck,
    double? ChromogenAngle, double? CounterstainAngle, double[]? Glass, double? ChromogenP90, double? CounterstainMedian,
    double? ChromogenZ, double? CounterstainZ, double? GlassZ, IReadOnlyList<string> Flags);

/// <summary>A pre/post pair of one patient and marker, and how much their staining differs.</summary>
public sealed record QcPair(string Patient, string Marker, string PreSlide, string PostSlide, double? ChromogenRatio, double? CounterstainRatio, IReadOnlyList<string> Flags);

public sealed record StainQcReport(List<QcSlide> Slides, List<QcPair> Pairs, List<string> Notes);

/// <summary>
/// Cohort stain QC from results.json rows: stain runs drift, and a weaker DAB run between a patient's pre and post
/// biopsies looks like a treatment effect. Per marker, each slide's chromogen intensity (90th percentile of the
/// chromogen OD over positive pixels), counterstain intensity (median counterstain OD of tissue) and glass colour
/// are compared with the cohort's by a robust z-score (0.6745·(x − median)/MAD; |z| > 3.5 is an outlier, after
/// Iglewicz and Hoaglin), intensities on the log scale. Pre/post pairs whose intensities differ by more than the
/// tolerance (ratio outside 0.8–1.25) are flagged.
/// </summary>
public static class StainQc
{
    public const double OutlierZ = 3.5;
    public const double MinRatio = 0.8, MaxRatio = 1.25;
    /// <summary>Fewer slides of a marker than this: no cohort z-scores (a median and MAD of 4 values mean little).</summary>
    public const int MinSlidesForZ = 5;

    public static StainQcReport Compute(IReadOnlyList<SlideResult> rows, string? pre = null, string? post = null)
    {
        var notes = new List<string>();
        var ok = rows.Where(r => r.Status == SlideResult.Ok).ToList();
        var slides = new List<QcSlide>();
        foreach (var marker in ok.GroupBy(r => r.Marker))
        {
            var list = marker.ToList();
            bool cohort = list.Count >= MinSlidesForZ;
            if (!cohort)
                notes.Add($"{marker.Key}: {list.Count} slide(s), too few for cohort z-scores (at least {MinSlidesForZ})");
            var chromogenZ = Z(list.Select(r => Log(r.Details?.PositiveChromogenOdP90)).ToList());
            var counterZ = Z(list.Select(r => Log(r.Details?.CounterstainOdMedian)).ToList());
            var glassZ = Enumerable.Range(0, 3).Select(c => Z(list.Select(r => r.Details?.GlassRgb is { Length: 3 } g ? g[c] : (double?)null).ToList())).ToList();
            for (int i = 0; i < list.Count; i++)
            {
                var r = list[i];
                var flags = new List<string>();
                if (r.StainCheck == "mismatch")
                    flags.Add("stain check: mismatch");
                double? gz = glassZ.Select(z => z[i]).Where(z => z is not null).Select(z => (double?)Math.Abs(z!.Value)).DefaultIfEmpty(null).Max();
                if (cohort)
                {
                    if (chromogenZ[i] is { } cz && Math.Abs(cz) > OutlierZ)
                        flags.Add($"chromogen intensity far from the cohort (z {cz:0.0})");
                    if (counterZ[i] is { } hz && Math.Abs(hz) > OutlierZ)
                        flags.Add($"counterstain intensity far from the cohort (z {hz:0.0})");
                    if (gz is > OutlierZ)
                        flags.Add($"glass colour far from the cohort (z {gz:0.0})");
                }
                var d = r.Details;
                slides.Add(new QcSlide(r.Slide, r.Marker, Column(r, "patient"), Column(r, "timepoint"), r.StainCheck,
                    d?.ChromogenAngleDegrees, d?.CounterstainAngleDegrees, d?.GlassRgb, d?.PositiveChromogenOdP90, d?.CounterstainOdMedian,
                    cohort ? chromogenZ[i] : null, cohort ? counterZ[i] : null, cohort ? gz : null, flags));
            }
        }

        var pairs = new List<QcPair>();
        if (pre is not null && post is not null)
            foreach (var g in slides.Where(s => s.Patient.Length > 0).GroupBy(s => (s.Patient, s.Marker)))
            {
                var a = g.FirstOrDefault(s => s.Timepoint.Equals(pre, StringComparison.OrdinalIgnoreCase));
                var b = g.FirstOrDefault(s => s.Timepoint.Equals(post, StringComparison.OrdinalIgnoreCase));
                if (a is null || b is null)
                    continue;
                double? chromogen = Ratio(b.ChromogenP90, a.ChromogenP90), counter = Ratio(b.CounterstainMedian, a.CounterstainMedian);
                var flags = new List<string>();
                if (chromogen is { } c && c is < MinRatio or > MaxRatio)
                    flags.Add($"chromogen intensity {post}/{pre} {c:0.00} (tolerance {MinRatio}–{MaxRatio}): stain drift between the runs, or a real change in staining intensity");
                if (counter is { } h && h is < MinRatio or > MaxRatio)
                    flags.Add($"counterstain intensity {post}/{pre} {h:0.00} (tolerance {MinRatio}–{MaxRatio})");
                pairs.Add(new QcPair(g.Key.Patient, g.Key.Marker, a.Slide, b.Slide, chromogen, counter, flags));
            }
        return new StainQcReport(slides, pairs, notes);
    }

    private static string Column(SlideResult r, string name) =>
        r.Manifest?.FirstOrDefault(p => p.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value ?? "";

    private static double? Log(double? v) => v is > 0 ? Math.Log(v.Value) : null;

    private static double? Ratio(double? post, double? pre) => post is { } b && pre is > 0 ? Math.Round(b / pre.Value, 3) : null;

    /// <summary>Robust z-scores; null where the value is missing; 0 for everyone when the MAD is 0 and the value is the median.</summary>
    internal static List<double?> Z(IReadOnlyList<double?> values)
    {
        var present = values.Where(v => v is not null).Select(v => v!.Value).Order().ToList();
        if (present.Count == 0)
            return values.Select(_ => (double?)null).ToList();
        double median = Median(present);
        double mad = Median(present.Select(v => Math.Abs(v - median)).Order().ToList());
        return values.Select(v => v is not { } x ? (double?)null
            : mad > 0 ? Math.Round(0.6745 * (x - median) / mad, 2)
            : x == median ? 0 : (double?)Math.Round(Math.Sign(x - median) * 99.0, 2)).ToList();
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
