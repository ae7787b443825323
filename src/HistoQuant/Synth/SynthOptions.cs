using HistoQuant.Stains;

namespace HistoQuant.Synth;

/// <summary>Parameters of a synthetic muscle-biopsy IHC slide. Sizes are level-0 pixels; biology is in µm.</summary>
public sealed record SynthOptions
{
    public int Width { get; init; } = 4096;
    public int Height { get; init; } = 3072;
    public double Mpp { get; init; } = 0.5;
    public int Seed { get; init; } = 1;
    /// <summary>DAB-positive (macrophage-like) cells; null = 150 per mm² of tissue.</summary>
    public int? Cells { get; init; }
    /// <summary>DAB-negative nuclei; null = 400 per mm² of tissue.</summary>
    public int? NegativeNuclei { get; init; }
    /// <summary>
    /// Dense infiltrates: clusters of small cells (nuclei 3–3.5 µm in radius on a jittered hexagonal grid, 8–14 µm
    /// apart, two in five with a DAB-positive rim of cytoplasm), added to the scattered cells and nuclei.
    /// </summary>
    public int Clusters { get; init; }
    /// <summary>Fraction of fibres with a sarcolemmal DAB ring (MHC class I-like).</summary>
    public double FibresPositive { get; init; } = 0.3;
    /// <summary>Fraction of fibres with diffuse sarcoplasmic DAB (0.25–0.4 OD) as well as the ring: counted positive too.</summary>
    public double FibresSarcoplasmic { get; init; }
    /// <summary>Width of the endomysium between fibres (µm); below 1 the fibres touch with only a faint line.</summary>
    public double EndomysiumMicrons { get; init; } = 2.5;
    /// <summary>DAB-positive capillaries (IL-1α-like), half as rings and half as segments.</summary>
    public int Capillaries { get; init; }
    /// <summary>Multiplies every DAB concentration (0 gives a DAB-negative slide).</summary>
    public double DabScale { get; init; } = 1.0;
    public double FibreDiameterMicrons { get; init; } = 55;
    /// <summary>
    /// Fibre size variation: each fibre's radius is the mean's times 1 ± up to this fraction (uniform), and the fibres
    /// are the cells of a power diagram of their seeds weighted by radius², so small fibres lie beside large ones as
    /// in a myopathy. 0: equal weights (a Voronoi mosaic).
    /// </summary>
    public double FibreSizeVariation { get; init; }
    /// <summary>
    /// Fraction of fibres given a central nucleus (3–4 µm in radius, at the fibre's seed, at least 5 µm clear of the
    /// 4 µm internal-nucleus depth); with it the scattered nuclei keep out of fibre interiors (each at least 1 µm short
    /// of that depth: myonuclei under the sarcolemma, the rest in the endomysium), so the truth's internal nuclei are
    /// exactly the placed ones. 0: nuclei scattered anywhere, as before.
    /// </summary>
    public double CentralNuclei { get; init; }
    /// <summary>Hematoxylin OD of the endomysium between fibres: pale by default, as in frozen sections; raise it
    /// towards the fibres' 0.03–0.06 for sections where the gaps barely show.</summary>
    public double EndomysiumOd { get; init; } = 0.008;
    /// <summary>Fascicles about this far apart (µm), separated by perimysium; 0: one sheet of fibres, no compartments.</summary>
    public double FascicleMicrons { get; init; }
    /// <summary>Fibre seeds closer than half this to a fascicle border become perimysium (µm).</summary>
    public double PerimysiumMicrons { get; init; } = 60;
    /// <summary>Vessels (lumen 10–18 µm in radius) in the perimysium; with fascicles only.</summary>
    public int Vessels { get; init; }
    /// <summary>Positive cells placed by compartment (with fascicles): endomysial clusters, perimysial, perivascular, inside fibres.</summary>
    public int EndomysialCells { get; init; }
    public int PerimysialCells { get; init; }
    public int PerivascularCells { get; init; }
    public int InvadingCells { get; init; }
    /// <summary>The perivascular band of the truth (µm from a lumen's edge).</summary>
    public double PerivascularMicrons { get; init; } = 30;
    /// <summary>Fibres in the first this many layers of a fascicle are perifascicular.</summary>
    public int PerifascicularLayers { get; init; } = 2;
    /// <summary>Fraction of perifascicular fibres with the MHC class I ring; null: as FibresPositive.</summary>
    public double? PerifascicularPositive { get; init; }
    /// <summary>Perifascicular fibres shrink by this fraction of the fibre diameter (perifascicular atrophy).</summary>
    public double PerifascicularAtrophy { get; init; }
    public int TileSize { get; init; } = 256;
    public int JpegQuality { get; init; } = 90;
    /// <summary>Glass intensity I0 the slide is rendered with.</summary>
    public Background Glass { get; init; } = Background.White;
    public StainSet Stains { get; init; } = StainPresets.HDab;

    public string? Problem() =>
        Width < 64 || Height < 64 ? "--width and --height must be at least 64"
        : (long)Width * Height > 20_000_000_000L ? "slides above 20 gigapixels are not supported"
        : !(Mpp is > 0.05 and <= 20) ? "--mpp must be between 0.05 and 20"
        : !(FibresPositive is >= 0 and <= 1) ? "--fibres-positive must be between 0 and 1"
        : !(FibresSarcoplasmic is >= 0 and <= 1) ? "--fibres-sarcoplasmic must be between 0 and 1"
        : !(EndomysiumMicrons is >= 0 and <= 20) ? "--endomysium-um must be between 0 and 20"
        : !(DabScale is >= 0 and <= 5) ? "--dab-scale must be between 0 and 5"
        : !(EndomysiumOd is >= 0 and <= 1) ? "--endomysium-od must be between 0 and 1"
        : !(FibreSizeVariation is >= 0 and <= 0.6) ? "--fibre-size-variation must be between 0 and 0.6"
        : !(CentralNuclei is >= 0 and <= 1) ? "--central-nuclei must be between 0 and 1"
        : CentralNuclei > 0 && (Cells is > 0 || Clusters > 0 || FascicleMicrons > 0) ? "--central-nuclei places every nucleus by its depth in a fibre: use it with --cells 0, no --clusters and no --fascicle-um"
        : Cells is < 0 || NegativeNuclei is < 0 || Capillaries < 0 || Clusters < 0 ? "cell, cluster and capillary counts must not be negative"
        : FascicleMicrons != 0 && !(FascicleMicrons >= 4 * FibreDiameterMicrons && FascicleMicrons <= 20000) ? "--fascicle-um must be 0 or at least four fibre diameters"
        : !(PerimysiumMicrons is >= 10 and <= 500) ? "--perimysium-um must be between 10 and 500"
        : Vessels < 0 || EndomysialCells < 0 || PerimysialCells < 0 || PerivascularCells < 0 || InvadingCells < 0 ? "vessel and compartment cell counts must not be negative"
        : PerifascicularPositive is < 0 or > 1 ? "--perifascicular-positive must be between 0 and 1"
        : !(PerifascicularAtrophy is >= 0 and <= 0.4) ? "--perifascicular-atrophy must be between 0 and 0.4"
        : PerifascicularLayers < 1 ? "--perifascicular-layers must be at least 1"
        : TileSize is < 64 or > 4096 || TileSize % 16 != 0 ? "--tile-size must be a multiple of 16 between 64 and 4096"
        : JpegQuality is < 10 or > 100 ? "--quality must be between 10 and 100"
        : null;
}
