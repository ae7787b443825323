using System.Runtime.InteropServices;

namespace HistoQuant.Slides.Codecs;

/// <summary>
/// JPEG decoding through the system TurboJPEG library (Debian's libturbojpeg0, installed by the launcher). Unlike
/// OpenCV's decoder, which prints libjpeg's "Corrupt JPEG data" warnings to stderr and returns an image anyway,
/// TurboJPEG reports warnings per call: a corrupt tile is an error here, never silently wrong pixels. It also
/// decodes straight to RGB, and its header call gives the size before any pixel memory is allocated.
/// </summary>
internal static unsafe partial class TurboJpeg
{
    private const string Library = "libturbojpeg.so.0";
    private const int PixelFormatRgb = 0; // TJPF_RGB
    // TJFLAG_STOPONWARNING: a warning (corrupt data, premature end) ends decoding with an error.
    // TJFLAG_LIMITSCANS: refuse progressive JPEGs with more than 500 scans (a known way to make a tiny file cost minutes).
    private const int Flags = 8192 | 32768;

    // OpenCV's native library exports its own (different) libjpeg; a plain dlopen would let those symbols stand in
    // for the ones inside libturbojpeg ("Bogus DQT index" and worse). RTLD_DEEPBIND makes TurboJPEG bind to its own.
    private const int RtldNow = 2, RtldLocal = 0, RtldDeepBind = 8;

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)] private static partial IntPtr dlopen(string file, int mode);

    private sealed class Api
    {
        public required delegate* unmanaged<IntPtr> InitDecompress;
        public required delegate* unmanaged<IntPtr, byte*, nuint, int*, int*, int*, int*, int> DecompressHeader3;
        public required delegate* unmanaged<IntPtr, byte*, nuint, byte*, int, int, int, int, int, int> Decompress2;
        public required delegate* unmanaged<IntPtr, IntPtr> GetErrorStr2;
        public required delegate* unmanaged<IntPtr, int> Destroy;
    }

    private static readonly Lazy<(Api? Api, string? Problem)> Loaded = new(() =>
    {
        IntPtr lib = dlopen(Library, RtldNow | RtldLocal | RtldDeepBind);
        if (lib == IntPtr.Zero)
            return (null, $"the TurboJPEG library ({Library}) is missing; install Debian's libturbojpeg0 (./histoquant does it when it can)");
        return (new Api
        {
            InitDecompress = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(lib, "tjInitDecompress"),
            DecompressHeader3 = (delegate* unmanaged<IntPtr, byte*, nuint, int*, int*, int*, int*, int>)NativeLibrary.GetExport(lib, "tjDecompressHeader3"),
            Decompress2 = (delegate* unmanaged<IntPtr, byte*, nuint, byte*, int, int, int, int, int, int>)NativeLibrary.GetExport(lib, "tjDecompress2"),
            GetErrorStr2 = (delegate* unmanaged<IntPtr, IntPtr>)NativeLibrary.GetExport(lib, "tjGetErrorStr2"),
            Destroy = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "tjDestroy"),
        }, null);
    });

    [ThreadStatic] private static IntPtr t_handle; // one decompressor per worker thread, reused for every tile

    private static Api Functions => Loaded.Value.Api ?? throw new InvalidDataException(Loaded.Value.Problem);

    /// <summary>Null when TurboJPEG can be used, else why not.</summary>
    public static string? Problem => Loaded.Value.Problem;

    private static IntPtr Handle
    {
        get
        {
            if (t_handle == IntPtr.Zero)
            {
                t_handle = Functions.InitDecompress();
                if (t_handle == IntPtr.Zero)
                    throw new InvalidDataException("TurboJPEG could not start a decompressor");
            }
            return t_handle;
        }
    }

    /// <summary>
    /// The reason of the last failure; the decompressor is then thrown away, because after an error in the middle of
    /// a stream its state is not trusted for the next tile (a later valid tile failed with "Bogus DQT index").
    /// </summary>
    private static string Fail(IntPtr handle)
    {
        string why = Marshal.PtrToStringUTF8(Functions.GetErrorStr2(handle))?.Trim() ?? "unknown error";
        Functions.Destroy(handle);
        t_handle = IntPtr.Zero;
        return why;
    }

    /// <summary>Width and height from the frame header; throws <see cref="InvalidDataException"/> when it is not readable JPEG.</summary>
    public static (int Width, int Height) Size(ReadOnlySpan<byte> jpeg)
    {
        var handle = Handle;
        fixed (byte* p = jpeg)
        {
            int w, h, subsampling, colorspace;
            if (Functions.DecompressHeader3(handle, p, (nuint)jpeg.Length, &w, &h, &subsampling, &colorspace) != 0)
                throw new InvalidDataException($"corrupt JPEG data ({Fail(handle)})");
            return (w, h);
        }
    }

    /// <summary>
    /// Decodes the whole image as packed RGB into <paramref name="dst"/> with rows <paramref name="pitch"/> bytes
    /// apart; <paramref name="dst"/> must hold its <see cref="Size"/>. Corrupt data, even data libjpeg only warns
    /// about, throws <see cref="InvalidDataException"/> with TurboJPEG's reason.
    /// </summary>
    public static void DecodeToRgb(ReadOnlySpan<byte> jpeg, Span<byte> dst, int pitch, int width, int height)
    {
        if ((long)pitch * (height - 1) + width * 3L > dst.Length)
            throw new ArgumentException("destination too small for the image", nameof(dst));
        var handle = Handle;
        fixed (byte* p = jpeg)
        fixed (byte* d = dst)
        {
            if (Functions.Decompress2(handle, p, (nuint)jpeg.Length, d, width, pitch, height, PixelFormatRgb, Flags) != 0)
                throw new InvalidDataException($"corrupt JPEG data ({Fail(handle)})");
        }
    }
}
