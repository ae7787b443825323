namespace HistoQuant.Slides.Codecs;

/// <summary>Apple PackBits run-length decoding (TIFF compression 32773).</summary>
internal static class PackBits
{
    public static int Decode(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        int i = 0, o = 0;
        while (i < src.Length && o < dst.Length)
        {
            int n = (sbyte)src[i++];
            if (n >= 0)
            {
                int count = Math.Min(n + 1, Math.Min(src.Length - i, dst.Length - o));
                src.Slice(i, count).CopyTo(dst[o..]);
                i += n + 1;
                o += count;
            }
            else if (n != -128 && i < src.Length)
            {
                int count = Math.Min(1 - n, dst.Length - o);
                dst.Slice(o, count).Fill(src[i++]);
                o += count;
            }
        }
        return o;
    }
}
