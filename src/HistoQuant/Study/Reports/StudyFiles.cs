using System.Globalization;
using System.Net;
using System.Text;
using HistoQuant.Study;
using HistoQuant.Study.Stats;
using HistoQuant.Common;
using HistoQuant.Output;

namespace HistoQuant.Study.Reports;

/// <summary>
/// Writes what `compare` and `validate` found: CSV tables (one row per marker and measure), PNG plots and
/// a self-contained report.html that links them. Every file is written atomically.
/// </summary>
public static class StudyFiles
{
    public static void WriteComparison(Comparison c, string pre, string post, string? groupColumn, string folder, IReadOnlyList<string> inputs)
    {
        Directory.CreateDirectory(folder);
        var pairs = new CsvBuilder(["patient", "marker", "group", "measure", "pre", "post", "change", "pct_change", "pre_slide", "post_slide"]);
        foreach (var p in c.Pairs)
            pairs.Row(Csv(p.Patient), Csv(p.Marker), Csv(p.Group), p.Measure, N(p.Pre), N(p.Post), N(p.Change), N(p.PctChange), Csv(p.PreSlide), Csv(p.PostSlide));
        ResultsWriter.WriteAtomically(Path.Combine(folder, "pairs.csv"), pairs.ToString());

        bool groups = c.Summary.Any(s => s.Groups is not null);
        var summary = new CsvBuilder(["marker", "measure", "n_pairs", "pre_median", "pre_min", "pre_max", "post_median", "post_min", "post_max", "median_change",
            "median_pct_change", "wilcoxon_w", "wilcoxon_p", "wilcoxon_q", "wilcoxon_method",
            .. groups ? new[] { "group_a", "group_b", "n_a", "n_b", "mannwhitney_u", "mannwhitney_p", "mannwhitney_q", "mannwhitney_baseline_p", "mannwhitney_method" } : []]);
        foreach (var s in c.Summary)
            summary.Row([Csv(s.Marker), s.Measure, I(s.NPairs), N(s.PreMedian), N(s.PreMin), N(s.PreMax), N(s.PostMedian), N(s.PostMin), N(s.PostMax),
                N(s.MedianChange), N(s.MedianPctChange), N(s.Wilcoxon?.Statistic), P(s.Wilcoxon?.P), P(s.WilcoxonQ), s.Wilcoxon?.Method ?? "",
                .. groups ? new[] { Csv(s.Groups?.GroupA ?? ""), Csv(s.Groups?.GroupB ?? ""), I(s.Groups?.NA), I(s.Groups?.NB),
                    N(s.Groups?.Change?.Statistic), P(s.Groups?.Change?.P), P(s.MannWhitneyQ), P(s.Groups?.Baseline?.P), s.Groups?.Change?.Method ?? "" } : []]);
        ResultsWriter.WriteAtomically(Path.Combine(folder, "summary.csv"), summary.ToString());

        if (c.Presence.Count > 0)
        {
            var presence = new CsvBuilder(["marker", "timepoint", "group_a", "present_a", "absent_a", "group_b", "present_b", "absent_b", "fisher_p"]);
            foreach (var r in c.Presence)
                presence.Row(Csv(r.Marker), Csv(r.Timepoint), Csv(r.GroupA), I(r.PresentA), I(r.AbsentA), Csv(r.GroupB), I(r.PresentB), I(r.AbsentB), P(r.FisherP));
            ResultsWriter.WriteAtomically(Path.Combine(folder, "presence.csv"), presence.ToString());
        }
        if (c.PresenceChanges.Count > 0)
        {
            var changes = new CsvBuilder(["marker", "n_pairs", "stayed_present", "present_to_absent", "absent_to_present", "stayed_absent", "mcnemar_p"]);
            foreach (var r in c.PresenceChanges)
                changes.Row(Csv(r.Marker), I(r.NPairs), I(r.StayedPresent), I(r.PresentToAbsent), I(r.AbsentToPresent), I(r.StayedAbsent), P(r.McNemarP));
            ResultsWriter.WriteAtomically(Path.Combine(folder, "presence_change.csv"), changes.ToString());
        }
        if (c.Clinical.Count > 0)
        {
            var clinical = new CsvBuilder(["marker", "measure", "clinical", "n", "spearman_rho", "spearman_p", "spearman_ci_low", "spearman_ci_high"]);
            foreach (var r in c.Clinical)
                clinical.Row(Csv(r.Marker), r.Measure, Csv(r.Clinical), I(r.Result.N), N(r.Result.Rho), P(r.Result.P), N(r.Result.CiLow), N(r.Result.CiHigh));
            ResultsWriter.WriteAtomically(Path.Combine(folder, "clinical.csv"), clinical.ToString());
        }

        var plots = new List<(string Title, string File)>();
        foreach (var g in c.Pairs.GroupBy(p => (p.Marker, p.Measure)))
        {
            string file = $"plots/{Safe(g.Key.Marker)}-{g.Key.Measure}.png";
            StudyCharts.PairedDots(g.ToList(), pre, post, Path.Combine(folder, file));
            plots.Add(($"{g.Key.Marker}: {StudyCharts.Label(g.Key.Measure)}", file));
        }

        var html = new Html($"HistoQuant: {pre} vs {post}");
        html.Paragraph($"Inputs: {string.Join(", ", inputs)}. Pairs by patient and marker, {pre} → {post}" + (groupColumn is null ? "." : $"; groups from column '{groupColumn}'."));
        html.Paragraph("Wilcoxon signed-rank on post − pre, two-sided (exact without ties or zeros for n ≤ 50, else normal approximation with tie correction). " +
            "Mann–Whitney U between the two groups, two-sided, on the baseline value and on the change (exact for a group of ≤ 8 without ties, else normal with tie and continuity corrections). " +
            "Fisher's exact test on present/absent calls. Spearman p exact for n ≤ 9 (all pairings of the ranks), else Student's t. q: Benjamini–Hochberg false discovery rate over all markers and measures of this report. " +
            $"Significant: q < {Alpha.ToString(CultureInfo.InvariantCulture)} (marked ✱).");
        html.Links([("pairs.csv", "per patient, marker and measure"), ("summary.csv", "this table, unrounded"),
            .. c.Presence.Count > 0 ? new[] { ("presence.csv", "present/absent by group") } : [],
            .. c.PresenceChanges.Count > 0 ? new[] { ("presence_change.csv", "present/absent changes") } : [],
            .. c.Clinical.Count > 0 ? new[] { ("clinical.csv", "changes against clinical variables") } : []]);
        foreach (var note in SmallGroupNotes(c))
            html.Paragraph(note);
        foreach (var marker in c.Summary.GroupBy(s => s.Marker))
        {
            html.Heading(marker.Key);
            html.Table(["measure", "pairs", $"{pre} median [range]", $"{post} median [range]", "median change", "Wilcoxon p", "q (Wilcoxon)",
                    .. groups ? new[] { "Mann–Whitney p, change", "q (Mann–Whitney)", "Mann–Whitney p, baseline" } : []],
                marker.Select(s => (IReadOnlyList<string>)[StudyCharts.Label(s.Measure), s.NPairs.ToString(CultureInfo.InvariantCulture),
                    $"{R(s.PreMedian)} [{R(s.PreMin)}–{R(s.PreMax)}]", $"{R(s.PostMedian)} [{R(s.PostMin)}–{R(s.PostMax)}]", R(s.MedianChange), Pr(s.Wilcoxon?.P), Q(s.WilcoxonQ),
                    .. groups ? new[] { Pr(s.Groups?.Change?.P), Q(s.MannWhitneyQ), Pr(s.Groups?.Baseline?.P) } : []]).ToList());
            if (groups && marker.First().Groups is { } g)
                html.Paragraph($"Groups: {g.GroupA} (n = {g.NA}) and {g.GroupB} (n = {g.NB}).");
        }
        html.Heading("Per patient");
        html.Table(["patient", "group", "marker", "measure", pre, post, "change"],
            c.Pairs.OrderBy(p => p.Marker, StringComparer.Ordinal).ThenBy(p => p.Measure, StringComparer.Ordinal).ThenBy(p => p.Patient, StringComparer.Ordinal)
                .Select(p => (IReadOnlyList<string>)[p.Patient, p.Group, p.Marker, StudyCharts.Label(p.Measure), R(p.Pre), R(p.Post), R(p.Post - p.Pre)]).ToList());
        if (c.Presence.Count > 0)
        {
            html.Heading("Present/absent calls");
            html.Table(["marker", "timepoint", "group A present/absent", "group B present/absent", "Fisher p"],
                c.Presence.Select(r => (IReadOnlyList<string>)[r.Marker, r.Timepoint, $"{r.GroupA}: {r.PresentA}/{r.AbsentA}", $"{r.GroupB}: {r.PresentB}/{r.AbsentB}", P(r.FisherP)]).ToList());
        }
        if (c.PresenceChanges.Count > 0)
        {
            html.Heading($"Present/absent calls, {pre} → {post} (McNemar's exact test)");
            html.Table(["marker", "pairs", "stayed present", "present → absent", "absent → present", "stayed absent", "McNemar p"],
                c.PresenceChanges.Select(r => (IReadOnlyList<string>)[r.Marker, r.NPairs.ToString(CultureInfo.InvariantCulture), r.StayedPresent.ToString(CultureInfo.InvariantCulture),
                    r.PresentToAbsent.ToString(CultureInfo.InvariantCulture), r.AbsentToPresent.ToString(CultureInfo.InvariantCulture), r.StayedAbsent.ToString(CultureInfo.InvariantCulture), P(r.McNemarP)]).ToList());
        }
        if (c.Clinical.Count > 0)
        {
            html.Heading("Change against clinical variables (Spearman)");
            html.Table(["marker", "measure", "clinical", "n", "ρ [95% CI]", "p"],
                c.Clinical.Select(r => (IReadOnlyList<string>)[r.Marker, StudyCharts.Label(r.Measure), r.Clinical, r.Result.N.ToString(CultureInfo.InvariantCulture),
                    r.Result.Rho is { } rho && double.IsFinite(rho) ? $"{R(rho)} [{R(r.Result.CiLow)}, {R(r.Result.CiHigh)}]" : "— (no variation)", Pr(r.Result.P)]).ToList());
        }
        html.Warnings(c.Warnings);
        html.Images(plots);
        ResultsWriter.WriteAtomically(Path.Combine(folder, "report.html"), html.ToString());
    }

