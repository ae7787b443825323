namespace HistoQuant.Measures.Compartments;

/// <summary>
/// The marker model's "compartments" section (lengths in µm, areas in µm²). Definitions are in the README
/// ("Compartments and the perifascicular pattern").
/// </summary>
public sealed record CompartmentSettings(
    // Fibres closer than this across an interstitial gap belong to one fascicle: the fibre map is closed with a disk of
    // half this radius, so endomysium (narrower) is filled and perimysial septa (wider) stay open.
    double FascicleGapMicrons = 25,
    // Holes left in a fascicle after the closing (a fibre the segmentation missed, a retraction space) are filled up to this area.
    double FillHolesMicrons2 = 6000,
    // A fascicle holds at least this many fibres; smaller groups lie in the perimysium.
    int MinFascicleFibres = 3,
    // The perivascular zone: tissue within this distance of a vessel lumen's edge (the wall included).
    double PerivascularMicrons = 30,
    // A vessel lumen: a pale hole in the tissue (OD sum below LumenFraction × the region's median tissue OD) of this area,
    // larger than a capillary's lumen (the capillaries measure covers those).
    double MinLumenMicrons2 = 150,
    double MaxLumenMicrons2 = 50000,
    double LumenFraction = 0.5,
    // ...and compact: its area over its convex hull's at least this.
    double MinLumenSolidity = 0.7,
    // Its wall: the tissue 2–6 µm outside the lumen has a mean OD of at least WallFraction × the median...
    double WallFraction = 0.7,
    // ...and no more than this fraction of that ring is fibre (a retraction space between fibres is not a vessel).
    double MaxWallFibreFraction = 0.4,
    // A cell invades a fibre when its centroid lies at least this far inside the fibre's outline: about half a macrophage,
    // since an endomysial cell pressed between fibres overlaps their outlines by up to that much in a section.
    double InvadingMicrons = 6,
    // Perifascicular fibres: the first this many layers from the fascicle border; deeper fibres are central.
    int PerifascicularLayers = 2,
    // Resolution of the slide-wide compartment map and of the vessel search.
    double MapMicronsPerPixel = 2,
    double CoreMicrons = 1024,
    double MarginMicrons = 160);

/// <summary>A vessel lumen candidate in level-0 pixels: its centroid, its area and its outline (always kept: the map needs it).</summary>
public sealed record DetectedVessel(double X, double Y, double LumenMicrons2, double WallOd, IReadOnlyList<(double X, double Y)> Outline);

/// <summary>Where a positive cell lies: the compartment of its centroid, or inside a fibre (invading).</summary>
public enum CellPlace { Outside, Endomysial, Perimysial, Perivascular, Invading }
