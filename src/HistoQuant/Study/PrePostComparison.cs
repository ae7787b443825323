using HistoQuant.Study.Stats;

namespace HistoQuant.Study;

/// <summary>One patient's pre and post values of one measure for one marker.</summary>
public sealed record PairRow(string Patient, string Marker, string Group, string Measure, double Pre, double Post, string PreSlide, string PostSlide)
{
    public double Change => Post - Pre;
    public double? PctChange => Pre != 0 ? 100 * (Post - Pre) / Pre : null;
}

/// <summary>Mann–Whitney U between the two groups, on the baseline value and on the change.</summary>
public sealed record GroupTest(string GroupA, string GroupB, int NA, int NB, TestResult? Baseline, TestResult? Change);

/// <summary>Per marker and measure: the pairs' medians and ranges, the paired test, and the group test.</summary>
public sealed record SummaryRow(string Marker, string Measure, int NPairs,
    double PreMedian, double PreMin, double PreMax, double PostMedian, double PostMin, double PostMax,
    double MedianChange, double? MedianPctChange, TestResult? Wilcoxon, GroupTest? Groups)
{
    /// <summary>Benjamini–Hochberg q of the Wilcoxon p over every marker and measure of the comparison.</summary>
    public double? WilcoxonQ { get; init; }
    /// <summary>Benjamini–Hochberg q of the Mann–Whitney p on the change, over every marker and measure.</summary>
    public double? MannWhitneyQ { get; init; }
}

/// <summary>Present/absent calls by group at one timepoint, with Fisher's exact test.</summary>
public sealed record PresenceRow(string Marker, string Timepoint, string GroupA, int PresentA, int AbsentA, string GroupB, int PresentB, int AbsentB, double FisherP);

/// <summary>Within-patient change of the present/absent call between the two timepoints, with McNemar's exact test.</summary>
public sealed record PresenceChangeRow(string Marker, int NPairs, int StayedPresent, int PresentToAbsent, int AbsentToPresent, int StayedAbsent, double McNemarP);

/// <summary>Spearman's ρ between the change of a measure and a clinical variable, over patients.</summary>
public sealed record ClinicalRow(string Marker, string Measure, string Clinical, SpearmanResult Result);

public sealed record Comparison(List<PairRow> Pairs, List<SummaryRow> Summary, List<PresenceRow> Presence, List<ClinicalRow> Clinical, List<string> Warnings)
{
    public List<PresenceChangeRow> PresenceChanges { get; init; } = [];
}