    public static void WriteValidation(ValidationReport v, string folder, IReadOnlyList<string> inputs)
    {
        Directory.CreateDirectory(folder);
        var csv = new CsvBuilder(["marker", "measure", "manual", "n", "spearman_rho", "spearman_ci_low", "spearman_ci_high", "spearman_p", "icc_a1", "icc_c1", "ba_scale", "ba_bias", "ba_loa_low", "ba_loa_high", "lin_ccc", "weighted_kappa"]);
        foreach (var r in v.Rows)
            csv.Row(Csv(r.Marker), r.Measure, Csv(r.Manual), I(r.N), N(r.Spearman?.Rho), N(r.Spearman?.CiLow), N(r.Spearman?.CiHigh), P(r.Spearman?.P),
                N(r.IccA1), N(r.IccC1), r.BlandAltmanOnLogScale ? "ratio" : "difference", N(r.BlandAltman?.Bias), N(r.BlandAltman?.LoaLow), N(r.BlandAltman?.LoaHigh),
                N(r.LinCcc), N(r.WeightedKappa));
        ResultsWriter.WriteAtomically(Path.Combine(folder, "agreement.csv"), csv.ToString());

        var plots = new List<(string, string)>();
        foreach (var r in v.Rows)
        {
            var points = v.Points.Where(p => p.Marker == r.Marker && p.Measure == r.Measure && p.Manual == r.Manual).ToList();
            string stem = $"plots/{Safe(r.Marker)}-{r.Measure}-vs-{Safe(r.Manual)}";
            StudyCharts.Scatter(points, Path.Combine(folder, stem + "-scatter.png"));
            plots.Add(($"{r.Marker}: {StudyCharts.Label(r.Measure)} against {r.Manual}", stem + "-scatter.png"));
            StudyCharts.BlandAltman(points, r, Path.Combine(folder, stem + "-bland-altman.png"));
            if (File.Exists(Path.Combine(folder, stem + "-bland-altman.png")))
                plots.Add(($"Bland–Altman: {r.Marker} {StudyCharts.Label(r.Measure)}", stem + "-bland-altman.png"));
        }

        var html = new Html("HistoQuant: agreement with manual scores");
        html.Paragraph($"Inputs: {string.Join(", ", inputs)}. Differences are tool − manual" +
            (v.Rows.Any(r => r.BlandAltmanOnLogScale) ? "; Bland–Altman on the log scale, bias and limits shown as ratios tool / manual." : "."));
        html.Paragraph("Spearman ρ with a 95% CI (Fisher z, SE √(1.06/(n−3))) and p (exact for n ≤ 9, else Student's t); ICC(A,1) absolute agreement and ICC(C,1) consistency (two-way, McGraw & Wong); " +
            "Bland–Altman bias ± 1.96 SD; Lin's concordance correlation; quadratic-weighted Cohen's κ for grades.");
        html.Links([("agreement.csv", "this table, unrounded")]);
        html.Table(["marker", "measure", "manual", "n", "Spearman ρ [95% CI]", "p", "ICC(A,1)", "ICC(C,1)", "Bland–Altman bias [limits]", "Lin's CCC", "weighted κ"],
            v.Rows.Select(r => (IReadOnlyList<string>)[r.Marker, StudyCharts.Label(r.Measure), r.Manual, r.N.ToString(CultureInfo.InvariantCulture),
                r.Spearman is { } sp ? $"{R(sp.Rho)} [{R(sp.CiLow)}, {R(sp.CiHigh)}]" : "— (no variation)", Pr(r.Spearman?.P), R(r.IccA1), R(r.IccC1),
                r.BlandAltman is { } ba ? $"{R(ba.Bias)} [{R(ba.LoaLow)}, {R(ba.LoaHigh)}]{(r.BlandAltmanOnLogScale ? " (ratio)" : "")}" : "—", R(r.LinCcc), R(r.WeightedKappa)]).ToList());
        html.Warnings(v.Warnings);
        html.Images(plots);
        ResultsWriter.WriteAtomically(Path.Combine(folder, "report.html"), html.ToString());
    }

