namespace HistoQuant.Slides.Codecs;

/// <summary>
/// TIFF LZW decoding (TIFF 6.0 section 13: MSB-first codes, 9 to 12 bits, widths grow one code early).
/// Output stops at <c>dst.Length</c>, so a corrupt stream can never write past the tile.
/// </summary>
internal static class Lzw
{
    private const int ClearCode = 256, EndCode = 257, MaxCodes = 4096;

    /// <returns>Bytes written, or -1 for a code the table cannot hold (corrupt data).</returns>
    public static int Decode(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        if (src.Length >= 2 && src[0] == 0 && (src[1] & 1) == 1)
            return -1; // old-style (LSB-first) LZW from pre-6.0 writers

        // Each code is a prefix code plus one appended byte; strings are rebuilt backwards into a scratch buffer.
        Span<short> prefix = stackalloc short[MaxCodes];
        Span<byte> suffix = stackalloc byte[MaxCodes];
        Span<short> length = stackalloc short[MaxCodes];
        Span<byte> stack = stackalloc byte[MaxCodes];
        for (int i = 0; i < 256; i++) { prefix[i] = -1; suffix[i] = (byte)i; length[i] = 1; }

        int next = 258, width = 9, written = 0, old = -1;
        long bitPos = 0, totalBits = (long)src.Length * 8;
        while (bitPos + width <= totalBits && written < dst.Length)
        {
            int code = ReadCode(src, bitPos, width);
            bitPos += width;
            if (code == EndCode)
                break;
            if (code == ClearCode)
            {
                next = 258; width = 9; old = -1;
                continue;
            }
            int emit;
            byte first;
            if (code < next)
            {
                emit = code;
                first = FirstByte(code, prefix, suffix);
            }
            else if (code == next && old >= 0)
            {
                emit = -1; // KwKwK case: old string + its own first byte
                first = FirstByte(old, prefix, suffix);
            }
            else
                return -1;

            if (old >= 0 && next < MaxCodes)
            {
                prefix[next] = (short)old;
                suffix[next] = first;
                length[next] = (short)(length[old] + 1);
                next++;
            }
            if (emit < 0)
                emit = next - 1;
            written += WriteString(emit, prefix, suffix, length, stack, dst[written..]);
            old = code;
            if (next + 1 >= (1 << width) && width < 12)
                width++;
        }
        return written;
    }

    private static int ReadCode(ReadOnlySpan<byte> src, long bitPos, int width)
    {
        int byteIndex = (int)(bitPos >> 3), shift = (int)(bitPos & 7);
        int v = src[byteIndex] << 16;
        if (byteIndex + 1 < src.Length) v |= src[byteIndex + 1] << 8;
        if (byteIndex + 2 < src.Length) v |= src[byteIndex + 2];
        return (v >> (24 - shift - width)) & ((1 << width) - 1);
    }

    private static byte FirstByte(int code, Span<short> prefix, Span<byte> suffix)
    {
        while (prefix[code] >= 0)
            code = prefix[code];
        return suffix[code];
    }

    private static int WriteString(int code, Span<short> prefix, Span<byte> suffix, Span<short> length, Span<byte> stack, Span<byte> dst)
    {
        int n = length[code];
        for (int i = n - 1; i >= 0; i--)
        {
            stack[i] = suffix[code];
            code = prefix[code];
        }
        int take = Math.Min(n, dst.Length);
        stack[..take].CopyTo(dst);
        return take;
    }
}
