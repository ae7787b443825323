using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using HistoQuant.Kernels;
using HistoQuant.Slides;

namespace HistoQuant.Output;

/// <summary>What a viewer export wrote and what it cost.</summary>
public sealed record ViewerSummary(string Html, DeepZoomPyramid Pyramid, int Objects, long Bytes, double Seconds);

/// <summary>
/// FOLDER/viewer.html and FOLDER/viewer/: the slide as a deep-zoom pyramid with its detections drawn over it, in
/// OpenSeadragon, opened from disk (file://, no server, no network). Chromium refuses fetch() and XHR on file:// pages,
/// so nothing is fetched: the pyramid's geometry is inline and the detections are a script (viewer/detections.js).
/// The detections come from the run's detections.geojson (QuPath's format, level-0 pixels), drawn on a canvas:
/// only the objects in view, as dots when they are smaller than 8 screen pixels, so 10⁵ cells stay fluid.
/// </summary>
public static class ViewerExport
{
    public const string HtmlName = "viewer.html", AssetFolder = "viewer";

    /// <param name="geoJson">The run's detections.geojson; null shows the slide alone.</param>
    /// <param name="title">The page's heading (slide, marker).</param>
    public static ViewerSummary Write(ISlide slide, TissueMask tissue, string? geoJson, string folder, string title, double? mpp, int maxThreads = 0)
    {
        var clock = Stopwatch.StartNew();
        string assets = Path.Combine(folder, AssetFolder);
        Directory.CreateDirectory(assets);
        var pyramid = DeepZoom.Write(slide, tissue, assets, "slide", maxThreads);
        // Streamed: a whole slide's detections are tens of MB of script, not worth holding as one string.
        string script = Path.Combine(assets, "detections.js"), partial = script + ".partial";
        int objects = 0;
        using (var writer = new StreamWriter(partial, false, new UTF8Encoding(false), 1 << 16))
        {
            writer.Write("window.HQ_DETECTIONS = ");
            if (geoJson is null)
                writer.Write(ViewerData.Empty.Json);
            else
                objects = ViewerData.Write(geoJson, writer);
            writer.Write(";\n");
        }
        File.Move(partial, script, overwrite: true);
        foreach (var file in new[] { "openseadragon.min.js", "openseadragon-LICENSE.txt" })
            ResultsWriter.WriteAtomically(Path.Combine(assets, file), Resource(file));
        string html = Path.Combine(folder, HtmlName);
        ResultsWriter.WriteAtomically(html, Page(pyramid, title, mpp));
        long bytes = new DirectoryInfo(assets).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) + new FileInfo(html).Length;
        return new ViewerSummary(html, pyramid, objects, bytes, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The viewer of a slide already measured into <paramref name="resultsDir"/> (`histoquant view`): its row in
    /// results.json gives the marker, pixel size and detection folder (whose detections.geojson it draws, when the run
    /// wrote one); the viewer goes into that folder. Tissue is found again on the slide, to skip tiles of glass.
    /// </summary>
    /// <param name="marker">Which row when the slide was measured with several markers.</param>
    public static ViewerSummary ForResults(string slidePath, string resultsDir, string? marker = null, int maxThreads = 0)
    {
        string json = Path.Combine(resultsDir, "results.json");
        if (!File.Exists(json))
            throw new FileNotFoundException($"{json}: not found; measure the slide first (histoquant quantify SLIDE --out {resultsDir} --detections)");
        List<Pipeline.SlideResult> rows;
        try
        {
            rows = ResultsWriter.ReadJson(json);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new FormatException($"{json}: not a HistoQuant results file ({e.Message.Split('\n')[0]})");
        }
        string full = Path.GetFullPath(slidePath);
        var mine = rows.Where(r => r.Region is "" or "all" && r.Status == Pipeline.SlideResult.Ok).ToList();
        var exact = mine.Where(r => Path.GetFullPath(r.Slide) == full).ToList();
        // Results written from another working directory: the file name, when it is unambiguous.
        var candidates = exact.Count > 0 ? exact : mine.Where(r => Path.GetFileName(r.Slide) == Path.GetFileName(full)).ToList();
        if (marker is not null)
            candidates = candidates.Where(r => r.Marker.Equals(marker, StringComparison.OrdinalIgnoreCase)).ToList();
        if (candidates.Count == 0)
            throw new FormatException($"{json}: no measured row for {Path.GetFileName(slidePath)}{(marker is null ? "" : " with marker " + marker)}");
        if (candidates.Count > 1)
            throw new FormatException($"{json}: {Path.GetFileName(slidePath)} has several measured rows ({string.Join(", ", candidates.Select(r => r.Marker + (r.Regions.Length > 0 ? " in " + r.Regions : "")))}); choose one with --marker");
        var row = candidates[0];
        string folder = BatchRunner.DetectionFolder(resultsDir, row.Slide, row.Marker, row.Regions.Length > 0 ? row.Regions : null);
        // The folder's hash is of the slide's absolute path as the run saw it; from another directory, its one folder by name.
        if (!Directory.Exists(folder) && Directory.GetDirectories(resultsDir, $"{Pipeline.Quantifier.SafeName(row.Slide)}.{row.Marker}-*") is [var only])
            folder = only;
        string geo = Path.Combine(folder, "detections.geojson");
        using var slide = SlideOpener.Open(slidePath);
        var tissue = Pipeline.TissueDetector.Detect(slide, row.Mpp, new Pipeline.TissueSettings(), maxThreads);
        var summary = Write(slide, tissue, File.Exists(geo) ? geo : null, folder, Title(slidePath, row.Marker, row.Mpp), row.Mpp, maxThreads);
        // qc.html again, so that its row now leads to the viewer.
        BatchPage.Write(rows, r => r.Region is "" or "all"
            ? Path.GetRelativePath(resultsDir, r == row ? folder : BatchRunner.DetectionFolder(resultsDir, r.Slide, r.Marker, r.Regions.Length > 0 ? r.Regions : null)) : null, resultsDir);
        return summary;
    }

    /// <summary>The heading: slide file, marker and pixel size.</summary>
    public static string Title(string slidePath, string marker, double? mpp) =>
        $"{Path.GetFileName(slidePath)} - {marker}{(mpp is { } m ? string.Create(CultureInfo.InvariantCulture, $", {m:0.###} µm/px") : "")}";

    private static string Resource(string name)
    {
        using var stream = typeof(ViewerExport).Assembly.GetManifestResourceStream("HistoQuant.Viewer." + name)
            ?? throw new InvalidOperationException($"the build lost its embedded {name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static string Page(DeepZoomPyramid p, string title, double? mpp)
    {
        var config = JsonSerializer.Serialize(new
        {
            width = p.Width, height = p.Height, tileSize = p.TileSize, overlap = p.Overlap, maxLevel = p.MaxLevel,
            present = p.Present, blank = AssetFolder + "/" + p.BlankTile, tiles = AssetFolder + "/slide_files/", mpp,
        });
        return Template.Replace("{{TITLE}}", WebUtility.HtmlEncode(title)).Replace("{{CONFIG}}", config);
    }

    // The page: OpenSeadragon for the tiles, a canvas over it for the objects, a side panel for layers and the
    // clicked object's measurements. #hq-status carries counters (tiles loaded/failed, objects drawn, script errors)
    // in data- attributes, so a headless browser's --dump-dom can check the page really worked.
    // "#object=N" in the address selects object N and zooms to it.
    private const string Template = """
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>HistoQuant viewer: {{TITLE}}</title>
<style>
html,body{margin:0;height:100%;font-family:system-ui,sans-serif;font-size:14px}
#app{display:flex;height:100%}#osd{flex:1;background:#222;position:relative}
#side{width:300px;overflow:auto;padding:10px 12px;border-left:1px solid #ccc;background:#fafafa}
h1{font-size:15px;margin:0 0 8px}h2{font-size:13px;margin:14px 0 4px}label{display:block;margin:2px 0}
table{border-collapse:collapse;width:100%}td{border-bottom:1px solid #e3e3e3;padding:2px 4px;vertical-align:top}td.v{text-align:right;font-variant-numeric:tabular-nums}
.swatch{display:inline-block;width:10px;height:10px;border:1px solid #555;margin-right:4px}
#hq-overlay{position:absolute;left:0;top:0;pointer-events:none;z-index:2}
#scalebar{position:absolute;z-index:3;left:12px;bottom:12px;color:#fff;text-shadow:0 0 3px #000;font-size:12px;pointer-events:none}
#scalebar div{height:5px;background:#fff;border:1px solid #000;margin-bottom:2px}
.muted{color:#777}
</style></head><body>
<div id="app"><div id="osd"><canvas id="hq-overlay"></canvas><div id="scalebar"></div></div>
<div id="side"><h1>{{TITLE}}</h1>
<div class="muted">Drag to pan, scroll to zoom, click an object for its measurements.</div>
<h2>Layers</h2><div id="layers"></div>
<h2>Classes</h2><div id="classes"></div>
<h2>Selected object</h2><div id="selected" class="muted">none</div>
<p class="muted" style="margin-top:16px">Tiles: deep-zoom pyramid, <a href="viewer/slide.dzi">slide.dzi</a>. Viewer: <a href="viewer/openseadragon-LICENSE.txt">OpenSeadragon</a>.</p>
<pre id="hq-status" hidden data-tiles-loaded="0" data-tiles-failed="0" data-drawn="0" data-view="" data-drawn-view="" data-errors="0" data-objects="0"></pre>
</div></div>
<script>
window.HQ_ERRORS = [];
window.addEventListener('error', e => { HQ_ERRORS.push(String(e.message || e.type)); const s = document.getElementById('hq-status'); if (s) { s.dataset.errors = HQ_ERRORS.length; s.textContent = HQ_ERRORS.join('\n'); } }, true);
</script>
<script src="viewer/openseadragon.min.js"></script>
<script src="viewer/detections.js"></script>
<script>
(function () {
const C = {{CONFIG}};
const D = window.HQ_DETECTIONS || { layers: [], classes: [], keys: [], objects: [] };
const status = document.getElementById('hq-status');
const count = (key, n) => { status.dataset[key] = String(n); };
let loaded = 0, failed = 0;
const present = (level, x, y) => {
  const across = Math.ceil(Math.ceil(C.width / 2 ** (C.maxLevel - level)) / C.tileSize);
  const i = y * across + x, digit = parseInt(C.present[level][i >> 2], 16);
  return (digit >> (3 - (i & 3))) & 1;
};
const viewer = OpenSeadragon({
  element: document.getElementById('osd'), drawer: 'canvas', showNavigationControl: false, showNavigator: true,
  navigatorPosition: 'TOP_LEFT', maxZoomPixelRatio: 4, visibilityRatio: 0.5, animationTime: 0.4,
  tileSources: { width: C.width, height: C.height, tileSize: C.tileSize, tileOverlap: C.overlap, minLevel: 0, maxLevel: C.maxLevel,
    getTileUrl: (level, x, y) => present(level, x, y) ? C.tiles + level + '/' + x + '_' + y + '.jpg' : C.blank },
});
viewer.addHandler('tile-loaded', () => count('tilesLoaded', ++loaded));
viewer.addHandler('tile-load-failed', e => { count('tilesFailed', ++failed); HQ_ERRORS.push('tile ' + (e.message || '')); count('errors', HQ_ERRORS.length); });

// Objects: bounding boxes and a grid of 512 px cells, so a frame touches only the objects in view.
const GRID = 512, cols = Math.ceil(C.width / GRID) + 1, grid = new Map();
const visible = D.layers.map(() => true);
const boxes = D.objects.map((o, i) => {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const ring of o[2]) for (let j = 0; j < ring.length; j += 2) {
    x0 = Math.min(x0, ring[j]); x1 = Math.max(x1, ring[j]); y0 = Math.min(y0, ring[j + 1]); y1 = Math.max(y1, ring[j + 1]);
  }
  // Regions span the slide: they are few, drawn every frame, and stay out of the grid.
  if (D.layers[o[0]].always) return [x0, y0, x1, y1];
  for (let gy = Math.max(0, Math.floor(y0 / GRID)); gy <= Math.floor(y1 / GRID); gy++)
    for (let gx = Math.max(0, Math.floor(x0 / GRID)); gx <= Math.floor(x1 / GRID); gx++) {
      const key = gy * cols + gx; if (!grid.has(key)) grid.set(key, []); grid.get(key).push(i);
    }
  return [x0, y0, x1, y1];
});
const always = D.objects.map((o, i) => i).filter(i => D.layers[D.objects[i][0]].always);
count('objects', D.objects.length);
let selected = -1, stamp = 0;
const seen = new Uint32Array(D.objects.length);
const canvas = document.getElementById('hq-overlay'), ctx = canvas.getContext('2d');
function inView(x0, y0, x1, y1) {
  const out = [...always.filter(i => visible[D.objects[i][0]])];
  stamp++;
  for (let gy = Math.max(0, Math.floor(y0 / GRID)); gy <= Math.floor(y1 / GRID); gy++)
    for (let gx = Math.max(0, Math.floor(x0 / GRID)); gx <= Math.floor(x1 / GRID); gx++)
      for (const i of grid.get(gy * cols + gx) || []) {
        if (seen[i] === stamp || !visible[D.objects[i][0]]) continue;
        seen[i] = stamp; const b = boxes[i];
        if (b[2] >= x0 && b[0] <= x1 && b[3] >= y0 && b[1] <= y1) out.push(i);
      }
  return out;
}
function draw() {
  const el = viewer.container, dpr = window.devicePixelRatio || 1;
  const w = el.clientWidth, h = el.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); canvas.style.width = w + 'px'; canvas.style.height = h + 'px';
  }
  ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.clearRect(0, 0, canvas.width, canvas.height);
  const vp = viewer.viewport, o = vp.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
  const s = vp.imageToViewerElementCoordinates(new OpenSeadragon.Point(1000, 0)).x / 1000 - o.x / 1000;
  const a = vp.viewerElementToImageCoordinates(new OpenSeadragon.Point(0, 0)), b = vp.viewerElementToImageCoordinates(new OpenSeadragon.Point(w, h));
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const list = inView(a.x, a.y, b.x, b.y);
  for (const i of list) {
    const ob = D.objects[i], colour = D.classes[ob[1]].color, bx = boxes[i];
    ctx.strokeStyle = colour; ctx.fillStyle = colour;
    const size = Math.max(bx[2] - bx[0], bx[3] - bx[1]) * s;
    // Zoomed out, outlines would merge into a wall of colour: small objects become dots, one per object.
    if (size < 8 && !D.layers[ob[0]].always) {
      ctx.fillRect(o.x + (bx[0] + bx[2]) / 2 * s - 1, o.y + (bx[1] + bx[3]) / 2 * s - 1, 2, 2);
      continue;
    }
    ctx.lineWidth = i === selected ? 3 : size < 40 ? 1 : 1.5;
    ctx.setLineDash(D.layers[ob[0]].always ? [8, 4] : []); // regions dashed: they share colours with objects
    ctx.beginPath();
    for (const ring of ob[2]) {
      ctx.moveTo(o.x + ring[0] * s, o.y + ring[1] * s);
      for (let j = 2; j < ring.length; j += 2) ctx.lineTo(o.x + ring[j] * s, o.y + ring[j + 1] * s);
      ctx.closePath();
    }
    ctx.stroke();
    ctx.setLineDash([]);
    if (ob[4] && s > 0.5) { // the nucleus of a cell, once it is big enough to see
      ctx.lineWidth = 1; ctx.beginPath(); const r = ob[4];
      ctx.moveTo(o.x + r[0] * s, o.y + r[1] * s);
      for (let j = 2; j < r.length; j += 2) ctx.lineTo(o.x + r[j] * s, o.y + r[j + 1] * s);
      ctx.closePath(); ctx.stroke();
    }
  }
  if (selected >= 0 && visible[D.objects[selected][0]]) {
    const bx = boxes[selected]; ctx.strokeStyle = '#fff'; ctx.lineWidth = 1; ctx.setLineDash([4, 3]);
    ctx.strokeRect(o.x + bx[0] * s - 4, o.y + bx[1] * s - 4, (bx[2] - bx[0]) * s + 8, (bx[3] - bx[1]) * s + 8); ctx.setLineDash([]);
  }
  count('drawn', list.length);
  count('drawnView', view());
  if (C.mpp) scaleBar(s);
}
function scaleBar(s) {
  const target = 120 / s * C.mpp, steps = [1, 2, 5];
  let nice = 1; for (let e = -1; e < 6; e++) for (const m of steps) if (m * 10 ** e <= target) nice = m * 10 ** e;
  const el = document.getElementById('scalebar');
  el.innerHTML = '<div style="width:' + Math.round(nice / C.mpp * s) + 'px"></div>' + (nice >= 1000 ? nice / 1000 + ' mm' : nice + ' µm');
}
// What is in view now, in level-0 pixels: the overlay was drawn for the same view when the two agree.
const view = () => { const r = viewer.viewport.viewportToImageRectangle(viewer.viewport.getBounds(true)); return [r.x, r.y, r.width, r.height].map(Math.round).join(','); };
setInterval(() => count('view', view()), 250);
// Drawn in OpenSeadragon's own frame (not a later animation frame of ours), so objects never lag behind the tiles.
const schedule = draw;
for (const ev of ['update-viewport', 'animation-finish', 'resize']) viewer.addHandler(ev, draw);

function inside(ring, x, y) {
  let r = false;
  for (let i = 0, j = ring.length - 2; i < ring.length; j = i, i += 2) {
    const xi = ring[i], yi = ring[i + 1], xj = ring[j], yj = ring[j + 1];
    if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) r = !r;
  }
  return r;
}
const fmt = v => Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v * 100) / 100) : v.toPrecision(4);
function select(i) {
  selected = i;
  const el = document.getElementById('selected');
  if (i < 0) { el.className = 'muted'; el.textContent = 'none'; schedule(); return; }
  const ob = D.objects[i], cls = D.classes[ob[1]];
  let html = '<div><span class="swatch" style="background:' + cls.color + '"></span><b>' + esc(cls.name) + '</b> <span class="muted">(' + esc(D.layers[ob[0]].name) + ', #' + i + ')</span></div><table>';
  for (let j = 0; j < ob[3].length; j += 2) html += '<tr><td>' + esc(D.keys[ob[3][j]]) + '</td><td class="v">' + fmt(ob[3][j + 1]) + '</td></tr>';
  el.className = ''; el.innerHTML = html + '</table>';
  schedule();
}
const esc = t => String(t).replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
viewer.addHandler('canvas-click', e => {
  if (!e.quick) return;
  const p = viewer.viewport.viewerElementToImageCoordinates(e.position);
  let best = -1, bestArea = Infinity;
  for (const i of inView(p.x, p.y, p.x, p.y)) {
    const b = boxes[i], area = (b[2] - b[0]) * (b[3] - b[1]);
    if (area < bestArea && inside(D.objects[i][2][0], p.x, p.y)) { best = i; bestArea = area; }
  }
  select(best);
});

const layers = document.getElementById('layers');
D.layers.forEach((layer, k) => {
  const n = D.objects.filter(o => o[0] === k).length;
  const label = document.createElement('label');
  label.innerHTML = '<input type="checkbox" checked data-layer="' + k + '"> ' + esc(layer.name) + ' <span class="muted">(' + n + ')</span>';
  label.firstChild.addEventListener('change', ev => { visible[k] = ev.target.checked; schedule(); });
  layers.appendChild(label);
});
if (!D.layers.length) layers.innerHTML = '<span class="muted">no detections (run quantify with --detections)</span>';
document.getElementById('classes').innerHTML = D.classes.map(c => '<div><span class="swatch" style="background:' + c.color + '"></span>' + esc(c.name) + '</div>').join('');
const m = /object=(\d+)/.exec(location.hash);
viewer.addHandler('open', () => {
  if (m && +m[1] < D.objects.length) {
    const b = boxes[+m[1]], pad = Math.max(b[2] - b[0], b[3] - b[1], 100);
    viewer.viewport.fitBounds(viewer.viewport.imageToViewportRectangle(b[0] - pad, b[1] - pad, b[2] - b[0] + 2 * pad, b[3] - b[1] + 2 * pad), true);
    select(+m[1]);
  }
  schedule();
});
})();
</script>
</body></html>
""";
}

/// <summary>
/// Detections in the compact form the viewer's script reads: layers (regions, fibres, capillaries, cells), classes
/// with colours, measurement names, and per object [layer, class, rings as flat x,y lists, [name index, value, ...],
/// nucleus ring or 0], in whole level-0 pixels.
/// </summary>
public sealed class ViewerData
{
    public string Json { get; }
    public int Count { get; }

    private ViewerData(string json, int count) => (Json, Count) = (json, count);

    public static readonly ViewerData Empty = new("{\"layers\":[],\"classes\":[],\"keys\":[],\"objects\":[]}", 0);

    /// <summary>Reads a detections.geojson as <see cref="DetectionFiles"/> writes it; a file that is not one is a one-line error naming it.</summary>
    public static ViewerData FromGeoJson(string path)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        int count = Write(path, text);
        return new ViewerData(text.ToString(), count);
    }

    /// <summary>The viewer's form of a detections.geojson, written to <paramref name="output"/> as it is read; returns the number of objects.</summary>
    public static int Write(string path, TextWriter output)
    {
        JsonDocument doc;
        try
        {
            using var stream = File.OpenRead(path);
            doc = JsonDocument.Parse(stream);
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            throw new FormatException($"{path}: not a readable GeoJSON file ({e.Message.Split('\n')[0]})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("features", out var features) || features.ValueKind != JsonValueKind.Array)
                throw new FormatException($"{path}: not a GeoJSON FeatureCollection (no 'features' array)");
            var layers = new List<string>();
            var classes = new List<(string Name, string Colour)>();
            var keys = new List<string>();
            var objects = new StringBuilder();
            int count = 0;
            output.Write("{\"objects\":[");
            foreach (var f in features.EnumerateArray())
            {
                if (objects.Length > 1 << 16)
                {
                    output.Write(objects);
                    objects.Clear();
                }
                if (!f.TryGetProperty("geometry", out var geometry) || !geometry.TryGetProperty("coordinates", out var coordinates) || coordinates.ValueKind != JsonValueKind.Array)
                    continue;
                var props = f.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
                string type = props.ValueKind == JsonValueKind.Object && props.TryGetProperty("objectType", out var t) ? t.GetString() ?? "" : "";
                string name = "Unclassified";
                string colour = "#ffff00";
                if (props.ValueKind == JsonValueKind.Object && props.TryGetProperty("classification", out var c) && c.ValueKind == JsonValueKind.Object)
                {
                    name = c.TryGetProperty("name", out var n) ? n.GetString() ?? name : name;
                    if (c.TryGetProperty("color", out var rgb) && rgb.ValueKind == JsonValueKind.Array && rgb.GetArrayLength() == 3)
                        colour = "#" + string.Concat(rgb.EnumerateArray().Select(v => Math.Clamp(v.GetInt32(), 0, 255).ToString("x2", CultureInfo.InvariantCulture)));
                }
                string layer = LayerOf(type, name);
                int li = IndexOf(layers, layer), ci = IndexOf(classes, (name, colour));
                if (count++ > 0)
                    objects.Append(',');
                objects.Append('[').Append(li).Append(',').Append(ci).Append(",[");
                // Polygon: rings; MultiPolygon: polygons of rings (drawn as the rings of all of them).
                bool multi = geometry.TryGetProperty("type", out var gt) && gt.GetString() == "MultiPolygon";
                var rings = multi ? coordinates.EnumerateArray().SelectMany(poly => poly.EnumerateArray()) : coordinates.EnumerateArray();
                bool first = true;
                foreach (var ring in rings)
                {
                    objects.Append(first ? "" : ",");
                    first = false;
                    Ring(objects, ring);
                }
                objects.Append("],[");
                if (props.ValueKind == JsonValueKind.Object && props.TryGetProperty("measurements", out var ms) && ms.ValueKind == JsonValueKind.Object)
                {
                    bool firstM = true;
                    foreach (var m in ms.EnumerateObject())
                        if (m.Value.ValueKind == JsonValueKind.Number && double.IsFinite(m.Value.GetDouble()))
                        {
                            objects.Append(firstM ? "" : ",").Append(IndexOf(keys, m.Name)).Append(',').Append(m.Value.GetDouble().ToString("R", CultureInfo.InvariantCulture));
                            firstM = false;
                        }
                }
                objects.Append("],");
                if (f.TryGetProperty("nucleusGeometry", out var nucleus) && nucleus.TryGetProperty("coordinates", out var nc) && nc.ValueKind == JsonValueKind.Array && nc.GetArrayLength() > 0)
                    Ring(objects, nc[0]);
                else
                    objects.Append('0');
                objects.Append(']');
            }
            output.Write(objects);
            // The names come last: they are known once every object has been read.
            output.Write("],\"layers\":");
            output.Write(JsonSerializer.Serialize(layers.Select(l => new { name = l, always = l == Regions })));
            output.Write(",\"classes\":");
            output.Write(JsonSerializer.Serialize(classes.Select(c => new { name = c.Name, color = c.Colour })));
            output.Write(",\"keys\":");
            output.Write(JsonSerializer.Serialize(keys));
            output.Write('}');
            return count;
        }
    }

    private const string Regions = "Regions";

    /// <summary>GeoJSON has no measure name: annotations are the regions, QuPath cells the cells, detections fibres unless their class says capillary.</summary>
    private static string LayerOf(string objectType, string className) => objectType switch
    {
        "annotation" => Regions,
        "cell" => "Cells",
        _ when className.Contains("apillar", StringComparison.OrdinalIgnoreCase) => "Capillaries",
        _ when className.Contains("ibre", StringComparison.OrdinalIgnoreCase) || className.Contains("iber", StringComparison.OrdinalIgnoreCase) => "Fibres",
        _ => "Detections",
    };

    private static void Ring(StringBuilder sb, JsonElement ring)
    {
        sb.Append('[');
        int n = ring.GetArrayLength(), k = 0, written = 0;
        foreach (var point in ring.EnumerateArray())
        {
            if (k++ == n - 1 && n > 3)
                break; // GeoJSON repeats the first point; the canvas closes the path itself
            if (point.ValueKind != JsonValueKind.Array || point.GetArrayLength() < 2)
                continue;
            sb.Append(written++ > 0 ? "," : "")
              .Append(Math.Round(point[0].GetDouble()).ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(Math.Round(point[1].GetDouble()).ToString(CultureInfo.InvariantCulture));
        }
        sb.Append(']');
    }

    private static int IndexOf<T>(List<T> list, T item)
    {
        int i = list.IndexOf(item);
        if (i >= 0)
            return i;
        list.Add(item);
        return list.Count - 1;
    }
}
