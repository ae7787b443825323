using HistoQuant.Study.Stats;

namespace HistoQuant.Study;

/// <summary>One slide's manual score and the tool's value of the measure it is compared with.</summary>
public sealed record AgreementPoint(string Slide, string Marker, string Measure, string Manual, double ManualValue, double ToolValue);

/// <summary>Agreement of one manual score with one tool measure, for one marker.</summary>
public sealed record AgreementRow(string Marker, string Measure, string Manual, int N, SpearmanResult? Spearman,
    double? IccA1, double? IccC1, BlandAltmanResult? BlandAltman, bool BlandAltmanOnLogScale, double? LinCcc, double? WeightedKappa, int LeftOutForLog);

public sealed record ValidationReport(List<AgreementRow> Rows, List<AgreementPoint> Points, List<string> Warnings);

/// <summary>
/// Joins the tool's results to a pathologist's manual scores by slide (and marker, when the manual file has a
/// marker column) and measures agreement per marker and compared measure: Spearman ρ with a 95% CI,
/// ICC(A,1) and ICC(C,1), Bland–Altman bias and limits of agreement (tool − manual; on the log scale as
/// ratios when asked), Lin's concordance, and for ordinal grades the quadratic-weighted Cohen's κ.
/// </summary>
public static class Validation
{
    /// <summary>
    /// Which manual columns to compare with which tool measures: explicit "manual=tool" pairs, or else every
    /// manual column named like a tool measure, or like one with a "manual_" prefix.
    /// </summary>
    public static List<(string Manual, string Tool)> Pairings(CsvTable manual, IReadOnlyList<string> explicitPairs)
    {
        var known = StudyMeasures.Numeric.Concat(StudyMeasures.Ordinal).Distinct().ToArray();
        var pairs = new List<(string, string)>();
        foreach (var text in explicitPairs)
        {
            var parts = text.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0)
                throw new FormatException($"--compare '{text}': expected MANUAL_COLUMN=TOOL_MEASURE");
            if (!manual.Has(parts[0]))
                throw new FormatException($"{manual.Path}: no column '{parts[0]}' ({string.Join(", ", manual.Columns)})");
            if (!known.Contains(parts[1]))
                throw new FormatException($"--compare '{text}': '{parts[1]}' is not a tool measure ({string.Join(", ", known)})");
            pairs.Add((parts[0], parts[1]));
        }
        if (pairs.Count > 0)
            return pairs;
        foreach (var column in manual.Columns)
        {
            string tool = column.StartsWith("manual_", StringComparison.OrdinalIgnoreCase) ? column["manual_".Length..] : column;
            if (known.Contains(tool, StringComparer.OrdinalIgnoreCase))
                pairs.Add((column, known.First(k => k.Equals(tool, StringComparison.OrdinalIgnoreCase))));
        }
        if (pairs.Count == 0)
            throw new FormatException($"{manual.Path}: no column to compare: name one like a tool measure ({string.Join(", ", known)}), " +
                "optionally with a 'manual_' prefix, or pass --compare MANUAL_COLUMN=TOOL_MEASURE");
        return pairs;
    }

    public static ValidationReport Validate(CsvTable results, CsvTable manual, IReadOnlyList<(string Manual, string Tool)> pairings, bool blandAltmanLog = false)
    {
        if (!manual.Has("slide"))
            throw new FormatException($"{manual.Path}: no 'slide' column");
        var warnings = new List<string>();
        bool byMarker = manual.Has("marker");
        var ok = results.Rows.Where(r => r["status"] is "ok" or "").ToList();
        var points = new List<AgreementPoint>();
        foreach (var m in manual.Rows)
        {
            var matches = ok.Where(r => SameSlide(r["slide"], m["slide"]) && (!byMarker || r["marker"].Equals(m["marker"], StringComparison.OrdinalIgnoreCase))).ToList();
            if (matches.Count == 0)
            {
                warnings.Add($"{manual.Path}:{m.Line}: no measured result for slide '{m["slide"]}'{(byMarker ? $" and marker '{m["marker"]}'" : "")}");
                continue;
            }
            if (matches.Count > 1)
            {
                warnings.Add($"{manual.Path}:{m.Line}: slide '{m["slide"]}' matches {matches.Count} results (add a marker column)");
                continue;
            }
            var r = matches[0];
            foreach (var (manualColumn, tool) in pairings)
            {
                double? manualValue = tool == "present" ? YesNo(m[manualColumn]) : m.Number(manualColumn);
                if (manualValue is { } mv && StudyMeasures.Value(r, tool) is { } tv)
                    points.Add(new AgreementPoint(r["slide"], r["marker"], tool, manualColumn, mv, tv));
            }
        }

        var rows = new List<AgreementRow>();
        foreach (var g in points.GroupBy(p => (p.Marker, p.Measure, p.Manual)).OrderBy(g => g.Key.Marker, StringComparer.Ordinal).ThenBy(g => g.Key.Measure, StringComparer.Ordinal))
        {
            var list = g.ToList();
            var manualValues = list.Select(p => p.ManualValue).ToList();
            var toolValues = list.Select(p => p.ToolValue).ToList();
            var icc = Agreement.Icc(list.Select(p => new[] { p.ManualValue, p.ToolValue }).ToList());
            BlandAltmanResult? ba;
            int leftOut = 0;
            if (blandAltmanLog)
            {
                var positive = list.Where(p => p.ManualValue > 0 && p.ToolValue > 0).ToList();
                leftOut = list.Count - positive.Count;
                // On the log scale the bias and limits are ratios tool / manual once transformed back.
                ba = Agreement.BlandAltman(positive.Select(p => Math.Log(p.ManualValue)).ToList(), positive.Select(p => Math.Log(p.ToolValue)).ToList()) is { } b
                    ? b with { Bias = Math.Exp(b.Bias), LoaLow = Math.Exp(b.LoaLow), LoaHigh = Math.Exp(b.LoaHigh) } : null;
            }
            else
                ba = Agreement.BlandAltman(manualValues, toolValues);
            double? kappa = StudyMeasures.Ordinal.Contains(g.Key.Measure) && list.All(p => IsInteger(p.ManualValue) && IsInteger(p.ToolValue))
                ? Agreement.QuadraticWeightedKappa(list.Select(p => (int)p.ManualValue).ToList(), list.Select(p => (int)p.ToolValue).ToList())
                : null;
            rows.Add(new AgreementRow(g.Key.Marker, g.Key.Measure, g.Key.Manual, list.Count, Spearman.Compute(manualValues, toolValues),
                icc?.A1, icc?.C1, ba, blandAltmanLog, Agreement.LinCcc(manualValues, toolValues), kappa, leftOut));
        }
        if (rows.Count == 0)
            warnings.Add("no slide had both a manual score and a measured value");
        return new ValidationReport(rows, points, warnings);
    }

    private static double? YesNo(string text) => text.ToLowerInvariant() switch { "yes" or "present" or "1" => 1, "no" or "absent" or "0" => 0, _ => null };

    private static bool IsInteger(double v) => Math.Abs(v - Math.Round(v)) < 1e-9;

    /// <summary>Same path as given, or else the same file name (case-insensitive): manual sheets rarely carry full paths.</summary>
    private static bool SameSlide(string result, string manual) =>
        result.Equals(manual, StringComparison.Ordinal)
        || Path.GetFileName(result).Equals(Path.GetFileName(manual), StringComparison.OrdinalIgnoreCase)
        || Path.GetFileNameWithoutExtension(StripOme(result)).Equals(manual, StringComparison.OrdinalIgnoreCase);

    private static string StripOme(string path) => path.EndsWith(".ome.tif", StringComparison.OrdinalIgnoreCase) ? path[..^8] + ".tif" : path;
}
