using System.Buffers.Binary;
using System.Text;

namespace HistoQuant.Slides.Tiff;

/// <summary>
/// Writes a tiled, pyramidal, JPEG-compressed RGB TIFF (or BigTIFF) as a stream: tiles of any level are
/// appended as they are produced, and the image directories, which point at them, are written last.
/// Levels form one IFD chain, level 0 first, smaller levels marked reduced-resolution (NewSubfileType 1),
/// the layout OpenSlide's generic-tiff driver, QuPath and libvips read. JPEG tiles are YCbCr with 2×2
/// chroma subsampling, as OpenCV's encoder produces them.
/// </summary>
public sealed class TiledTiffWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly bool _big;
    private readonly List<Level> _levels = new();

    private ushort OffsetType => (ushort)(_big ? TiffType.Long8 : TiffType.Long);

    private sealed record Level(int Width, int Height, int TileSize, long[] Offsets, long[] Counts)
    {
        public int Across => (Width + TileSize - 1) / TileSize;
    }

    /// <summary>
    /// JPEG (YCbCr, what the synthetic slides use) by default; Deflate (RGB) for slides that must open without
    /// any native codec, e.g. on a GPU machine that carries no OpenCV or TurboJPEG.
    /// </summary>
    public bool Deflate { get; init; }

    public TiledTiffWriter(string path, bool bigTiff)
    {
        _big = bigTiff;
        _stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        Span<byte> header = stackalloc byte[16];
        header.Clear();
        header[0] = header[1] = (byte)'I';
        if (bigTiff)
        {
            header[2] = 43;
            header[4] = 8; // offset size
            _stream.Write(header[..16]); // first IFD offset patched in Finish
        }
        else
        {
            header[2] = 42;
            _stream.Write(header[..8]);
        }
    }

    public int AddLevel(int width, int height, int tileSize)
    {
        int across = (width + tileSize - 1) / tileSize, down = (height + tileSize - 1) / tileSize;
        _levels.Add(new Level(width, height, tileSize, new long[(long)across * down], new long[(long)across * down]));
        return _levels.Count - 1;
    }

    /// <summary>Appends one compressed tile. Not thread-safe: callers write in their own order.</summary>
    public void WriteTile(int level, int col, int row, ReadOnlySpan<byte> data)
    {
        var l = _levels[level];
        long at = _stream.Position;
        if (!_big && at + data.Length > uint.MaxValue)
            throw new IOException("classic TIFF is limited to 4 GB; write BigTIFF");
        _stream.Write(data);
        l.Offsets[row * l.Across + col] = at;
        l.Counts[row * l.Across + col] = data.Length;
    }

    /// <summary>Writes the directories (resolution in pixels per cm from µm/px) and closes the file.</summary>
    public void Finish(string description, double mppLevel0)
    {
        long previousNextField = _big ? 8 : 4;
        for (int i = 0; i < _levels.Count; i++)
        {
            if (_stream.Position % 2 == 1)
                _stream.WriteByte(0); // IFDs start on a word boundary
            long ifd = WriteDirectory(_levels[i], i == 0 ? description : null, mppLevel0 * _levels[0].Width / _levels[i].Width, i > 0, out long nextField);
            Patch(previousNextField, ifd);
            previousNextField = nextField;
        }
        _stream.Flush();
        _stream.Dispose();
    }

    private long WriteDirectory(Level l, string? description, double mpp, bool reduced, out long nextField)
    {
        var entries = new List<(ushort Tag, ushort Type, long Count, byte[] Value)>
        {
            (TiffTag.NewSubfileType, (ushort)TiffType.Long, 1, U32(reduced ? 1u : 0u)),
            (TiffTag.ImageWidth, (ushort)TiffType.Long, 1, U32((uint)l.Width)),
            (TiffTag.ImageLength, (ushort)TiffType.Long, 1, U32((uint)l.Height)),
            (TiffTag.BitsPerSample, (ushort)TiffType.Short, 3, U16s(8, 8, 8)),
            (TiffTag.Compression, (ushort)TiffType.Short, 1, U16s((ushort)(Deflate ? TiffCompression.AdobeDeflate : TiffCompression.Jpeg))),
            (TiffTag.Photometric, (ushort)TiffType.Short, 1, U16s((ushort)(Deflate ? TiffPhotometric.Rgb : TiffPhotometric.YCbCr))),
            (TiffTag.SamplesPerPixel, (ushort)TiffType.Short, 1, U16s(3)),
            (TiffTag.XResolution, (ushort)TiffType.Rational, 1, Rational(10000.0 / mpp)),
            (TiffTag.YResolution, (ushort)TiffType.Rational, 1, Rational(10000.0 / mpp)),
            (TiffTag.PlanarConfiguration, (ushort)TiffType.Short, 1, U16s(1)),
            (TiffTag.ResolutionUnit, (ushort)TiffType.Short, 1, U16s(3)),
            (TiffTag.Software, (ushort)TiffType.Ascii, 0, Ascii("HistoQuant")),
            (TiffTag.TileWidth, (ushort)TiffType.Long, 1, U32((uint)l.TileSize)),
            (TiffTag.TileLength, (ushort)TiffType.Long, 1, U32((uint)l.TileSize)),
            (TiffTag.TileOffsets, OffsetType, l.Offsets.Length, Offsets(l.Offsets)),
            (TiffTag.TileByteCounts, OffsetType, l.Counts.Length, Offsets(l.Counts)),
        };
        if (!Deflate)
        {
            entries.Add((TiffTag.YCbCrSubSampling, (ushort)TiffType.Short, 2, U16s(2, 2)));
            entries.Add((TiffTag.ReferenceBlackWhite, (ushort)TiffType.Rational, 6, Rationals(0, 255, 128, 255, 128, 255)));
        }
        if (description is not null)
            entries.Add((TiffTag.ImageDescription, (ushort)TiffType.Ascii, 0, Ascii(description)));
        entries.Sort((a, b) => a.Tag.CompareTo(b.Tag));

        int inline = _big ? 8 : 4;
        // Out-of-line values first, then the directory that points at them.
        var valueOffsets = new long[entries.Count];
        for (int i = 0; i < entries.Count; i++)
        {
            var v = entries[i].Value;
            if (v.Length > inline)
            {
                if (_stream.Position % 2 == 1)
                    _stream.WriteByte(0);
                valueOffsets[i] = _stream.Position;
                _stream.Write(v);
            }
        }
        if (_stream.Position % 2 == 1)
            _stream.WriteByte(0);
        long ifd = _stream.Position;
        var w = new BinaryWriter(_stream, Encoding.ASCII, leaveOpen: true);
        if (_big) w.Write((ulong)entries.Count); else w.Write((ushort)entries.Count);
        for (int i = 0; i < entries.Count; i++)
        {
            var (tag, type, count, value) = entries[i];
            long n = type == 2 ? value.Length : count;
            w.Write(tag);
            w.Write(type);
            if (_big) w.Write((ulong)n); else w.Write((uint)n);
            var field = new byte[inline];
            if (value.Length <= inline)
                value.CopyTo(field, 0);
            else if (_big)
                BinaryPrimitives.WriteUInt64LittleEndian(field, (ulong)valueOffsets[i]);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(field, (uint)valueOffsets[i]);
            w.Write(field);
        }
        nextField = _stream.Position;
        if (_big) w.Write(0UL); else w.Write(0u);
        w.Flush();
        return ifd;
    }

    private void Patch(long at, long value)
    {
        long here = _stream.Position;
        _stream.Position = at;
        Span<byte> b = stackalloc byte[8];
        if (_big)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)value);
            _stream.Write(b);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)value);
            _stream.Write(b[..4]);
        }
        _stream.Position = here;
    }

    private byte[] Offsets(long[] values)
    {
        var b = new byte[values.Length * (_big ? 8 : 4)];
        for (int i = 0; i < values.Length; i++)
        {
            if (_big) BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(i * 8), (ulong)values[i]);
            else BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(i * 4), (uint)values[i]);
        }
        return b;
    }

    private static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    private static byte[] U16s(params ushort[] v)
    {
        var b = new byte[v.Length * 2];
        for (int i = 0; i < v.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(i * 2), v[i]);
        return b;
    }

    private static byte[] Rational(double v) => Rationals(v);

    private static byte[] Rationals(params double[] values)
    {
        var b = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
        {
            const uint denominator = 10000;
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(i * 8), (uint)Math.Round(values[i] * denominator));
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(i * 8 + 4), denominator);
        }
        return b;
    }

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s + "\0");

    public void Dispose() => _stream.Dispose();
}
