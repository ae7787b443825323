using System.Globalization;
using System.Net;
using System.Text;
using HistoQuant.Measures;
using HistoQuant.Pipeline;

namespace HistoQuant.Output;

/// <summary>
/// DIR/qc.html: one page to look over a batch: per row its overlay (with --detections), status, stain check, the
/// key numbers and the warnings or the error; the slide's name opens its zoomable viewer when one was written (--viewer); a click on a column header sorts by it. Self-contained (inline CSS
/// and script, images by relative path), so the results folder can be moved or zipped.
/// </summary>
public static class BatchPage
{
    /// <param name="detectionsOf">A row's detection folder relative to <paramref name="folder"/> (overlay.png, viewer.html), or null.</param>
    public static string Write(IReadOnlyList<SlideResult> rows, Func<SlideResult, string?> detectionsOf, string folder)
    {
        var headlines = MeasureRegistry.All.Select(m => m.Headline).OfType<string>()
            .Where(c => rows.Any(r => r[c] is not null)).ToList();
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>HistoQuant: batch QC</title>\n<style>")
          .Append("body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}")
          .Append("th{background:#f3f3f3;cursor:pointer}img{max-width:240px;max-height:200px}.error{color:#a00}.mismatch{color:#a00;font-weight:bold}")
          .Append("</style></head><body>\n<h1>HistoQuant: batch QC</h1>\n")
          .Append($"<p>{rows.Count} rows, {rows.Count(r => r.Status == SlideResult.Ok)} measured, {rows.Count(r => r.Status != SlideResult.Ok)} failed, ")
          .Append($"{rows.Count(r => r.StainCheck == "mismatch")} with a stain mismatch. Click a column header to sort; a slide's name opens its viewer when one was written (quantify --viewer). Numbers as in <a href=\"results.csv\">results.csv</a>.</p>\n")
          .Append("<table id=\"rows\"><thead><tr>");
        string[] header = ["overlay", "slide", "marker", "region", "status", "stain check", "tissue mm²", "positive %", .. headlines.Select(Label), "warnings / error"];
        foreach (var h in header)
            sb.Append("<th>").Append(E(h)).Append("</th>");
        sb.Append("</tr></thead><tbody>\n");
        foreach (var r in rows)
        {
            sb.Append("<tr>");
            string? detections = detectionsOf(r);
            string? overlay = detections is null ? null : Url(Path.Combine(detections, "overlay.png"));
            string? viewer = detections is null ? null : Url(Path.Combine(detections, ViewerExport.HtmlName));
            bool hasViewer = viewer is not null && File.Exists(Path.Combine(folder, detections!, ViewerExport.HtmlName));
            sb.Append("<td>").Append(overlay is not null && File.Exists(Path.Combine(folder, detections!, "overlay.png"))
                ? $"<a href=\"{E(hasViewer ? viewer! : overlay)}\"><img src=\"{E(overlay)}\" alt=\"overlay\" loading=\"lazy\"></a>" : "").Append("</td>");
            if (hasViewer)
                sb.Append($"<td data-v=\"{E(r.Slide)}\"><a class=\"viewer\" href=\"{E(viewer!)}\" title=\"open the zoomable viewer\">{E(r.Slide)}</a></td>");
            else
                Cell(sb, r.Slide);
            Cell(sb, r.Marker);
            Cell(sb, r.Region);
            sb.Append(r.Status == SlideResult.Ok ? "<td>ok</td>" : "<td class=\"error\">error</td>");
            sb.Append(r.StainCheck == "mismatch" ? "<td class=\"mismatch\">mismatch</td>" : $"<td>{E(r.StainCheck)}</td>");
            Number(sb, r["tissue_area_mm2"]);
            Number(sb, r["positive_area_pct"]);
            foreach (var c in headlines)
                Number(sb, r[c]);
            sb.Append(r.Status == SlideResult.Ok ? $"<td>{E(r.Warnings)}</td>" : $"<td class=\"error\">{E(r.Error)}</td>");
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody></table>\n<script>\n")
          .Append("document.querySelectorAll('#rows th').forEach((th, col) => th.addEventListener('click', () => {\n")
          .Append("  const body = document.querySelector('#rows tbody'); const rows = [...body.rows];\n")
          .Append("  const up = th.dataset.up !== '1'; th.dataset.up = up ? '1' : '0';\n")
          .Append("  const key = r => { const t = r.cells[col].dataset.v ?? r.cells[col].textContent; const n = parseFloat(t); return isNaN(n) ? t : n; };\n")
          .Append("  rows.sort((a, b) => { const x = key(a), y = key(b); return (x > y ? 1 : x < y ? -1 : 0) * (up ? 1 : -1); });\n")
          .Append("  rows.forEach(r => body.appendChild(r));\n}));\n</script>\n</body></html>\n");
        string path = Path.Combine(folder, "qc.html");
        ResultsWriter.WriteAtomically(path, sb.ToString());
        return path;
    }

    /// <summary>A relative path as a URL: forward slashes, and characters a file name may have but a URL may not (#, ?, %, spaces) escaped.</summary>
    private static string Url(string relative) => string.Join('/', relative.Replace('\\', '/').Split('/').Select(Uri.EscapeDataString));

    private static string Label(string column) => column.Replace('_', ' ').Replace(" per mm2", " per mm²").Replace(" pct", " %");

    private static void Cell(StringBuilder sb, string text) => sb.Append("<td>").Append(E(text)).Append("</td>");

    private static void Number(StringBuilder sb, double? v) =>
        sb.Append(v is { } x ? $"<td data-v=\"{x.ToString("R", CultureInfo.InvariantCulture)}\">{x.ToString("0.###", CultureInfo.InvariantCulture)}</td>" : "<td data-v=\"\"></td>");

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
