using System.Buffers;
using HistoQuant.Slides.Codecs;

namespace HistoQuant.Slides.Tiff;

/// <summary>
/// One TIFF image (a directory) presented as a grid of tiles. Strip-organised images are served as tiles
/// one strip tall and the full width. All decoding of one tile happens here; nothing outside knows about
/// compressions or photometric interpretations.
/// </summary>
internal sealed class TiffImage
{
    private const int MaxTileSide = 1 << 14;          // 16384 px: larger "tiles" are really whole-image strips
    private const long MaxTilePixels = 1L << 24;      // 16 Mpx (48 MB decoded): what one worker may hold per tile
    private const int MaxImageSide = 1 << 21;         // 2 Mpx per side, ten times the largest scanners' output
    private const long MaxTileBytes = 256L << 20;      // no single tile may claim more than 256 MB

    private readonly TiffFile _file;
    private readonly long[] _offsets;
    private readonly long[] _byteCounts;
    private readonly byte[]? _jpegTables;

    public int Width { get; }
    public int Height { get; }
    public int TileWidth { get; }
    public int TileHeight { get; }
    public bool Tiled { get; }
    public int Compression { get; }
    public int Photometric { get; }
    public int SamplesPerPixel { get; }

    /// <summary>ExtraSamples' first value: whether the sample after the colours is (associated or unassociated) alpha.</summary>
    public TiffAlpha Alpha { get; }
    public int Predictor { get; }
    public long SubfileType { get; }
    public string? Description { get; }
    public TiffDirectory Directory { get; }

    public int TilesAcross => (Width + TileWidth - 1) / TileWidth;
    public int TilesDown => (Height + TileHeight - 1) / TileHeight;

    public TiffImage(TiffFile file, TiffDirectory dir)
    {
        _file = file;
        Directory = dir;
        string where = $"image directory at offset {dir.Offset}";
        Width = CheckedSize(dir.GetLong(TiffTag.ImageWidth, file), "ImageWidth", where);
        Height = CheckedSize(dir.GetLong(TiffTag.ImageLength, file), "ImageLength", where);
        Compression = (int)(dir.GetLong(TiffTag.Compression, file) ?? TiffCompression.None);
        SamplesPerPixel = (int)(dir.GetLong(TiffTag.SamplesPerPixel, file) ?? 1);
        Alpha = dir.GetLong(TiffTag.ExtraSamples, file) switch { 1 => TiffAlpha.Associated, 2 => TiffAlpha.Unassociated, _ => TiffAlpha.None };
        Photometric = (int)(dir.GetLong(TiffTag.Photometric, file) ?? (SamplesPerPixel >= 3 ? TiffPhotometric.Rgb : TiffPhotometric.MinIsBlack));
        Predictor = (int)(dir.GetLong(TiffTag.Predictor, file) ?? 1);
        SubfileType = dir.GetLong(TiffTag.NewSubfileType, file) ?? 0;
        Description = dir.GetString(TiffTag.ImageDescription, file);
        _jpegTables = dir.GetBytes(TiffTag.JpegTables, file);

        Tiled = dir.Has(TiffTag.TileWidth);
        if (Tiled)
        {
            TileWidth = CheckedSize(dir.GetLong(TiffTag.TileWidth, file), "TileWidth", where);
            TileHeight = CheckedSize(dir.GetLong(TiffTag.TileLength, file), "TileLength", where);
            _offsets = dir.GetLongArray(TiffTag.TileOffsets, file) ?? throw Problem($"{where} has no TileOffsets");
            _byteCounts = dir.GetLongArray(TiffTag.TileByteCounts, file) ?? throw Problem($"{where} has no TileByteCounts");
        }
        else
        {
            TileWidth = Width;
            long rps = dir.GetLong(TiffTag.RowsPerStrip, file) ?? Height;
            TileHeight = (int)Math.Clamp(rps, 1, Height);
            _offsets = dir.GetLongArray(TiffTag.StripOffsets, file) ?? throw Problem($"{where} has no StripOffsets");
            _byteCounts = dir.GetLongArray(TiffTag.StripByteCounts, file) ?? throw Problem($"{where} has no StripByteCounts");
        }
        if (TileWidth > MaxTileSide || TileHeight > MaxTileSide || (long)TileWidth * TileHeight > MaxTilePixels)
            throw Problem($"{where} has {TileWidth}x{TileHeight} px tiles or strips; HistoQuant reads images in pieces of at most {MaxTileSide} px and {MaxTilePixels >> 20} Mpx");
        if (Width > MaxImageSide || Height > MaxImageSide)
            throw Problem($"{where} claims {Width}x{Height} px, more than any scanner produces");
        long expected = (long)TilesAcross * TilesDown;
        if (_offsets.Length < expected || _byteCounts.Length < expected)
            throw Problem($"{where} lists {_offsets.Length} tile offsets, expected {expected}");
    }