    public static void WriteStainQc(StainQcReport qc, string? pre, string? post, string folder, IReadOnlyList<string> inputs)
    {
        Directory.CreateDirectory(folder);
        var slides = new CsvBuilder(["slide", "marker", "patient", "timepoint", "stain_check", "chromogen_angle_degrees", "counterstain_angle_degrees",
            "glass_r", "glass_g", "glass_b", "positive_chromogen_od_p90", "counterstain_od_median", "chromogen_z", "counterstain_z", "glass_z", "flags"]);
        foreach (var s in qc.Slides)
            slides.Row(Csv(s.Slide), Csv(s.Marker), Csv(s.Patient), Csv(s.Timepoint), s.StainCheck, N(s.ChromogenAngle), N(s.CounterstainAngle),
                N(s.Glass?[0]), N(s.Glass?[1]), N(s.Glass?[2]), N(s.ChromogenP90), N(s.CounterstainMedian), N(s.ChromogenZ), N(s.CounterstainZ), N(s.GlassZ),
                Csv(string.Join("; ", s.Flags)));
        ResultsWriter.WriteAtomically(Path.Combine(folder, "qc.csv"), slides.ToString());
        var pairs = new CsvBuilder(["patient", "marker", "pre_slide", "post_slide", "chromogen_ratio", "counterstain_ratio", "flags"]);
        foreach (var p in qc.Pairs)
            pairs.Row(Csv(p.Patient), Csv(p.Marker), Csv(p.PreSlide), Csv(p.PostSlide), N(p.ChromogenRatio), N(p.CounterstainRatio), Csv(string.Join("; ", p.Flags)));
        if (qc.Pairs.Count > 0)
            ResultsWriter.WriteAtomically(Path.Combine(folder, "qc_pairs.csv"), pairs.ToString());

        var plots = new List<(string Title, string File)>();
        if (pre is not null && post is not null)
            foreach (var g in qc.Pairs.Where(p => p.ChromogenRatio is not null).GroupBy(p => p.Marker))
            {
                var rows = g.Select(p => new PairRow(p.Patient, p.Marker, "", "positive_chromogen_od_p90",
                    qc.Slides.First(s => s.Slide == p.PreSlide && s.Marker == p.Marker).ChromogenP90 ?? 0,
                    qc.Slides.First(s => s.Slide == p.PostSlide && s.Marker == p.Marker).ChromogenP90 ?? 0, p.PreSlide, p.PostSlide)).ToList();
                string file = $"plots/qc-{Safe(g.Key)}-chromogen.png";
                StudyCharts.PairedDots(rows, pre, post, Path.Combine(folder, file));
                plots.Add(($"{g.Key}: chromogen intensity (90th percentile OD of positive pixels), {pre} → {post}", file));
            }

        var html = new Html("HistoQuant: stain QC");
        html.Paragraph($"Inputs: {string.Join(", ", inputs)}. Per marker, each slide's chromogen intensity (90th percentile of the chromogen OD of " +
            $"positive pixels), counterstain intensity (median counterstain OD of tissue) and glass colour against the cohort's: robust z = 0.6745·(x − median)/MAD " +
            $"(intensities on the log scale), |z| > {StainQc.OutlierZ} flagged. Pre/post pairs flagged when an intensity ratio is outside {StainQc.MinRatio}–{StainQc.MaxRatio}. " +
            "To lock a study's stain vectors: `histoquant stains estimate` over the cohort's slides → one file → `quantify --stains FILE`.");
        html.Table(["slide", "marker", "patient", "timepoint", "stain check", "chromogen angle °", "chromogen OD p90", "z", "counterstain OD median", "z", "glass z", "flags"],
            qc.Slides.Select(s => (IReadOnlyList<string>)[s.Slide, s.Marker, s.Patient, s.Timepoint, s.StainCheck, N(s.ChromogenAngle), N(s.ChromogenP90), N(s.ChromogenZ),
                N(s.CounterstainMedian), N(s.CounterstainZ), N(s.GlassZ), string.Join("; ", s.Flags)]).ToList());
        if (qc.Pairs.Count > 0)
        {
            html.Heading($"Pairs, {pre} → {post}");
            html.Table(["patient", "marker", "chromogen ratio", "counterstain ratio", "flags"],
                qc.Pairs.Select(p => (IReadOnlyList<string>)[p.Patient, p.Marker, N(p.ChromogenRatio), N(p.CounterstainRatio), string.Join("; ", p.Flags)]).ToList());
        }
        html.Warnings(qc.Notes);
        html.Images(plots);
        ResultsWriter.WriteAtomically(Path.Combine(folder, "qc.html"), html.ToString());
    }