/// <summary>
/// Pairs slides by patient and marker across two timepoints and tests the change: Wilcoxon signed-rank on
/// post − pre; with a group column, Mann–Whitney U between the two groups on the baseline and on the change,
/// and Fisher's exact test on present/absent calls; with clinical data, Spearman's ρ of each change against
/// each clinical variable.
/// </summary>
public static class PrePostComparison
{
    public static Comparison Compare(CsvTable results, string pre, string post, string? groupColumn = null,
        CsvTable? clinical = null, IReadOnlyList<string>? clinicalColumns = null)
    {
        foreach (var column in new[] { "patient", "timepoint" }.Append(groupColumn).OfType<string>())
            if (!results.Has(column))
                throw new FormatException($"{results.Path}: no '{column}' column (run quantify with a manifest that has it)");
        var warnings = new List<string>();
        var ok = results.Rows.Where(r => r["status"] is "ok" or "").ToList();
        if (ok.Count < results.Rows.Count)
            warnings.Add($"{results.Rows.Count - ok.Count} rows with status other than ok were left out");

        var pairs = new List<PairRow>();
        var slidesByKey = new Dictionary<(string Patient, string Marker), (CsvRow? Pre, CsvRow? Post)>();
        foreach (var row in ok)
        {
            string timepoint = row["timepoint"];
            bool isPre = timepoint.Equals(pre, StringComparison.OrdinalIgnoreCase), isPost = timepoint.Equals(post, StringComparison.OrdinalIgnoreCase);
            if (!isPre && !isPost)
                continue;
            var key = (row["patient"], row["marker"]);
            if (key.Item1.Length == 0)
            {
                warnings.Add($"{results.Path}:{row.Line}: no patient, left out");
                continue;
            }
            slidesByKey.TryGetValue(key, out var slot);
            if ((isPre ? slot.Pre : slot.Post) is { } already)
            {
                warnings.Add($"{results.Path}:{row.Line}: patient {key.Item1}, {key.Item2}, {timepoint} already has {already["slide"]}; this row is left out");
                continue;
            }
            slidesByKey[key] = isPre ? (row, slot.Post) : (slot.Pre, row);
        }
        foreach (var ((patient, marker), (preRow, postRow)) in slidesByKey.OrderBy(k => k.Key.Marker, StringComparer.Ordinal).ThenBy(k => k.Key.Patient, StringComparer.Ordinal))
        {
            if (preRow is null || postRow is null)
            {
                warnings.Add($"patient {patient}, {marker}: no {(preRow is null ? pre : post)} slide, not paired");
                continue;
            }
            string group = groupColumn is null ? "" : preRow[groupColumn].Length > 0 ? preRow[groupColumn] : postRow[groupColumn];
            if (groupColumn is not null && postRow[groupColumn].Length > 0 && !postRow[groupColumn].Equals(group, StringComparison.Ordinal))
                warnings.Add($"patient {patient}, {marker}: group '{preRow[groupColumn]}' before and '{postRow[groupColumn]}' after; using '{group}'");
            foreach (var measure in StudyMeasures.Numeric)
                if (preRow.Number(measure) is { } a && postRow.Number(measure) is { } b)
                    pairs.Add(new PairRow(patient, marker, group, measure, a, b, preRow["slide"], postRow["slide"]));
        }

        var groups = groupColumn is null ? [] : pairs.Select(p => p.Group).Where(g => g.Length > 0).Distinct().Order(StringComparer.Ordinal).ToList();
        if (groupColumn is not null && groups.Count != 2)
            warnings.Add($"column '{groupColumn}' has {groups.Count} groups ({string.Join(", ", groups)}); group tests need exactly 2");
        bool twoGroups = groups.Count == 2;

        var summary = new List<SummaryRow>();
        foreach (var g in pairs.GroupBy(p => (p.Marker, p.Measure)))
        {
            var list = g.ToList();
            var preValues = list.Select(p => p.Pre).ToList();
            var postValues = list.Select(p => p.Post).ToList();
            var pctChanges = list.Where(p => p.PctChange is not null).Select(p => p.PctChange!.Value).ToList();
            GroupTest? groupTest = null;
            if (twoGroups)
            {
                var a = list.Where(p => p.Group == groups[0]).ToList();
                var b = list.Where(p => p.Group == groups[1]).ToList();
                groupTest = new GroupTest(groups[0], groups[1], a.Count, b.Count,
                    RankTests.MannWhitneyU(a.Select(p => p.Pre).ToList(), b.Select(p => p.Pre).ToList()),
                    RankTests.MannWhitneyU(a.Select(p => p.Change).ToList(), b.Select(p => p.Change).ToList()));
            }
            summary.Add(new SummaryRow(g.Key.Marker, g.Key.Measure, list.Count,
                Median(preValues), preValues.Min(), preValues.Max(), Median(postValues), postValues.Min(), postValues.Max(),
                Median(list.Select(p => p.Change).ToList()), pctChanges.Count > 0 ? Median(pctChanges) : null,
                RankTests.WilcoxonSignedRank(list.Select(p => p.Change).ToList()), groupTest));
        }

        var wq = MultipleTesting.BenjaminiHochberg(summary.Select(r => r.Wilcoxon?.P).ToList());
        var mq = MultipleTesting.BenjaminiHochberg(summary.Select(r => r.Groups?.Change?.P).ToList());
        summary = summary.Select((r, i) => r with { WilcoxonQ = wq[i], MannWhitneyQ = mq[i] }).ToList();

        var presence = new List<PresenceRow>();
        if (twoGroups && results.Has("present"))
        {
            foreach (var (timepoint, pick) in new (string, Func<(CsvRow? Pre, CsvRow? Post), CsvRow?>)[] { (pre, s => s.Pre), (post, s => s.Post) })
            {
                foreach (var byMarker in slidesByKey.GroupBy(k => k.Key.Marker))
                {
                    var calls = byMarker.Select(k => pick(k.Value)).OfType<CsvRow>()
                        .Where(r => r["present"] is "yes" or "no" && groupColumn is not null && r[groupColumn].Length > 0).ToList();
                    if (calls.Count == 0)
                        continue;
                    int Count(string group, string call) => calls.Count(r => r[groupColumn!] == group && r["present"] == call);
                    int pa = Count(groups[0], "yes"), aa = Count(groups[0], "no"), pb = Count(groups[1], "yes"), ab = Count(groups[1], "no");
                    presence.Add(new PresenceRow(byMarker.Key, timepoint, groups[0], pa, aa, groups[1], pb, ab, FisherExact.TwoSided(pa, aa, pb, ab)));
                }
            }
        }

        var changes = new List<PresenceChangeRow>();
        if (results.Has("present"))
        {
            foreach (var byMarker in slidesByKey.GroupBy(k => k.Key.Marker).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var calls = byMarker.Where(k => k.Value.Pre?["present"] is "yes" or "no" && k.Value.Post?["present"] is "yes" or "no")
                    .Select(k => (Pre: k.Value.Pre!["present"] == "yes", Post: k.Value.Post!["present"] == "yes")).ToList();
                if (calls.Count == 0)
                    continue;
                int yy = calls.Count(c => c.Pre && c.Post), yn = calls.Count(c => c.Pre && !c.Post);
                int ny = calls.Count(c => !c.Pre && c.Post), nn = calls.Count(c => !c.Pre && !c.Post);
                changes.Add(new PresenceChangeRow(byMarker.Key, calls.Count, yy, yn, ny, nn, McNemarExact.TwoSided(yn, ny)));
            }
        }

        var clinicalRows = clinical is null ? [] : Correlate(pairs, clinical, clinicalColumns, warnings);
        return new Comparison(pairs, summary, presence, clinicalRows, warnings) { PresenceChanges = changes };
    }

