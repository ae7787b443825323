using HistoQuant.Study;

namespace HistoQuant.Study.Reports;

/// <summary>The study plots: paired dots before/after per patient, scatter against manual scores, Bland–Altman.</summary>
public static class StudyCharts
{
    public static void PairedDots(IReadOnlyList<PairRow> pairs, string pre, string post, string path)
    {
        var first = pairs[0];
        var values = pairs.SelectMany(p => new[] { p.Pre, p.Post }).ToList();
        var groups = pairs.Select(p => p.Group).Distinct().Order(StringComparer.Ordinal).ToList();
        using var chart = new Chart($"{first.Marker}: {first.Measure} (n = {pairs.Count} pairs)", "", first.Measure,
            (-0.3, 1.3), (values.Min(), values.Max()), [pre, post]);
        foreach (var p in pairs)
        {
            var colour = Chart.Palette[groups.IndexOf(p.Group) % Chart.Palette.Length];
            chart.Line(0, p.Pre, 1, p.Post, colour, 2);
            chart.Point(0, p.Pre, colour);
            chart.Point(1, p.Post, colour);
        }
        if (groups.Count > 1 || groups[0].Length > 0)
            chart.Legend(groups.Select((g, i) => (g.Length > 0 ? g : "(no group)", Chart.Palette[i % Chart.Palette.Length])).ToList());
        chart.Save(path);
    }

    public static void Scatter(IReadOnlyList<AgreementPoint> points, string path)
    {
        var first = points[0];
        double lo = points.Min(p => Math.Min(p.ManualValue, p.ToolValue)), hi = points.Max(p => Math.Max(p.ManualValue, p.ToolValue));
        using var chart = new Chart($"{first.Marker}: {first.Measure} vs manual {first.Manual} (n = {points.Count})", $"manual: {first.Manual}", $"tool: {first.Measure}", (lo, hi), (lo, hi));
        chart.Line(lo, lo, hi, hi, new OpenCvSharp.Scalar(150, 150, 150)); // identity: perfect agreement
        foreach (var p in points)
            chart.Point(p.ManualValue, p.ToolValue, Chart.Palette[0]);
        chart.Save(path);
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
        var all = y.Concat([ba.LoaLow, ba.LoaHigh, ba.Bias]).ToList();
        using var chart = new Chart($"Bland-Altman: {first.Marker} {first.Measure} (n = {used.Count})",
            log ? "geometric mean of manual and tool" : "mean of manual and tool", log ? "ratio tool / manual" : "difference tool - manual",
            (x.Min(), x.Max()), (all.Min(), all.Max()));
        var red = new OpenCvSharp.Scalar(40, 39, 214);
        chart.HorizontalLine(ba.Bias, Chart.Ink, $"bias {ba.Bias:0.###}");
        chart.HorizontalLine(ba.LoaLow, red, $"-1.96 SD {ba.LoaLow:0.###}");
        chart.HorizontalLine(ba.LoaHigh, red, $"+1.96 SD {ba.LoaHigh:0.###}");
        for (int i = 0; i < used.Count; i++)
            chart.Point(x[i], y[i], Chart.Palette[0]);
        chart.Save(path);
    }
}
