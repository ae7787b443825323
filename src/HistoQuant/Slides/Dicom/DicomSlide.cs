using System.Globalization;
using HistoQuant.Slides.Codecs;
using HistoQuant.Slides.Tiff;
using Microsoft.Win32.SafeHandles;

namespace HistoQuant.Slides.Dicom;

/// <summary>
/// A DICOM whole-slide image (VL Whole Slide Microscopy Image Storage): one instance per pyramid level, in one file
/// or in several files of the same series beside each other. Frames are the tiles; TILED_FULL frames run row by row,
/// TILED_SPARSE ones say where they go in the Plane Position (Slide) sequence; positions without a frame are glass.
/// </summary>
internal sealed class DicomSlide : ISlide
{
    public const string WsiSopClass = "1.2.840.10008.5.1.4.1.1.77.1.6";

    private readonly DicomLevel[] _levels;

    public string Path { get; }
    public string Format => "dicom-wsi";
    public IReadOnlyList<SlideLevel> Levels { get; }
    public double? MppX { get; }
    public double? MppY { get; }
    public double? Magnification { get; }
    public IReadOnlyDictionary<string, string> Properties { get; }

    private DicomSlide(string path, DicomLevel[] levels)
    {
        Path = path;
        _levels = levels;
        var base0 = levels[0];
        Levels = levels.Select((l, i) => new SlideLevel(i, l.Width, l.Height, l.Columns, l.Rows, (double)base0.Width / l.Width)).ToArray();
        var ds = base0.Header;
        // Pixel Spacing is (row spacing, column spacing) in mm, in the Pixel Measures sequence of the shared
        // functional groups (or, in some writers, of each frame's).
        var spacing = ds.Item0(0x52009229)?.Item0(0x00289110)?.Decimals(0x00280030) is { Length: 2 } s ? s
            : ds.Item0(0x52009230)?.Item0(0x00289110)?.Decimals(0x00280030) is { Length: 2 } p ? p : null;
        if (spacing is not null && SlideMetadata.IsPlausibleMpp(spacing[1] * 1000) && SlideMetadata.IsPlausibleMpp(spacing[0] * 1000))
        {
            MppX = spacing[1] * 1000;
            MppY = spacing[0] * 1000;
        }
        if (ds.Item0(0x00480105)?.Decimals(0x00480112) is [var power, ..] && power > 0)
            Magnification = power;
        var props = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["dicom.TransferSyntaxUID"] = string.Join(", ", levels.Select(l => l.Header.TransferSyntax).Distinct()),
            ["dicom.PhotometricInterpretation"] = string.Join(", ", levels.Select(l => l.Photometric).Distinct()),
            ["dicom.DimensionOrganizationType"] = string.Join(", ", levels.Select(l => l.Sparse ? "TILED_SPARSE" : "TILED_FULL").Distinct()),
            ["dicom.Files"] = string.Join(", ", levels.Select(l => System.IO.Path.GetFileName(l.File)).Distinct()),
        };
        foreach (var (tag, name) in new[] { (0x00080070u, "Manufacturer"), (0x00081090u, "ManufacturerModelName"), (0x0020000Eu, "SeriesInstanceUID"), (0x00080008u, "ImageType"), (0x00480001u, "ImagedVolumeWidth"), (0x00480002u, "ImagedVolumeHeight") })
            if (ds[tag] is not null)
                props["dicom." + name] = ds.Decimals(tag) is { Length: > 0 } d && ds[tag]!.Vr is "FL" or "FD"
                    ? string.Join("\\", d.Select(x => x.ToString(CultureInfo.InvariantCulture))) : ds.String(tag) ?? "";
        if (MppX is null)
            props["histoquant.ResolutionNote"] = "no Pixel Spacing in the Pixel Measures sequence";
        Properties = props;
    }

    /// <summary>Opens the slide <paramref name="path"/> belongs to: its own levels and those of the same series beside it.</summary>
    public static DicomSlide Open(string path)
    {
        var opened = new List<DicomLevel>();
        try
        {
            var first = DicomLevel.Open(path);
            opened.Add(first);
            if (first.SopClass != WsiSopClass)
                throw new SlideException(path, $"is DICOM but not a whole-slide image (SOP class {first.SopClass}; expected VL Whole Slide Microscopy Image {WsiSopClass})");
            foreach (var other in DicomSeries.Siblings(path, first.SeriesUid))
            {
                try
                {
                    opened.Add(DicomLevel.Open(other));
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"{System.IO.Path.GetFileName(other)} (a file of the same series): {e.Message}", e);
                }
            }
            // The pyramid: VOLUME images (not LABEL, OVERVIEW or THUMBNAIL), each strictly smaller than the one before.
            var volume = opened.Where(l => l.IsVolume).OrderByDescending(l => (long)l.Width * l.Height).ToList();
            if (volume.Count == 0)
                volume = [first];
            var levels = new List<DicomLevel>();
            foreach (var l in volume)
                if (levels.Count == 0 || (l.Width < levels[^1].Width && l.Height < levels[^1].Height))
                    levels.Add(l);
            foreach (var l in opened.Except(levels))
                l.Dispose();
            opened = levels;
            return new DicomSlide(path, levels.ToArray());
        }
        catch (InvalidDataException e)
        {
            foreach (var l in opened)
                l.Dispose();
            throw new SlideException(path, $"DICOM: {e.Message}");
        }
        catch
        {
            foreach (var l in opened)
                l.Dispose();
            throw;
        }
    }

    public void ReadTile(int level, int col, int row, Span<byte> rgb)
    {
        try
        {
            _levels[level].ReadTile(col, row, rgb);
        }
        catch (InvalidDataException e)
        {
            throw new SlideException(_levels[level].File, $"DICOM frame for tile ({col},{row}) of level {level}: {e.Message}");
        }
    }

    public void Dispose()
    {
        foreach (var l in _levels)
            l.Dispose();
    }
}