    private static string Csv(string s) => CsvBuilder.Text(s);

    private static string I(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "";
    /// <summary>The significance level the reports mark q values against.</summary>
    public const double Alpha = 0.05;

    /// <summary>Three significant digits: a table to read, not the CSV's full precision.</summary>
    private static string R(double? v) => v is not { } x || !double.IsFinite(x) ? "—"
        : x == 0 ? "0" : Math.Round(x, Math.Clamp(2 - (int)Math.Floor(Math.Log10(Math.Abs(x))), 0, 6)).ToString("0.######", CultureInfo.InvariantCulture);

    private static string Pr(double? v) => v is not { } x || !double.IsFinite(x) ? "—" : x < 0.001 ? "< 0.001" : x.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Q(double? v) => Pr(v) + (v is { } q && q < Alpha ? " ✱" : "");

    /// <summary>
    /// With few patients an exact two-sided Mann–Whitney p cannot be small: its least value is 2 / C(nA + nB, nA)
    /// (0.1 for 3 vs 3). Say so where that floor is above alpha, so that "not significant" is read correctly.
    /// </summary>
    internal static IEnumerable<string> SmallGroupNotes(Comparison c)
    {
        foreach (var g in c.Summary.Where(s => s.Groups is not null).Select(s => s.Groups!).DistinctBy(g => (g.NA, g.NB)))
        {
            double floor = Math.Min(1, 2 / Binomial(g.NA + g.NB, g.NA));
            if (floor >= Alpha)
                yield return $"With {g.NA} vs {g.NB} patients the exact two-sided Mann–Whitney p cannot go below {floor.ToString("0.###", CultureInfo.InvariantCulture)}: " +
                    $"no group difference can reach p < {Alpha.ToString(CultureInfo.InvariantCulture)} whatever the data (with ties the normal approximation is used, and its smaller p values are not reliable at this size).";
        }
    }

    private static double Binomial(int n, int k)
    {
        double r = 1;
        for (int i = 1; i <= k; i++)
            r = r * (n - k + i) / i;
        return r;
    }

    private static string N(double? v) => v is { } x && double.IsFinite(x) ? x.ToString("0.####", CultureInfo.InvariantCulture) : "";
    private static string P(double? v) => v is { } x && double.IsFinite(x) ? x.ToString(x < 1e-4 ? "0.###e+0" : "0.#####", CultureInfo.InvariantCulture) : "";
    private static string Safe(string s) => new(s.Select(ch => char.IsLetterOrDigit(ch) || ch is '-' or '_' ? ch : '_').ToArray());

    /// <summary>A plain, self-contained HTML page: headings, tables, images, all text escaped.</summary>
    private sealed class Html
    {
        private readonly StringBuilder _body = new();
        private readonly string _title;

        public Html(string title)
        {
            _title = title;
            _body.Append("<h1>").Append(E(title)).Append("</h1>\n");
        }

        public void Heading(string text) => _body.Append("<h2>").Append(E(text)).Append("</h2>\n");
        public void Paragraph(string text) => _body.Append("<p>").Append(E(text)).Append("</p>\n");

        public void Table(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
        {
            _body.Append("<table>\n<tr>");
            foreach (var h in header)
                _body.Append("<th>").Append(E(h)).Append("</th>");
            _body.Append("</tr>\n");
            foreach (var row in rows)
            {
                _body.Append("<tr>");
                foreach (var cell in row)
                    _body.Append("<td>").Append(E(cell)).Append("</td>");
                _body.Append("</tr>\n");
            }
            _body.Append("</table>\n");
        }

        /// <summary>Links to the files beside the report (relative, so the folder can be moved or zipped).</summary>
        public void Links(IReadOnlyList<(string File, string What)> files)
        {
            _body.Append("<p>Files: ");
            _body.Append(string.Join(", ", files.Select(f => $"<a href=\"{E(f.File)}\">{E(f.File)}</a> ({E(f.What)})")));
            _body.Append("</p>\n");
        }

        public void Warnings(IReadOnlyList<string> warnings)
        {
            if (warnings.Count == 0)
                return;
            Heading("Notes");
            _body.Append("<ul>\n");
            foreach (var w in warnings)
                _body.Append("<li>").Append(E(w)).Append("</li>\n");
            _body.Append("</ul>\n");
        }

        public void Images(IReadOnlyList<(string Title, string File)> images)
        {
            if (images.Count == 0)
                return;
            Heading("Plots");
            foreach (var (title, file) in images)
                _body.Append("<figure><img src=\"").Append(E(file)).Append("\" alt=\"").Append(E(title)).Append("\"><figcaption>").Append(E(title)).Append("</figcaption></figure>\n");
        }

        private static string E(string s) => WebUtility.HtmlEncode(s);

        public override string ToString() =>
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + E(_title) + "</title>\n<style>" +
            "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}" +
            "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}figure{display:inline-block;margin:8px}" +
            "img{max-width:560px}</style></head><body>\n" + _body + "<p><small>Made by HistoQuant " + E(typeof(StudyFiles).Assembly.GetName().Version?.ToString() ?? "") +
            "</small></p>\n</body></html>\n";
    }
}
