namespace HistoQuant.Tests;

/// <summary>
/// Test code calls OpenCV directly (the vendor-slide generators encode JPEG with it), possibly before any HistoQuant
/// type runs its module initializer; OpenSlide must be loaded first (see OpenSlideLibrary), as the CLI does.
/// </summary>
internal static class NativeOrder
{
#pragma warning disable CA2255 // native load order, as in OpenSlideLibrary
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void LoadOpenSlideBeforeOpenCv() => HistoQuant.Slides.OpenSlide.OpenSlideLibrary.Preload();
#pragma warning restore CA2255
}
