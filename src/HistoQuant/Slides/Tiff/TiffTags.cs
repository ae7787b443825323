namespace HistoQuant.Slides.Tiff;

/// <summary>The TIFF tags HistoQuant reads and writes (TIFF 6.0, Adobe and Aperio additions).</summary>
internal static class TiffTag
{
    public const ushort NewSubfileType = 254;
    public const ushort ImageWidth = 256;
    public const ushort ImageLength = 257;
    public const ushort BitsPerSample = 258;
    public const ushort Compression = 259;
    public const ushort Photometric = 262;
    public const ushort ImageDescription = 270;
    public const ushort StripOffsets = 273;
    public const ushort SamplesPerPixel = 277;
    public const ushort RowsPerStrip = 278;
    public const ushort StripByteCounts = 279;
    public const ushort XResolution = 282;
    public const ushort YResolution = 283;
    public const ushort PlanarConfiguration = 284;
    public const ushort ResolutionUnit = 296;
    public const ushort Software = 305;
    public const ushort Predictor = 317;
    public const ushort TileWidth = 322;
    public const ushort TileLength = 323;
    public const ushort TileOffsets = 324;
    public const ushort TileByteCounts = 325;
    public const ushort SubIfds = 330;
    public const ushort ExtraSamples = 338;
    public const ushort SampleFormat = 339;
    public const ushort JpegTables = 347;
    public const ushort YCbCrSubSampling = 530;
    public const ushort ReferenceBlackWhite = 532;
    public const ushort HamamatsuNdpiVersion = 65420;
}

internal static class TiffCompression
{
    public const int None = 1;
    public const int Lzw = 5;
    public const int OldJpeg = 6;
    public const int Jpeg = 7;
    public const int AdobeDeflate = 8;
    public const int PackBits = 32773;
    public const int Deflate = 32946;
    public const int AperioJpeg2000YCbCr = 33003;
    public const int AperioJpeg2000Rgb = 33005;
    public const int Jpeg2000 = 34712;
}

internal static class TiffPhotometric
{
    public const int MinIsWhite = 0;
    public const int MinIsBlack = 1;
    public const int Rgb = 2;
    public const int Palette = 3;
    public const int YCbCr = 6;
}

internal enum TiffType : ushort
{
    Byte = 1, Ascii = 2, Short = 3, Long = 4, Rational = 5, SByte = 6, Undefined = 7,
    SShort = 8, SLong = 9, SRational = 10, Float = 11, Double = 12, Ifd = 13, Long8 = 16, SLong8 = 17, Ifd8 = 18,
}
