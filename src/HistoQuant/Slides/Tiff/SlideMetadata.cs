using System.Globalization;
using System.Xml.Linq;

namespace HistoQuant.Slides.Tiff;

/// <summary>Pixel size and magnification as one vendor's metadata states them.</summary>
internal sealed record SlideMetadata(double? MppX, double? MppY, double? Magnification, IReadOnlyDictionary<string, string> Properties)
{
    /// <summary>
    /// Resolution tags are trusted only in the range a microscope can produce. Image software writes
    /// 72 or 96 dpi by default (350 or 265 µm/px), and taking that for a pixel size would silently make
    /// every per-area number wrong by orders of magnitude.
    /// </summary>
    public const double MaxPlausibleMpp = 50.0, MinPlausibleMpp = 0.01;

    public static bool IsPlausibleMpp(double mpp) => mpp >= MinPlausibleMpp && mpp <= MaxPlausibleMpp && double.IsFinite(mpp);

    /// <summary>Aperio ImageDescription: "Aperio Image Library ...|AppMag = 20|MPP = 0.4990|...".</summary>
    public static SlideMetadata FromAperio(string description)
    {
        var props = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var parts = description.Split('|');
        props["aperio.Header"] = parts[0].Replace('\r', ' ').Replace('\n', ' ').Trim();
        foreach (var part in parts.Skip(1))
        {
            int eq = part.IndexOf('=');
            if (eq > 0)
                props["aperio." + part[..eq].Trim()] = part[(eq + 1)..].Trim();
        }
        double? mpp = Number(props, "aperio.MPP");
        double? mag = Number(props, "aperio.AppMag");
        return new SlideMetadata(mpp, mpp, mag, props);
    }

    /// <summary>OME-XML: the first Image's Pixels PhysicalSizeX/Y with their units, and the objective's magnification.</summary>
    public static SlideMetadata FromOmeXml(string xml, string path)
    {
        XDocument doc;
        try
        {
            doc = XDocument.Parse(xml);
        }
        catch (System.Xml.XmlException e)
        {
            throw new SlideException(path, $"OME-XML in the ImageDescription is malformed: {e.Message}");
        }
        var props = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var pixels = doc.Descendants().FirstOrDefault(e => e.Name.LocalName == "Pixels");
        double? mppX = null, mppY = null, mag = null;
        if (pixels is not null)
        {
            mppX = PhysicalSize(pixels, "X");
            mppY = PhysicalSize(pixels, "Y");
            foreach (var a in pixels.Attributes())
                props["ome.Pixels." + a.Name.LocalName] = a.Value;
        }
        var objective = doc.Descendants().FirstOrDefault(e => e.Name.LocalName == "Objective");
        if (objective?.Attribute("NominalMagnification")?.Value is { } m &&
            double.TryParse(m, NumberStyles.Float, CultureInfo.InvariantCulture, out double mm))
            mag = mm;
        var creator = doc.Root?.Attribute("Creator")?.Value;
        if (creator is not null)
            props["ome.Creator"] = creator;
        return new SlideMetadata(mppX, mppY, mag, props);
    }

    private static double? PhysicalSize(XElement pixels, string axis)
    {
        var v = pixels.Attribute("PhysicalSize" + axis)?.Value;
        if (v is null || !double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double size))
            return null;
        string unit = pixels.Attribute($"PhysicalSize{axis}Unit")?.Value ?? "µm";
        double? factor = unit switch
        {
            "µm" or "um" or "micron" or "\u03bcm" => 1.0,
            "nm" => 1e-3,
            "Å" or "\u212b" => 1e-4,
            "mm" => 1e3,
            "cm" => 1e4,
            "m" => 1e6,
            _ => null,
        };
        return factor is null ? null : size * factor;
    }

    /// <summary>TIFF XResolution/YResolution in pixels per ResolutionUnit (2 = inch, 3 = cm).</summary>
    public static (double? X, double? Y, string? Note) FromResolutionTags(double? xres, double? yres, long? unit)
    {
        double? perCm = unit switch { 2 => 2.54, 3 => 1.0, _ => null };
        if (perCm is null || xres is not > 0 || yres is not > 0)
            return (null, null, null);
        double mx = 1e4 * perCm.Value / xres.Value, my = 1e4 * perCm.Value / yres.Value;
        if (!IsPlausibleMpp(mx) || !IsPlausibleMpp(my))
            return (null, null, $"resolution tags give {mx:0.###} µm/px, not a microscope's pixel size; ignored");
        return (mx, my, null);
    }

    private static double? Number(Dictionary<string, string> props, string key) =>
        props.TryGetValue(key, out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0
            ? v : null;
}
