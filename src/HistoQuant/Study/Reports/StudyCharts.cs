using System.Globalization;
using ScottPlot;

namespace HistoQuant.Study.Reports;

/// <summary>
/// The study plots, drawn with ScottPlot: paired dots before/after per patient, scatter against manual scores,
/// Bland–Altman. Axis titles carry units, legends sit outside the data, integer grades are jittered so that
/// equal pairs stay visible.
/// </summary>
public static class StudyCharts
{
    private const int Width = 720, Height = 480;

    private static readonly Color[] Palette =
        [Color.FromHex("#1f77b4"), Color.FromHex("#d62728"), Color.FromHex("#2ca02c"), Color.FromHex("#9467bd"), Color.FromHex("#ff7f0e"), Color.FromHex("#8c564b")];

    /// <summary>A results column as an axis title with its unit: positive_cells_per_mm2 → "positive cells per mm²".</summary>
    public static string Label(string measure)
    {
        string unit = "";
        string name = measure;
        foreach (var (suffix, u) in new[] { ("_per_mm2", " per mm²"), ("_pct", " (%)"), ("_mm2", " (mm²)"), ("_um2", " (µm²)"), ("_um", " (µm)"), ("_od", " (OD)") })
            if (name.EndsWith(suffix, StringComparison.Ordinal))
            {
                name = name[..^suffix.Length];
                unit = u;
                break;
            }
            // A unit followed by one qualifier (positive_cells_per_mm2_endomysial): the unit still goes last.
            else if (name.LastIndexOf(suffix + "_", StringComparison.Ordinal) is int at and >= 0 && name.IndexOf('_', at + suffix.Length + 1) < 0)
            {
                name = name[..at] + "_" + name[(at + suffix.Length + 1)..];
                unit = u;
                break;
            }
        return name.Replace('_', ' ') + unit;
    }

    /// <summary>
    /// Offsets that spread points sharing a value (integer grades): the k-th of n equal points moves by up to
    /// ±<paramref name="spread"/>, deterministically, so a plot is the same on every run.
    /// </summary>
    internal static double[] Jitter(IReadOnlyList<double> values, double spread)
    {
        var offsets = new double[values.Count];
        foreach (var group in values.Select((v, i) => (v, i)).GroupBy(p => p.v))
        {
            var members = group.ToList();
            if (members.Count < 2)
                continue;
            for (int k = 0; k < members.Count; k++)
                offsets[members[k].i] = spread * (2.0 * k / (members.Count - 1) - 1);
        }
        return offsets;
    }

    private static bool AllIntegers(IEnumerable<double> values) => values.All(v => v == Math.Round(v));

    private static Plot NewPlot(string title, string x, string y)
    {
        var plot = new Plot();
        plot.Title(title, 14);
        plot.XLabel(x, 13);
        plot.YLabel(y, 13);
        return plot;
    }