    /// <summary>Checks that tiles of this image can be decoded, without decoding any.</summary>
    public string? UnsupportedReason()
    {
        var bits = Directory.GetLongArray(TiffTag.BitsPerSample, _file);
        if (bits is not null && bits.Any(b => b != 8))
            return $"{bits[0]}-bit samples (only 8-bit is supported)";
        if (SamplesPerPixel is < 1 or > 4)
            return $"{SamplesPerPixel} samples per pixel (1 to 4 are read: grey, grey+alpha, RGB, RGBA)";
        if ((Directory.GetLong(TiffTag.PlanarConfiguration, _file) ?? 1) != 1)
            return "separate colour planes (PlanarConfiguration=2)";
        if (Photometric == TiffPhotometric.Palette)
            return "palette colour";
        if (Predictor is not (1 or 2))
            return $"predictor {Predictor}";
        return Compression switch
        {
            TiffCompression.None or TiffCompression.Lzw or TiffCompression.AdobeDeflate or TiffCompression.Deflate
                or TiffCompression.PackBits => Photometric == TiffPhotometric.YCbCr ? "uncompressed YCbCr" : null,
            TiffCompression.Jpeg or TiffCompression.AperioJpeg2000Rgb or TiffCompression.AperioJpeg2000YCbCr
                or TiffCompression.Jpeg2000 => null,
            TiffCompression.OldJpeg => "old-style JPEG (compression 6)",
            _ => $"compression {Compression}",
        };
    }