/// <summary>Finds the other instances of a series in the folder of one of its files.</summary>
internal static class DicomSeries
{
    /// <summary>What identifies an instance, read once per file and version (a folder run asks for every file's siblings).</summary>
    private sealed record Summary(string? SopClass, string? SeriesUid, bool IsVolume, long Pixels);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, DateTime, long), Summary?> Summaries = new();

    private static Summary? Of(string file)
    {
        var info = new FileInfo(file);
        if (!info.Exists)
            return null;
        return Summaries.GetOrAdd((info.FullName, info.LastWriteTimeUtc, info.Length), _ =>
        {
            try
            {
                using var h = File.OpenHandle(file);
                // Groups 0008-0048 identify the instance; the functional groups (5200) after them can list a million frames.
                var ds = DicomDataset.Read(h, headerOnly: true, lastTag: 0x0048FFFF);
                return new Summary(ds.String(0x00080016), ds.String(0x0020000E), DicomLevel.IsVolumeImage(ds),
                    (ds.Integer(0x00480006) ?? 0) * (ds.Integer(0x00480007) ?? 0));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                return null; // not ours to judge: opened on its own, it reports its own problem
            }
        });
    }

    public static IEnumerable<string> Siblings(string path, string? seriesUid)
    {
        if (string.IsNullOrEmpty(seriesUid))
            return [];
        var self = System.IO.Path.GetFullPath(path);
        return Directory.EnumerateFiles(System.IO.Path.GetDirectoryName(self)!, "*.dcm").Order(StringComparer.Ordinal)
            .Where(f => f != self && Of(f) is { } s && s.SopClass == DicomSlide.WsiSopClass && s.SeriesUid == seriesUid);
    }

    /// <summary>
    /// True for a file that is not the largest VOLUME image of its series: a folder run measures the series once,
    /// through its full-resolution file, not once per level.
    /// </summary>
    public static bool IsSecondaryLevel(string path)
    {
        if (Of(path) is not { SopClass: DicomSlide.WsiSopClass } me)
            return false;
        foreach (var other in Siblings(path, me.SeriesUid))
        {
            var o = Of(other)!;
            if (!me.IsVolume && o.IsVolume)
                return true;
            if (o.IsVolume == me.IsVolume && (o.Pixels > me.Pixels || (o.Pixels == me.Pixels && string.CompareOrdinal(other, System.IO.Path.GetFullPath(path)) < 0)))
                return true;
        }
        return false;
    }
}

