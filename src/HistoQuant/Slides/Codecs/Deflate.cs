using System.IO.Compression;

namespace HistoQuant.Slides.Codecs;

/// <summary>zlib/Deflate decoding (TIFF compression 8 and 32946).</summary>
internal static class Deflate
{
    /// <returns>Bytes written, or -1 when the stream is corrupt.</returns>
    public static int Decode(byte[] src, Span<byte> dst)
    {
        try
        {
            using var z = new ZLibStream(new MemoryStream(src, writable: false), CompressionMode.Decompress);
            int o = 0;
            while (o < dst.Length)
            {
                int n = z.Read(dst[o..]);
                if (n == 0)
                    break;
                o += n;
            }
            return o;
        }
        catch (InvalidDataException)
        {
            return -1;
        }
    }
}