    public void ReadTile(int col, int row, Span<byte> rgb)
    {
        if ((uint)col >= TilesAcross || (uint)row >= TilesDown)
            throw new ArgumentOutOfRangeException(nameof(col), $"tile ({col},{row}) is outside the {TilesAcross}x{TilesDown} grid");
        int index = row * TilesAcross + col;
        long offset = _offsets[index], count = _byteCounts[index];
        int rows = Tiled ? TileHeight : Math.Min(TileHeight, Height - row * TileHeight);
        if (count == 0)
        {
            // Sparse tile: nothing was scanned here; glass is the honest stand-in.
            rgb[..(TileWidth * TileHeight * 3)].Fill(255);
            return;
        }
        if (count < 0 || count > MaxTileBytes || offset < 0 || offset + count > _file.Length)
            throw Problem($"tile ({col},{row}) data at offset {offset} ({count} bytes) lies beyond the end of the file ({_file.Length} bytes); truncated?");

        byte[] raw = ArrayPool<byte>.Shared.Rent((int)count);
        try
        {
            _file.ReadExactly(offset, raw.AsSpan(0, (int)count));
            Decode(raw.AsSpan(0, (int)count), col, row, rows, rgb);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private void Decode(ReadOnlySpan<byte> data, int col, int row, int rows, Span<byte> rgb)
    {
        switch (Compression)
        {
            case TiffCompression.Jpeg:
                DecodeJpeg(data, col, row, rows, rgb);
                break;
            case TiffCompression.AperioJpeg2000Rgb or TiffCompression.AperioJpeg2000YCbCr or TiffCompression.Jpeg2000:
                DecodeWithOpenCv(data, col, row, rows, rgb);
                if (Compression == TiffCompression.AperioJpeg2000YCbCr)
                    PixelUnpack.YCbCrToRgbInPlace(rgb, TileWidth, rows, TileWidth * 3);
                break;
            default:
                DecodeRaw(data, col, row, rows, rgb);
                break;
        }
    }

    private void DecodeJpeg(ReadOnlySpan<byte> data, int col, int row, int rows, Span<byte> rgb)
    {
        int tablesLength = _jpegTables?.Length ?? 0;
        byte[] stream = ArrayPool<byte>.Shared.Rent(JpegStream.MaxAssembledLength(tablesLength, data.Length));
        try
        {
            int n = JpegStream.Assemble(_jpegTables, data, Photometric == TiffPhotometric.Rgb, stream);
            if (n < 0)
                throw Problem($"tile ({col},{row}) is not JPEG data (corrupt tile or tables)");
            DecodeWithTurboJpeg(stream.AsSpan(0, n), col, row, rows, rgb);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stream);
        }
    }

    private void DecodeWithTurboJpeg(ReadOnlySpan<byte> jpeg, int col, int row, int rows, Span<byte> rgb)
    {
        try
        {
            if (JpegStream.HasZeroQuantiser(jpeg))
                throw Problem($"tile ({col},{row}): corrupt JPEG data (a quantisation table holds zeros; damaged JPEGTables?)");
            var (w, h) = TurboJpeg.Size(jpeg);
            if (w < TileWidth || h < rows)
                throw Problem($"tile ({col},{row}) is {w}x{h} px, expected {TileWidth}x{rows} (corrupt JPEG data)");
            if (w > 2 * TileWidth || h > 2 * TileHeight + 16)
                throw Problem($"tile ({col},{row}) claims {w}x{h} px in a {TileWidth}x{TileHeight} slot (corrupt JPEG data)");
            if (w == TileWidth && h <= TileHeight)
            {
                TurboJpeg.DecodeToRgb(jpeg, rgb, TileWidth * 3, w, h);
                return;
            }
            // Larger than its slot (tolerated up to twice, as some writers pad): decode aside, keep the slot's part.
            byte[] aside = ArrayPool<byte>.Shared.Rent(w * h * 3);
            try
            {
                TurboJpeg.DecodeToRgb(jpeg, aside, w * 3, w, h);
                for (int y = 0; y < rows; y++)
                    aside.AsSpan(y * w * 3, TileWidth * 3).CopyTo(rgb.Slice(y * TileWidth * 3));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(aside);
            }
        }
        catch (InvalidDataException e)
        {
            throw Problem($"tile ({col},{row}): {e.Message}");
        }
    }

    private void DecodeWithOpenCv(ReadOnlySpan<byte> data, int col, int row, int rows, Span<byte> rgb)
    {
        // Refuse a tile that claims more pixels than its slot before the codec allocates for it.
        if (Codecs.EncodedSize.Read(data) is { } claimed && ((long)claimed.Width * claimed.Height > 4L * TileWidth * TileHeight
                || claimed.Width > 2 * TileWidth || claimed.Height > 2 * TileHeight + 16))
            throw Problem($"tile ({col},{row}) claims {claimed.Width}x{claimed.Height} px in a {TileWidth}x{TileHeight} slot (corrupt {CompressionName} data)");
        var (w, h) = OpenCvCodec.DecodeToRgb(data, rgb, TileWidth, rows);
        if (w == 0)
            throw Problem($"tile ({col},{row}) could not be decoded (corrupt {CompressionName} data)");
        if (w < TileWidth || h < rows)
            throw Problem($"tile ({col},{row}) decoded to {w}x{h} px, expected {TileWidth}x{rows}");
    }

    private void DecodeRaw(ReadOnlySpan<byte> data, int col, int row, int rows, Span<byte> rgb)
    {
        int spp = SamplesPerPixel;
        int need = TileWidth * rows * spp;
        byte[] plain = ArrayPool<byte>.Shared.Rent(need);
        try
        {
            var dst = plain.AsSpan(0, need);
            int n = Compression switch
            {
                TiffCompression.None => Copy(data, dst),
                TiffCompression.Lzw => Lzw.Decode(data, dst),
                TiffCompression.PackBits => PackBits.Decode(data, dst),
                TiffCompression.AdobeDeflate or TiffCompression.Deflate => Deflate.Decode(data.ToArray(), dst),
                _ => throw Problem($"compression {Compression} is not supported"),
            };
            if (n < need)
                throw Problem($"tile ({col},{row}) holds {Math.Max(n, 0)} bytes of pixels, expected {need} (corrupt {CompressionName} data)");
            if (Predictor == 2)
                PixelUnpack.UndoHorizontalPredictor(dst, TileWidth, rows, spp);
            PixelUnpack.ToRgb(dst, TileWidth, rows, spp, Photometric == TiffPhotometric.MinIsWhite, rgb, TileWidth * 3, Alpha);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(plain);
        }
    }

    private static int Copy(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        int n = Math.Min(src.Length, dst.Length);
        src[..n].CopyTo(dst);
        return n;
    }

    private string CompressionName => Compression switch
    {
        TiffCompression.Jpeg => "JPEG",
        TiffCompression.AperioJpeg2000Rgb or TiffCompression.AperioJpeg2000YCbCr or TiffCompression.Jpeg2000 => "JPEG 2000",
        TiffCompression.Lzw => "LZW",
        TiffCompression.AdobeDeflate or TiffCompression.Deflate => "Deflate",
        TiffCompression.PackBits => "PackBits",
        _ => "image",
    };

    private int CheckedSize(long? v, string name, string where) =>
        v is null ? throw Problem($"{where} has no {name}")
        : v < 1 || v > int.MaxValue / 4 ? throw Problem($"{where} has {name} = {v}")
        : (int)v;

    private SlideException Problem(string what) => new(_file.Path, what);
}
