namespace HistoQuant.Slides.Codecs;

/// <summary>
/// Builds a self-contained JPEG stream from a TIFF tile: the shared JPEGTables (quantisation and Huffman
/// tables, "abbreviated" JPEG) are spliced in, and for Photometric=RGB an Adobe APP14 marker with
/// transform 0 is added so that libjpeg does not treat the components as YCbCr. Aperio and the OME
/// conversions of NDPI/VSI store RGB JPEG without a JFIF or Adobe marker; a plain decoder then
/// applies the YCbCr conversion and the colours come out false.
/// </summary>
internal static class JpegStream
{
    private static ReadOnlySpan<byte> AdobeRgbMarker =>
    [
        0xFF, 0xEE, 0x00, 0x0E, (byte)'A', (byte)'d', (byte)'o', (byte)'b', (byte)'e',
        0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// <returns>The number of bytes written to <paramref name="dst"/>, or -1 if the pieces are not JPEG.</returns>
    public static int Assemble(ReadOnlySpan<byte> tables, ReadOnlySpan<byte> tile, bool componentsAreRgb, Span<byte> dst)
    {
        if (tile.Length < 4 || tile[0] != 0xFF || tile[1] != 0xD8)
            return -1;
        int o = 0;
        dst[o++] = 0xFF;
        dst[o++] = 0xD8;
        if (componentsAreRgb)
        {
            AdobeRgbMarker.CopyTo(dst[o..]);
            o += AdobeRgbMarker.Length;
        }
        if (tables.Length >= 4)
        {
            if (tables[0] != 0xFF || tables[1] != 0xD8)
                return -1;
            // Drop the tables' SOI and EOI; keep everything between.
            int end = tables.Length;
            if (tables[end - 2] == 0xFF && tables[end - 1] == 0xD9)
                end -= 2;
            tables[2..end].CopyTo(dst[o..]);
            o += end - 2;
        }
        tile[2..].CopyTo(dst[o..]);
        return o + tile.Length - 2;
    }

    /// <summary>
    /// True when a quantisation table (DQT) before the first scan holds a zero: invalid JPEG (every quantiser is at
    /// least 1), which libjpeg decodes without a warning into a flat, wrong image.
    /// </summary>
    public static bool HasZeroQuantiser(ReadOnlySpan<byte> jpeg)
    {
        int i = 2;
        while (i + 4 <= jpeg.Length && jpeg[i] == 0xFF)
        {
            byte marker = jpeg[i + 1];
            if (marker == 0xFF) { i++; continue; }
            if (marker is 0xD8 or 0x01 || marker is >= 0xD0 and <= 0xD7) { i += 2; continue; }
            if (marker is 0xDA or 0xD9)
                return false;
            int length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(jpeg[(i + 2)..]);
            if (marker == 0xDB)
            {
                int p = i + 4, end = Math.Min(jpeg.Length, i + 2 + length);
                while (p < end)
                {
                    bool wide = jpeg[p] >> 4 != 0;
                    p++;
                    for (int k = 0; k < 64 && p + (wide ? 1 : 0) < end; k++, p += wide ? 2 : 1)
                        if ((wide ? jpeg[p] << 8 | jpeg[p + 1] : jpeg[p]) == 0)
                            return true;
                }
            }
            i += 2 + length;
        }
        return false;
    }

    public static int MaxAssembledLength(int tablesLength, int tileLength) => tablesLength + tileLength + 32;
}
