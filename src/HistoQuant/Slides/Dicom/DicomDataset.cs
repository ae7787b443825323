using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace HistoQuant.Slides.Dicom;

/// <summary>One data element: its value bytes (small values only), its items (sequences) or its pixel data fragments.</summary>
internal sealed class DicomElement
{
    public required uint Tag { get; init; }
    public required string Vr { get; init; }
    public byte[]? Value { get; init; }
    public List<DicomDataset>? Items { get; init; }

    /// <summary>Encapsulated pixel data: the Basic Offset Table and each fragment's (offset in file, length, offset of its item from the first fragment item).</summary>
    public uint[]? OffsetTable { get; init; }
    public List<(long Offset, int Length, long ItemOffset)>? Fragments { get; init; }

    /// <summary>Native pixel data: where it starts in the file and its length.</summary>
    public long DataOffset { get; init; }
    public long DataLength { get; init; }
}

/// <summary>
/// A DICOM data set read from a Part 10 file: just enough of the standard for whole-slide images (explicit and implicit
/// VR little endian, nested sequences of defined or undefined length, encapsulated or native pixel data). Values over
/// 1 MB are skipped (their bytes are not needed); pixel data is located, never loaded.
/// </summary>
internal sealed class DicomDataset
{
    public const uint PixelData = 0x7FE00010;
    private const uint ItemTag = 0xFFFEE000, ItemEnd = 0xFFFEE00D, SequenceEnd = 0xFFFEE0DD;
    private const int MaxDepth = 8, MaxValue = 1 << 20;
    private const string ExplicitLittle = "1.2.840.10008.1.2.1", ImplicitLittle = "1.2.840.10008.1.2";

    // Sequences whose VR an implicit-VR file does not state, among those this reader looks into.
    private static readonly HashSet<uint> KnownSequences = [0x52009229, 0x52009230, 0x00289110, 0x0048021A, 0x00480105, 0x00480008, 0x00209111, 0x00209113, 0x00480106];

    public Dictionary<uint, DicomElement> Elements { get; } = [];

    /// <summary>The transfer syntax of the file this data set came from (only on the top-level data set).</summary>
    public string TransferSyntax { get; private set; } = "";

    public DicomElement? this[uint tag] => Elements.GetValueOrDefault(tag);

    public string? String(uint tag) =>
        this[tag]?.Value is { } v ? Encoding.Latin1.GetString(v).TrimEnd('\0', ' ') : null;

    public string[] Strings(uint tag) => String(tag)?.Split('\\').Select(s => s.Trim()).ToArray() ?? [];

