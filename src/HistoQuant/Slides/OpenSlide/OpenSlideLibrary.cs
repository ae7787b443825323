using System.Runtime.InteropServices;

namespace HistoQuant.Slides.OpenSlide;

/// <summary>
/// The system OpenSlide library (Debian's libopenslide0, 3.4.1), loaded on first use. Its C API is small: open,
/// levels, properties, read_region into premultiplied ARGB, and a sticky error string per handle.
/// </summary>
internal static unsafe partial class OpenSlideLibrary
{
    public const string File = "libopenslide.so.0";

    // OpenCV's native library exports its own libjpeg, libtiff, libpng and OpenJPEG into the process's global scope,
    // and a system libjpeg loaded on OpenCV's behalf (through GTK) then calls OpenCV's copies: OpenSlide crashed inside
    // jpeg_read_header whenever OpenCV had been loaded first. So OpenSlide is loaded with RTLD_DEEPBIND (it and the
    // libraries it brings bind to each other first) and before OpenCV: see Preload. (dlmopen into a namespace of its
    // own crashed the .NET host.)
    private const int RtldNow = 2, RtldLocal = 0, RtldDeepBind = 8;

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)] private static partial IntPtr dlopen(string file, int mode);

    /// <summary>
    /// Loads OpenSlide (when installed) as soon as this assembly is used, before any OpenCV call can load OpenCV's
    /// copies of the image libraries; costs a few milliseconds per process.
    /// </summary>
#pragma warning disable CA2255 // the load order of native libraries is exactly what a module initializer is for here
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void Preload() => _ = Loaded.Value;
#pragma warning restore CA2255

    internal sealed class Api
    {
        public required delegate* unmanaged<byte*, byte*> DetectVendor;
        public required delegate* unmanaged<byte*, IntPtr> Open;
        public required delegate* unmanaged<IntPtr, void> Close;
        public required delegate* unmanaged<IntPtr, byte*> GetError;
        public required delegate* unmanaged<IntPtr, int> GetLevelCount;
        public required delegate* unmanaged<IntPtr, int, long*, long*, void> GetLevelDimensions;
        public required delegate* unmanaged<IntPtr, int, double> GetLevelDownsample;
        public required delegate* unmanaged<IntPtr, byte**> GetPropertyNames;
        public required delegate* unmanaged<IntPtr, byte*, byte*> GetPropertyValue;
        public required delegate* unmanaged<IntPtr, uint*, long, long, int, long, long, void> ReadRegion;
        public required delegate* unmanaged<byte*> GetVersion;
    }

    private static readonly Lazy<(Api? Api, string? Problem)> Loaded = new(() => Load(File));

    /// <summary>The library's functions, or why it cannot be used (one line).</summary>
    internal static (Api? Api, string? Problem) Load(string file)
    {
        IntPtr lib = dlopen(file, RtldNow | RtldLocal | RtldDeepBind);
        if (lib == IntPtr.Zero)
            return (null, $"the OpenSlide library ({file}) is missing; install Debian's libopenslide0 (./histoquant does it when it can)");
        IntPtr F(string name) => NativeLibrary.GetExport(lib, name);
        return (new Api
        {
            DetectVendor = (delegate* unmanaged<byte*, byte*>)F("openslide_detect_vendor"),
            Open = (delegate* unmanaged<byte*, IntPtr>)F("openslide_open"),
            Close = (delegate* unmanaged<IntPtr, void>)F("openslide_close"),
            GetError = (delegate* unmanaged<IntPtr, byte*>)F("openslide_get_error"),
            GetLevelCount = (delegate* unmanaged<IntPtr, int>)F("openslide_get_level_count"),
            GetLevelDimensions = (delegate* unmanaged<IntPtr, int, long*, long*, void>)F("openslide_get_level_dimensions"),
            GetLevelDownsample = (delegate* unmanaged<IntPtr, int, double>)F("openslide_get_level_downsample"),
            GetPropertyNames = (delegate* unmanaged<IntPtr, byte**>)F("openslide_get_property_names"),
            GetPropertyValue = (delegate* unmanaged<IntPtr, byte*, byte*>)F("openslide_get_property_value"),
            ReadRegion = (delegate* unmanaged<IntPtr, uint*, long, long, int, long, long, void>)F("openslide_read_region"),
            GetVersion = (delegate* unmanaged<byte*>)F("openslide_get_version"),
        }, null);
    }

    /// <summary>Null when OpenSlide can be used, else why not (one line).</summary>
    public static string? Problem => Loaded.Value.Problem;

    public static Api Functions => Loaded.Value.Api ?? throw new InvalidOperationException(Loaded.Value.Problem);

    public static string Version => Utf8(Functions.GetVersion()) ?? "?";

    /// <summary>OpenSlide's vendor name for the file ("hamamatsu", "mirax"...), or null when it does not recognise it.</summary>
    public static string? DetectVendor(string path)
    {
        var api = Functions;
        fixed (byte* p = Utf8Z(path))
            return Utf8(api.DetectVendor(p));
    }

    public static string? Utf8(byte* s) => s == null ? null : Marshal.PtrToStringUTF8((IntPtr)s);

    public static byte[] Utf8Z(string s)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(s) + 1];
        System.Text.Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
