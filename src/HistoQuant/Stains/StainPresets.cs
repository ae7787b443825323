namespace HistoQuant.Stains;

/// <summary>
/// Built-in stain vectors. "H-DAB" and "H-E" are QuPath's defaults (to five decimals, as QuPath writes
/// them); "H-DAB Ruifrok" is the pair from Ruifrok &amp; Johnston (2001) that ImageJ's Colour Deconvolution
/// uses; "H-AEC" is ImageJ's H AEC pair. Third vectors are always the residual.
/// </summary>
public static class StainPresets
{
    public static readonly StainSet HDab = new("H-DAB",
        new StainVector("Hematoxylin", 0.65111, 0.70119, 0.29049), new StainVector("DAB", 0.26917, 0.56824, 0.77759));

    public static readonly StainSet HDabRuifrok = new("H-DAB Ruifrok",
        new StainVector("Hematoxylin", 0.650, 0.704, 0.286), new StainVector("DAB", 0.268, 0.570, 0.776));

    public static readonly StainSet HE = new("H-E",
        new StainVector("Hematoxylin", 0.65111, 0.70119, 0.29049), new StainVector("Eosin", 0.2159, 0.8012, 0.5581));

    public static readonly StainSet HAec = new("H-AEC",
        new StainVector("Hematoxylin", 0.650, 0.704, 0.286), new StainVector("AEC", 0.2743, 0.6796, 0.6803));

    public static IReadOnlyList<StainSet> All { get; } = [HDab, HDabRuifrok, HE, HAec];

    /// <summary>Finds a preset by name, ignoring case, spaces, '-' and '_' ("h-dab", "HDAB ruifrok", "h_e").</summary>
    public static StainSet? Find(string name)
    {
        string key = Key(name);
        return All.FirstOrDefault(s => Key(s.Name) == key);
    }

    private static string Key(string s) => new(s.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant).ToArray());
}
