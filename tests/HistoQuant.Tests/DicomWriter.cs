using System.Text;
using OpenCvSharp;

namespace HistoQuant.Tests;

/// <summary>
/// Writes small DICOM WSI files (explicit VR little endian Part 10) for cases the shared files lack: TILED_SPARSE with
/// per-frame Plane Position (Slide), YBR_FULL_422 JPEG, JPEG 2000, missing frames. Written from PS3.3 A.32.8 (VL Whole
/// Slide Microscopy Image IOD) and PS3.5 (encoding); values as a scanner would write them.
/// </summary>
public static class DicomWriter
{
    private static byte[] Element(uint tag, string vr, byte[] value, bool undefinedLength = false)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        if (value.Length % 2 == 1)
            value = [.. value, (byte)(vr is "UI" or "OB" ? 0 : ' ')];
        w.Write((ushort)(tag >> 16));
        w.Write((ushort)tag);
        w.Write(Encoding.ASCII.GetBytes(vr));
        if (vr is "OB" or "OW" or "SQ" or "UN" or "UT")
        {
            w.Write((ushort)0);
            w.Write(undefinedLength ? 0xFFFFFFFF : (uint)value.Length);
        }
        else
            w.Write((ushort)value.Length);
        w.Write(value);
        return ms.ToArray();
    }

    private static byte[] Str(uint tag, string vr, string s) => Element(tag, vr, Encoding.ASCII.GetBytes(s));
    private static byte[] US(uint tag, ushort v) => Element(tag, "US", BitConverter.GetBytes(v));
    private static byte[] UL(uint tag, uint v) => Element(tag, "UL", BitConverter.GetBytes(v));
    private static byte[] SL(uint tag, int v) => Element(tag, "SL", BitConverter.GetBytes(v));

    private static byte[] Item(params byte[][] elements)
    {
        var body = elements.SelectMany(e => e).ToArray();
        if (body.Length % 2 == 1)
            body = [.. body, 0]; // fragments and items have even lengths (a JPEG may end with a padding byte after EOI)
        return [.. BitConverter.GetBytes((ushort)0xFFFE), .. BitConverter.GetBytes((ushort)0xE000), .. BitConverter.GetBytes((uint)body.Length), .. body];
    }

    /// <summary>A sequence of undefined length (items then a sequence delimiter), as many writers emit them.</summary>
    private static byte[] Sequence(uint tag, params byte[][] items) =>
        [.. Element(tag, "SQ", items.SelectMany(i => i).ToArray(), undefinedLength: true), 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];

    public enum Codec { JpegYbr, Jpeg2000, Uncompressed }

    /// <summary>
    /// One level of <paramref name="width"/>x<paramref name="height"/> px in <paramref name="frame"/>-px frames showing
    /// <see cref="VendorSlides.Picture"/>; with <paramref name="sparse"/>, frames carry their positions and those listed in
    /// <paramref name="omit"/> (row-major grid indices) are left out.
    /// </summary>
    public static void Write(string path, int width, int height, int frame, Codec codec, bool sparse, double mppMm = 0.0005,
        int[]? omit = null, string seriesUid = "1.2.826.0.1.3680043.10.1234.1", string sopClass = "1.2.840.10008.5.1.4.1.1.77.1.6", string imageType = "ORIGINAL\\PRIMARY\\VOLUME\\NONE")
    {
        int across = (width + frame - 1) / frame, down = (height + frame - 1) / frame;
        var frames = new List<(int Col, int Row, byte[] Data)>();
        for (int r = 0; r < down; r++)
            for (int c = 0; c < across; c++)
            {
                if (sparse && omit is not null && omit.Contains(r * across + c))
                    continue;
                // Edge frames are padded to the full frame size (with black, as converters often do).
                using var pic = VendorSlides.Picture(frame, frame, width, height, c * frame, r * frame);
                for (int y = 0; y < frame; y++)
                    for (int x = 0; x < frame; x++)
                        if (c * frame + x >= width || r * frame + y >= height)
                            pic.Set(y, x, new Vec3b(0, 0, 0));
                byte[] data = codec switch
                {
                    Codec.JpegYbr => pic.ImEncode(".jpg", new ImageEncodingParam(ImwriteFlags.JpegQuality, 95)),
                    Codec.Jpeg2000 => pic.ImEncode(".jp2"),
                    _ => Rgb(pic),
                };
                frames.Add((c, r, data));
            }
        string syntax = codec switch { Codec.JpegYbr => "1.2.840.10008.1.2.4.50", Codec.Jpeg2000 => "1.2.840.10008.1.2.4.90", _ => "1.2.840.10008.1.2.1" };
        string photometric = codec switch { Codec.JpegYbr => "YBR_FULL_422", Codec.Jpeg2000 => "RGB", _ => "RGB" };
        string mpp = mppMm.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture);

        var body = new List<byte[]>
        {
            Str(0x00080008, "CS", imageType),
            Str(0x00080016, "UI", sopClass),
            Str(0x00080018, "UI", seriesUid + ".1"),
            Str(0x00080060, "CS", "SM"),
            Str(0x00080070, "LO", "HistoQuant tests"),
            Str(0x0020000E, "UI", seriesUid),
            Str(0x00209311, "CS", sparse ? "TILED_SPARSE" : "TILED_FULL"),
            US(0x00280002, 3),
            Str(0x00280004, "CS", photometric),
            US(0x00280006, 0),
            Str(0x00280008, "IS", frames.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            US(0x00280010, (ushort)frame),
            US(0x00280011, (ushort)frame),
            US(0x00280100, 8), US(0x00280101, 8), US(0x00280102, 7), US(0x00280103, 0),
            UL(0x00480006, (uint)width),
            UL(0x00480007, (uint)height),
            Sequence(0x00480105, Item(Element(0x00480112, "DS", Encoding.ASCII.GetBytes("20")))),
            Sequence(0x52009229, Item(Sequence(0x00289110, Item(Str(0x00280030, "DS", $"{mpp}\\{mpp}"))))),
        };
        if (sparse)
            body.Add(Sequence(0x52009230, frames.Select(f => Item(Sequence(0x0048021A, Item(
                SL(0x0048021E, f.Col * frame + 1), SL(0x0048021F, f.Row * frame + 1))))).ToArray()));
        body.Sort((a, b) => Tag(a).CompareTo(Tag(b)));
        if (codec == Codec.Uncompressed)
            body.Add(Element(0x7FE00010, "OB", frames.SelectMany(f => f.Data).ToArray()));
        else
            body.Add([.. Element(0x7FE00010, "OB", [.. Item(), .. frames.SelectMany(f => Item(f.Data))], undefinedLength: true), 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);

        var metaBody = new[] { Element(0x00020001, "OB", [0, 1]), Str(0x00020002, "UI", sopClass), Str(0x00020003, "UI", seriesUid + ".1"), Str(0x00020010, "UI", syntax) }.SelectMany(e => e).ToArray();
        using var fs = File.Create(path);
        fs.Write(new byte[128]);
        fs.Write("DICM"u8);
        fs.Write(UL(0x00020000, (uint)metaBody.Length));
        fs.Write(metaBody);
        foreach (var e in body)
            fs.Write(e);
    }

    private static uint Tag(byte[] e) => (uint)BitConverter.ToUInt16(e, 0) << 16 | BitConverter.ToUInt16(e, 2);

    private static byte[] Rgb(Mat bgr)
    {
        using var rgb = new Mat();
        Cv2.CvtColor(bgr, rgb, ColorConversionCodes.BGR2RGB);
        rgb.GetArray(out Vec3b[] px);
        return px.SelectMany(p => new[] { p.Item0, p.Item1, p.Item2 }).ToArray();
    }
}