    /// <summary>Grades are whole numbers: ticks at every grade, none between.</summary>
    private static void WholeTicks(IAxis axis) => axis.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);

    private static void Save(Plot plot, string path)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir)
            Directory.CreateDirectory(dir);
        plot.SavePng(path, Width, Height);
    }

    public static void PairedDots(IReadOnlyList<PairRow> pairs, string pre, string post, string path)
    {
        var first = pairs[0];
        var groups = pairs.Select(p => p.Group).Distinct().Order(StringComparer.Ordinal).ToList();
        var plot = NewPlot($"{first.Marker}: {Label(first.Measure)} (n = {pairs.Count} pairs)", "", Label(first.Measure));
        bool grades = AllIntegers(pairs.SelectMany(p => new[] { p.Pre, p.Post }));
        var jitter = grades ? Jitter(pairs.Select(p => p.Pre * 1000 + p.Post).ToList(), 0.08) : new double[pairs.Count];
        var labelled = new HashSet<string>();
        for (int i = 0; i < pairs.Count; i++)
        {
            var p = pairs[i];
            var colour = Palette[groups.IndexOf(p.Group) % Palette.Length];
            var line = plot.Add.Scatter(new[] { 0 + jitter[i], 1 + jitter[i] }, new[] { p.Pre, p.Post }, colour);
            line.LineWidth = 2;
            line.MarkerSize = 8;
            if ((groups.Count > 1 || groups[0].Length > 0) && labelled.Add(p.Group))
                line.LegendText = p.Group.Length > 0 ? p.Group : "(no group)";
        }
        plot.Axes.Bottom.SetTicks([0, 1], [pre, post]);
        if (grades)
            WholeTicks(plot.Axes.Left);
        plot.Axes.SetLimitsX(-0.4, 1.4);
        if (labelled.Count > 0)
            plot.ShowLegend(Edge.Right);
        Save(plot, path);
    }

    public static void Scatter(IReadOnlyList<AgreementPoint> points, string path)
    {
        var first = points[0];
        double lo = points.Min(p => Math.Min(p.ManualValue, p.ToolValue)), hi = points.Max(p => Math.Max(p.ManualValue, p.ToolValue));
        var plot = NewPlot($"{first.Marker}: {Label(first.Measure)} against manual {Label(first.Manual)} (n = {points.Count})",
            $"manual: {Label(first.Manual)}", $"tool: {Label(first.Measure)}");
        var identity = plot.Add.Line(lo, lo, hi, hi);
        identity.Color = Colors.Gray;
        identity.LinePattern = LinePattern.Dashed;
        identity.LegendText = "perfect agreement";
        bool grades = AllIntegers(points.SelectMany(p => new[] { p.ManualValue, p.ToolValue }));
        var jx = grades ? Jitter(points.Select(p => p.ManualValue * 1000 + p.ToolValue).ToList(), 0.15) : new double[points.Count];
        var dots = plot.Add.ScatterPoints(points.Select((p, i) => p.ManualValue + jx[i]).ToArray(), points.Select((p, i) => p.ToolValue + jx[i] * 0.5).ToArray(), Palette[0]);
        dots.MarkerSize = 8;
        dots.LegendText = grades ? "slides (jittered: equal grades)" : "slides";
        if (grades)
        {
            WholeTicks(plot.Axes.Bottom);
            WholeTicks(plot.Axes.Left);
        }
        plot.ShowLegend(Edge.Right);
        Save(plot, path);
    }

    public static void BlandAltman(IReadOnlyList<AgreementPoint> points, AgreementRow row, string path)
    {
        var first = points[0];
        bool log = row.BlandAltmanOnLogScale;
        var used = points.Where(p => !log || (p.ManualValue > 0 && p.ToolValue > 0)).ToList();
        if (used.Count < 2 || row.BlandAltman is not { } ba)
            return;
        var x = used.Select(p => log ? Math.Sqrt(p.ManualValue * p.ToolValue) : (p.ManualValue + p.ToolValue) / 2).ToList();
        var y = used.Select(p => log ? p.ToolValue / p.ManualValue : p.ToolValue - p.ManualValue).ToList();
        string measure = Label(first.Measure);
        var plot = NewPlot($"Bland–Altman: {first.Marker} {measure} (n = {used.Count})",
            log ? $"geometric mean of manual and tool: {measure}" : $"mean of manual and tool: {measure}",
            log ? "ratio tool / manual" : $"difference tool − manual: {measure}");
        var jx = AllIntegers(x.Concat(y)) ? Jitter(x.Zip(y, (a, b) => a * 1000 + b).ToList(), 0.12) : new double[x.Count];
        var dots = plot.Add.ScatterPoints(x.Select((v, i) => v + jx[i]).ToArray(), y.ToArray(), Palette[0]);
        dots.MarkerSize = 8;
        dots.LegendText = "slides";
        string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        var bias = plot.Add.HorizontalLine(ba.Bias, 2, Colors.Black);
        bias.LegendText = $"bias {F(ba.Bias)}";
        var low = plot.Add.HorizontalLine(ba.LoaLow, 1.5f, Palette[1], LinePattern.Dashed);
        low.LegendText = $"−1.96 SD {F(ba.LoaLow)}";
        var high = plot.Add.HorizontalLine(ba.LoaHigh, 1.5f, Palette[1], LinePattern.Dashed);
        high.LegendText = $"+1.96 SD {F(ba.LoaHigh)}";
        plot.ShowLegend(Edge.Right);
        Save(plot, path);
    }
}