    private static List<ClinicalRow> Correlate(List<PairRow> pairs, CsvTable clinical, IReadOnlyList<string>? columns, List<string> warnings)
    {
        if (!clinical.Has("patient"))
            throw new FormatException($"{clinical.Path}: no 'patient' column");
        var chosen = columns is { Count: > 0 } ? columns.ToList()
            : clinical.Columns.Where(c => !c.Equals("patient", StringComparison.OrdinalIgnoreCase)
                && clinical.Rows.Any(r => r.Number(c) is not null)
                && clinical.Rows.All(r => r[c].Length == 0 || r.Number(c) is not null)).ToList();
        foreach (var c in chosen)
            if (!clinical.Has(c))
                throw new FormatException($"{clinical.Path}: no clinical column '{c}' ({string.Join(", ", clinical.Columns)})");
        var byPatient = clinical.Rows.GroupBy(r => r["patient"]).ToDictionary(g => g.Key, g => g.First());
        var rows = new List<ClinicalRow>();
        foreach (var g in pairs.GroupBy(p => (p.Marker, p.Measure)))
            foreach (var column in chosen)
            {
                var points = g.Where(p => byPatient.TryGetValue(p.Patient, out var r) && r.Number(column) is not null)
                    .Select(p => (Change: p.Change, Clinical: byPatient[p.Patient].Number(column)!.Value)).ToList();
                if (Spearman.Compute(points.Select(p => p.Change).ToList(), points.Select(p => p.Clinical).ToList()) is { } s)
                    rows.Add(new ClinicalRow(g.Key.Marker, g.Key.Measure, column, s));
            }
        if (chosen.Count == 0)
            warnings.Add($"{clinical.Path}: no numeric clinical column to correlate");
        return rows;
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n == 0 ? double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