/// <summary>One instance: a level of the pyramid, its frames and how to decode them.</summary>
internal sealed class DicomLevel : IDisposable
{
    private const string JpegBaseline = "1.2.840.10008.1.2.4.50", JpegExtended = "1.2.840.10008.1.2.4.51";
    private static readonly HashSet<string> Jpeg2000 = ["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"];
    private static readonly HashSet<string> Native = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"];

    private readonly SafeFileHandle _handle;
    private readonly int[] _frameAt; // frame index per grid position (row-major), -1 where none
    private readonly List<(long Offset, int Length)>[]? _encapsulated;
    private readonly long _nativeOffset;
    private readonly int _samples, _planar;

    public string File { get; }
    public DicomDataset Header { get; }
    public string? SopClass { get; }
    public string? SeriesUid { get; }
    public bool IsVolume { get; }
    public int Width { get; }
    public int Height { get; }
    public int Columns { get; }
    public int Rows { get; }
    public string Photometric { get; }
    public bool Sparse { get; }

    private DicomLevel(string file, SafeFileHandle handle, DicomDataset ds)
    {
        File = file;
        _handle = handle;
        Header = ds;
        SopClass = ds.String(0x00080016);
        SeriesUid = ds.String(0x0020000E);
        IsVolume = IsVolumeImage(ds);
        Rows = (int)(ds.Integer(0x00280010) ?? 0);
        Columns = (int)(ds.Integer(0x00280011) ?? 0);
        Width = (int)Math.Min(int.MaxValue, ds.Integer(0x00480006) ?? Columns);
        Height = (int)Math.Min(int.MaxValue, ds.Integer(0x00480007) ?? Rows);
        _samples = (int)(ds.Integer(0x00280002) ?? 1);
        _planar = (int)(ds.Integer(0x00280006) ?? 0);
        Photometric = ds.String(0x00280004) ?? "";
        if (Rows < 1 || Columns < 1 || Width < 1 || Height < 1)
            throw new InvalidDataException($"frame size {Columns}x{Rows} or total pixel matrix {Width}x{Height} is missing or zero");
        if (Rows > 16384 || Columns > 16384 || (long)Rows * Columns > 16 << 20)
            throw new InvalidDataException($"frames of {Columns}x{Rows} px; HistoQuant reads frames of at most 16384 px and 16 Mpx");
        if ((ds.Integer(0x00280100) ?? 8) != 8)
            throw new InvalidDataException($"{ds.Integer(0x00280100)}-bit samples are not supported (8-bit only)");
        if (_samples is not (1 or 3))
            throw new InvalidDataException($"{_samples} samples per pixel are not supported");
        string syntax = ds.TransferSyntax;
        if (!Native.Contains(syntax) && syntax != JpegBaseline && syntax != JpegExtended && !Jpeg2000.Contains(syntax))
            throw new InvalidDataException($"transfer syntax {syntax} is not supported (JPEG baseline, JPEG 2000 and uncompressed are)");

        int frames = (int)Math.Max(1, ds.Integer(0x00280008) ?? 1);
        int across = (Width + Columns - 1) / Columns, down = (Height + Rows - 1) / Rows;
        _frameAt = new int[(long)across * down <= 1 << 24 ? across * down : throw new InvalidDataException($"a {across}x{down} grid of frames is too large")];
        Array.Fill(_frameAt, -1);
        var perFrame = ds[0x52009230]?.Items;
        Sparse = ds.String(0x00209311) == "TILED_SPARSE"
            || (ds.String(0x00209311) != "TILED_FULL" && perFrame is { Count: > 0 } && perFrame[0].Item0(0x0048021A) is not null);
        if (Sparse)
        {
            if (perFrame is null || perFrame.Count < frames)
                throw new InvalidDataException($"TILED_SPARSE with {perFrame?.Count ?? 0} per-frame positions for {frames} frames");
            for (int i = 0; i < frames; i++)
            {
                var pos = perFrame[i].Item0(0x0048021A);
                long? c = pos?.Integer(0x0048021E), r = pos?.Integer(0x0048021F);
                if (c is null || r is null)
                    throw new InvalidDataException($"frame {i + 1} has no Plane Position (Slide)");
                // Positions are 1-based; frames off the grid (other focal planes keep the same place) are left out.
                long col = (c.Value - 1) / Columns, row = (r.Value - 1) / Rows;
                if (c < 1 || r < 1 || (c.Value - 1) % Columns != 0 || (r.Value - 1) % Rows != 0 || col >= across || row >= down)
                    throw new InvalidDataException($"frame {i + 1} lies at ({c},{r}), not on the {Columns}x{Rows} frame grid of a {Width}x{Height} image");
                if (_frameAt[row * across + col] < 0)
                    _frameAt[row * across + col] = i;
            }
        }
        else
        {
            // TILED_FULL: frames row by row; further frames (other focal planes, optical paths) are not read.
            if (frames < _frameAt.Length)
                throw new InvalidDataException($"TILED_FULL needs {_frameAt.Length} frames for {Width}x{Height} px in {Columns}x{Rows} frames, the file has {frames}");
            for (int i = 0; i < _frameAt.Length; i++)
                _frameAt[i] = i;
        }

        var pixels = ds[DicomDataset.PixelData] ?? throw new InvalidDataException("no Pixel Data");
        if (Native.Contains(syntax))
        {
            long frameBytes = (long)Rows * Columns * _samples;
            if (pixels.DataLength < frameBytes * frames)
                throw new InvalidDataException($"Pixel Data holds {pixels.DataLength} bytes, {frames} frames of {Columns}x{Rows}x{_samples} need {frameBytes * frames}");
            _nativeOffset = pixels.DataOffset;
        }
        else
            _encapsulated = SplitFrames(pixels, frames, syntax is JpegBaseline or JpegExtended);
    }

