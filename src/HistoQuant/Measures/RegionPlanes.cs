using HistoQuant.Kernels;
using HistoQuant.Slides;

namespace HistoQuant.Measures;

/// <summary>
/// One region of level 0 handed to an object detector: the counterstain and chromogen planes of the core
/// square plus a margin on every side, and where the region lies on the slide. <see cref="Tissue"/> is the slide's
/// tissue (objects are segmented whole on it); the regions of interest, when given, only decide which objects
/// count, by their centre (<see cref="Owns"/>).
/// </summary>
public sealed record RegionPlanes(float[] Counterstain, float[] Chromogen, int Width, int Height, int X0, int Y0, TileRect Core, TissueMask Tissue,
    RegionShape? Regions = null)
{
    /// <summary>Maps a plane pixel position to level-0 coordinates.</summary>
    public (double X, double Y) ToLevel0(double x, double y) => (X0 + x, Y0 + y);

    /// <summary>True for a level-0 position in this region's core, in tissue and in the regions of interest: the objects this region owns.</summary>
    public bool Owns(double x, double y) =>
        x >= Core.X && x < Core.X + Core.Width && y >= Core.Y && y < Core.Y + Core.Height && Tissue.IsTissue(x, y) && (Regions?.Contains(x, y) ?? true);

    /// <summary>True where the region touches the slide's own edge on that side (nothing lies beyond it).</summary>
    public (bool Left, bool Top, bool Right, bool Bottom) AtSlideEdge(int slideWidth, int slideHeight) =>
        (X0 == 0, Y0 == 0, X0 + Width == slideWidth, Y0 + Height == slideHeight);
}
