using System.Buffers.Binary;

namespace HistoQuant.Slides.Codecs;

/// <summary>
/// Reads the pixel size a compressed tile claims (JPEG SOF, JPEG 2000 SIZ) without decoding it, so that a
/// tile claiming more pixels than its slot is refused before a codec allocates for it.
/// </summary>
internal static class EncodedSize
{
    public static (int Width, int Height)? Read(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 4 && data[0] == 0xFF && data[1] == 0xD8)
            return Jpeg(data);
        if (data.Length >= 4 && data[0] == 0xFF && data[1] == 0x4F && data[2] == 0xFF && data[3] == 0x51)
            return Siz(data[2..]);
        int jp2c = IndexOf(data, "jp2c"u8);
        if (jp2c >= 0 && jp2c + 8 <= data.Length && data[jp2c + 4] == 0xFF && data[jp2c + 5] == 0x4F)
            return Siz(data[(jp2c + 6)..]);
        return null;
    }

    private static (int, int)? Jpeg(ReadOnlySpan<byte> d)
    {
        int i = 2;
        while (i + 4 <= d.Length)
        {
            if (d[i] != 0xFF)
                return null;
            byte marker = d[i + 1];
            if (marker == 0xFF) { i++; continue; }
            if (marker is 0xD8 or 0x01 || marker is >= 0xD0 and <= 0xD7) { i += 2; continue; }
            int length = BinaryPrimitives.ReadUInt16BigEndian(d[(i + 2)..]);
            bool startOfFrame = marker is >= 0xC0 and <= 0xCF && marker is not (0xC4 or 0xC8 or 0xCC);
            if (startOfFrame)
                return i + 9 <= d.Length ? (BinaryPrimitives.ReadUInt16BigEndian(d[(i + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(d[(i + 5)..])) : null;
            if (marker == 0xDA)
                return null; // scan data before any frame header
            i += 2 + length;
        }
        return null;
    }

    /// <summary>SIZ marker segment starting at its FF51: Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz.</summary>
    private static (int, int)? Siz(ReadOnlySpan<byte> d)
    {
        if (d.Length < 22 || d[0] != 0xFF || d[1] != 0x51)
            return null;
        long x = BinaryPrimitives.ReadUInt32BigEndian(d[6..]), y = BinaryPrimitives.ReadUInt32BigEndian(d[10..]);
        long x0 = BinaryPrimitives.ReadUInt32BigEndian(d[14..]), y0 = BinaryPrimitives.ReadUInt32BigEndian(d[18..]);
        long w = x - x0, h = y - y0;
        return w is > 0 and <= int.MaxValue && h is > 0 and <= int.MaxValue ? ((int)w, (int)h) : (int.MaxValue, int.MaxValue);
    }

    private static int IndexOf(ReadOnlySpan<byte> data, ReadOnlySpan<byte> box)
    {
        int limit = Math.Min(data.Length, 4096); // the codestream box follows small header boxes
        int i = data[..limit].IndexOf(box);
        return i;
    }
}