    /// <summary>A pyramid image: Image Type's third value VOLUME (not LABEL, OVERVIEW, THUMBNAIL), or no Image Type at all.</summary>
    public static bool IsVolumeImage(DicomDataset ds) => ds.Strings(0x00080008) is not [_, _, var kind, ..] || kind == "VOLUME";

    public static DicomLevel Open(string file)
    {
        var handle = System.IO.File.OpenHandle(file);
        try
        {
            return new DicomLevel(file, handle, DicomDataset.Read(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Groups fragments into frames: by the Basic Offset Table, one fragment each, or (JPEG) by start-of-image markers.</summary>
    private List<(long, int)>[] SplitFrames(DicomElement pixels, int frames, bool jpeg)
    {
        var fragments = pixels.Fragments!;
        var result = new List<(long, int)>[frames];
        if (pixels.OffsetTable is { Length: > 0 } bot && bot.Length == frames)
        {
            for (int f = 0; f < frames; f++)
            {
                long start = bot[f], end = f + 1 < frames ? bot[f + 1] : long.MaxValue;
                result[f] = fragments.Where(x => x.ItemOffset >= start && x.ItemOffset < end).Select(x => (x.Offset, x.Length)).ToList();
            }
        }
        else if (fragments.Count == frames)
        {
            for (int f = 0; f < frames; f++)
                result[f] = [(fragments[f].Offset, fragments[f].Length)];
        }
        else if (frames == 1)
            result[0] = fragments.Select(x => (x.Offset, x.Length)).ToList();
        else if (jpeg)
        {
            int f = -1;
            Span<byte> soi = stackalloc byte[2];
            foreach (var x in fragments)
            {
                RandomAccess.Read(_handle, soi, x.Offset);
                if (soi[0] == 0xFF && soi[1] == 0xD8 && ++f >= frames)
                    break;
                if (f >= 0)
                    (result[f] ??= []).Add((x.Offset, x.Length));
            }
        }
        for (int f = 0; f < frames; f++)
            if (result[f] is not { Count: > 0 })
                throw new InvalidDataException($"frame {f + 1} of {frames} has no data in the encapsulated Pixel Data ({fragments.Count} fragments)");
        return result;
    }

    public void ReadTile(int col, int row, Span<byte> rgb)
    {
        int across = (Width + Columns - 1) / Columns;
        int frame = _frameAt[row * across + col];
        int stride = Columns * 3;
        if (frame < 0)
        {
            rgb[..(stride * Rows)].Fill(255); // TILED_SPARSE: nothing scanned here, which is glass
            return;
        }
        if (_encapsulated is null)
        {
            ReadNative(frame, rgb);
            return;
        }
        var pieces = _encapsulated[frame];
        long total = pieces.Sum(p => (long)p.Length);
        if (total > 64 << 20)
            throw new InvalidDataException($"frame of {total} bytes, more than a {Columns}x{Rows} frame can need");
        var data = new byte[total];
        int at = 0;
        foreach (var (offset, length) in pieces)
        {
            RandomAccess.Read(_handle, data.AsSpan(at, length), offset);
            at += length;
        }
        if (Header.TransferSyntax is JpegBaseline or JpegExtended)
            DecodeJpeg(data, rgb);
        else
        {
            var (w, h) = OpenCvCodec.DecodeToRgb(data, rgb, Columns, Rows);
            if (w == 0)
                throw new InvalidDataException("JPEG 2000 data could not be decoded (corrupt?)");
            if (w != Columns || h != Rows)
                throw new InvalidDataException($"JPEG 2000 frame is {w}x{h} px, expected {Columns}x{Rows}");
        }
    }

    private void DecodeJpeg(byte[] data, Span<byte> rgb)
    {
        ReadOnlySpan<byte> jpeg = data;
        // Photometric RGB means the components are R, G, B; without a JFIF or Adobe marker saying so, libjpeg would
        // take them for YCbCr. With a marker, the stream itself says what it holds (as pydicom/Pillow read it).
        byte[]? spliced = null;
        if (Photometric == "RGB" && !HasColourMarker(jpeg))
        {
            spliced = new byte[JpegStream.MaxAssembledLength(0, data.Length)];
            int n = JpegStream.Assemble([], data, componentsAreRgb: true, spliced);
            if (n < 0)
                throw new InvalidDataException("frame is not JPEG data");
            jpeg = spliced.AsSpan(0, n);
        }
        if (JpegStream.HasZeroQuantiser(jpeg))
            throw new InvalidDataException("corrupt JPEG data (a quantisation table holds zeros)");
        var (w, h) = TurboJpeg.Size(jpeg);
        if (w != Columns || h != Rows)
            throw new InvalidDataException($"JPEG frame is {w}x{h} px, expected {Columns}x{Rows}");
        TurboJpeg.DecodeToRgb(jpeg, rgb, Columns * 3, w, h);
    }

    private static bool HasColourMarker(ReadOnlySpan<byte> jpeg)
    {
        int i = 2;
        while (i + 4 <= jpeg.Length && jpeg[i] == 0xFF)
        {
            byte marker = jpeg[i + 1];
            if (marker is 0xDA or 0xD9)
                return false;
            int length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(jpeg[(i + 2)..]);
            if (marker == 0xE0 && jpeg[(i + 4)..].StartsWith("JFIF"u8) || marker == 0xEE && jpeg[(i + 4)..].StartsWith("Adobe"u8))
                return true;
            i += 2 + length;
        }
        return false;
    }

    private void ReadNative(int frame, Span<byte> rgb)
    {
        int pixels = Rows * Columns;
        var raw = new byte[pixels * _samples];
        RandomAccess.Read(_handle, raw, _nativeOffset + (long)frame * raw.Length);
        if (_samples == 1)
        {
            for (int i = 0; i < pixels; i++)
                rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = Photometric == "MONOCHROME1" ? (byte)(255 - raw[i]) : raw[i];
            return;
        }
        for (int i = 0; i < pixels; i++)
        {
            byte a = _planar == 1 ? raw[i] : raw[3 * i], b = _planar == 1 ? raw[pixels + i] : raw[3 * i + 1], c = _planar == 1 ? raw[2 * pixels + i] : raw[3 * i + 2];
            if (Photometric == "YBR_FULL")
            {
                // ITU-R BT.601 full range, as PS3.3 C.7.6.3.1.2 defines YBR_FULL.
                double y = a, cb = b - 128.0, cr = c - 128.0;
                rgb[3 * i] = Clamp(y + 1.402 * cr);
                rgb[3 * i + 1] = Clamp(y - 0.344136 * cb - 0.714136 * cr);
                rgb[3 * i + 2] = Clamp(y + 1.772 * cb);
            }
            else
            {
                rgb[3 * i] = a;
                rgb[3 * i + 1] = b;
                rgb[3 * i + 2] = c;
            }
        }
    }

    private static byte Clamp(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);

    public void Dispose() => _handle.Dispose();
}