    /// <summary>An integer value of VR US, UL, SS, SL or IS.</summary>
    public long? Integer(uint tag)
    {
        var e = this[tag];
        if (e?.Value is not { } v)
            return null;
        return e.Vr switch
        {
            "US" when v.Length >= 2 => BinaryPrimitives.ReadUInt16LittleEndian(v),
            "SS" when v.Length >= 2 => BinaryPrimitives.ReadInt16LittleEndian(v),
            "UL" when v.Length >= 4 => BinaryPrimitives.ReadUInt32LittleEndian(v),
            "SL" when v.Length >= 4 => BinaryPrimitives.ReadInt32LittleEndian(v),
            "IS" => long.TryParse(String(tag), NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : null,
            _ => null,
        };
    }

    /// <summary>Decimal values of VR DS, FL or FD.</summary>
    public double[] Decimals(uint tag)
    {
        var e = this[tag];
        if (e?.Value is not { } v)
            return [];
        return e.Vr switch
        {
            "FL" => Enumerable.Range(0, v.Length / 4).Select(i => (double)BinaryPrimitives.ReadSingleLittleEndian(v.AsSpan(4 * i))).ToArray(),
            "FD" => Enumerable.Range(0, v.Length / 8).Select(i => BinaryPrimitives.ReadDoubleLittleEndian(v.AsSpan(8 * i))).ToArray(),
            _ => Strings(tag).Select(s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : double.NaN).ToArray(),
        };
    }

    public DicomDataset? Item0(uint sequenceTag) => this[sequenceTag]?.Items is [var first, ..] ? first : null;

    /// <summary>
    /// Reads a Part 10 file's data set; with <paramref name="headerOnly"/> it stops at the pixel data, and with
    /// <paramref name="lastTag"/> before the first top-level element past it (identification without the functional
    /// groups, which list every frame).
    /// </summary>
    public static DicomDataset Read(SafeFileHandle file, bool headerOnly = false, uint lastTag = uint.MaxValue)
    {
        var reader = new Reader(file);
        var preamble = reader.Bytes(132);
        if (!preamble.AsSpan(128, 4).SequenceEqual("DICM"u8))
            throw new InvalidDataException("no DICM preamble (not a DICOM Part 10 file)");
        // File meta information: always explicit VR little endian, group 0002.
        var meta = new DicomDataset();
        while (reader.Position + 8 <= reader.Length && reader.PeekGroup() == 0x0002)
            meta.ReadElement(reader, explicitVr: true, depth: 0, headerOnly);
        string syntax = meta.String(0x00020010) ?? ExplicitLittle;
        if (syntax == "1.2.840.10008.1.2.2")
            throw new InvalidDataException("big-endian DICOM (transfer syntax 1.2.840.10008.1.2.2) is not supported");
        if (syntax == "1.2.840.10008.1.2.1.99")
            throw new InvalidDataException("deflated DICOM (transfer syntax 1.2.840.10008.1.2.1.99) is not supported");
        var ds = new DicomDataset { TransferSyntax = syntax };
        bool explicitVr = syntax != ImplicitLittle;
        while (reader.Position + 8 <= reader.Length && reader.PeekTag() <= lastTag)
        {
            uint tag = ds.ReadElement(reader, explicitVr, 0, headerOnly);
            if (tag == PixelData && headerOnly)
                break;
        }
        return ds;
    }

    private uint ReadElement(Reader r, bool explicitVr, int depth, bool headerOnly)
    {
        uint tag = r.Tag();
        string vr;
        long length;
        if (explicitVr && (tag >> 16) != 0xFFFE)
        {
            vr = Encoding.ASCII.GetString(r.Bytes(2));
            if (vr is "OB" or "OW" or "OF" or "SQ" or "UT" or "UN" or "UC" or "UR" or "OD" or "OL" or "OV" or "SV" or "UV")
            {
                r.Skip(2);
                length = r.UInt32();
            }
            else
                length = r.UInt16();
        }
        else
        {
            length = r.UInt32();
            vr = tag == PixelData ? "OB" : KnownSequences.Contains(tag) || length == 0xFFFFFFFF ? "SQ" : "UN";
        }
        bool undefined = length == 0xFFFFFFFF;
        if (!undefined && r.Position + length > r.Length)
            throw new InvalidDataException($"element ({tag >> 16:X4},{tag & 0xFFFF:X4}) claims {length} bytes, more than the file holds (truncated?)");

        if (tag == PixelData)
        {
            if (headerOnly)
                Elements[tag] = new DicomElement { Tag = tag, Vr = vr, DataOffset = r.Position, DataLength = undefined ? -1 : length };
            else if (undefined)
                Elements[tag] = ReadEncapsulated(r, tag, vr);
            else
            {
                Elements[tag] = new DicomElement { Tag = tag, Vr = vr, DataOffset = r.Position, DataLength = length };
                r.Skip(length);
            }
            return tag;
        }
        if (vr == "SQ" || (undefined && vr == "UN"))
        {
            if (depth >= MaxDepth)
                throw new InvalidDataException($"sequences nested deeper than {MaxDepth}");
            Elements[tag] = new DicomElement { Tag = tag, Vr = "SQ", Items = ReadItems(r, undefined ? -1 : r.Position + length, explicitVr, depth + 1) };
            return tag;
        }
        if (undefined)
            throw new InvalidDataException($"element ({tag >> 16:X4},{tag & 0xFFFF:X4}) of VR {vr} has an undefined length");
        if (length <= MaxValue)
            Elements[tag] = new DicomElement { Tag = tag, Vr = vr, Value = r.Bytes((int)length) };
        else
            r.Skip(length);
        return tag;
    }

    private static List<DicomDataset> ReadItems(Reader r, long end, bool explicitVr, int depth)
    {
        var items = new List<DicomDataset>();
        while (end < 0 ? r.Position + 8 <= r.Length : r.Position < end)
        {
            uint tag = r.Tag();
            long length = r.UInt32();
            if (tag == SequenceEnd)
                break;
            if (tag != ItemTag)
                throw new InvalidDataException($"expected a sequence item, found ({tag >> 16:X4},{tag & 0xFFFF:X4})");
            var item = new DicomDataset();
            long itemEnd = length == 0xFFFFFFFF ? -1 : r.Position + length;
            while (itemEnd < 0 ? r.Position + 8 <= r.Length : r.Position < itemEnd)
            {
                if (itemEnd < 0 && r.PeekTag() == ItemEnd)
                {
                    r.Skip(8);
                    break;
                }
                item.ReadElement(r, explicitVr, depth, headerOnly: false);
            }
            items.Add(item);
        }
        return items;
    }

    private static DicomElement ReadEncapsulated(Reader r, uint tag, string vr)
    {
        uint[] table = [];
        var fragments = new List<(long, int, long)>();
        long firstFragmentItem = -1;
        bool first = true;
        while (r.Position + 8 <= r.Length)
        {
            long itemAt = r.Position;
            uint t = r.Tag();
            long length = r.UInt32();
            if (t == SequenceEnd)
                break;
            if (t != ItemTag || length == 0xFFFFFFFF || r.Position + length > r.Length)
                throw new InvalidDataException("encapsulated pixel data is damaged (a fragment runs past the end of the file)");
            if (first)
            {
                var bot = r.Bytes((int)Math.Min(length, int.MaxValue));
                table = Enumerable.Range(0, bot.Length / 4).Select(i => BinaryPrimitives.ReadUInt32LittleEndian(bot.AsSpan(4 * i))).ToArray();
                first = false;
                continue;
            }
            if (firstFragmentItem < 0)
                firstFragmentItem = itemAt;
            fragments.Add((r.Position, (int)length, itemAt - firstFragmentItem));
            r.Skip(length);
        }
        return new DicomElement { Tag = tag, Vr = vr, OffsetTable = table, Fragments = fragments };
    }

    /// <summary>Little-endian positional reads over a file handle, buffered.</summary>
    private sealed class Reader(SafeFileHandle file)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private long _bufferAt = -1;
        private int _bufferLength;

        public long Position { get; private set; }
        public long Length { get; } = RandomAccess.GetLength(file);

        public byte[] Bytes(int n)
        {
            if (Position + n > Length)
                throw new InvalidDataException("file ends inside a data element (truncated?)");
            var b = new byte[n];
            if (n <= _buffer.Length)
            {
                Fill(n);
                _buffer.AsSpan((int)(Position - _bufferAt), n).CopyTo(b);
            }
            else
                RandomAccess.Read(file, b, Position);
            Position += n;
            return b;
        }

        private void Fill(int n)
        {
            if (_bufferAt >= 0 && Position >= _bufferAt && Position + n <= _bufferAt + _bufferLength)
                return;
            _bufferAt = Position;
            _bufferLength = RandomAccess.Read(file, _buffer, Position);
        }

        public void Skip(long n) => Position += n;
        public ushort UInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2));
        public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4));
        public uint Tag() { var b = Bytes(4); return (uint)BinaryPrimitives.ReadUInt16LittleEndian(b) << 16 | BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(2)); }
        public uint PeekTag() { uint t = Tag(); Position -= 4; return t; }
        public ushort PeekGroup() { var b = Bytes(2); Position -= 2; return BinaryPrimitives.ReadUInt16LittleEndian(b); }
    }
}
