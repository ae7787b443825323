using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace HistoQuant.Slides.Tiff;

/// <summary>
/// The container level of a TIFF or BigTIFF file of either byte order: header, IFD chain, SubIFDs and tag values.
/// Every offset and count is checked against the file length before anything is allocated, so a hostile file
/// gives a <see cref="SlideException"/> instead of a huge allocation or an endless loop.
/// </summary>
internal sealed class TiffFile : IDisposable
{
    private const int MaxDirectories = 4096;
    private const int MaxEntriesPerDirectory = 4096;

    private readonly SafeFileHandle _handle;

    public string Path { get; }
    public long Length { get; }
    public bool BigEndian { get; }
    public bool BigTiff { get; }

    /// <summary>The main IFD chain, in file order.</summary>
    public IReadOnlyList<TiffDirectory> Directories { get; }

    private TiffFile(string path, SafeFileHandle handle, long length, bool bigEndian, bool bigTiff)
    {
        Path = path;
        _handle = handle;
        Length = length;
        BigEndian = bigEndian;
        BigTiff = bigTiff;
        Directories = Array.Empty<TiffDirectory>();
    }

    private TiffFile(TiffFile header, IReadOnlyList<TiffDirectory> dirs)
        : this(header.Path, header._handle, header.Length, header.BigEndian, header.BigTiff) => Directories = dirs;

    public static bool HasTiffSignature(ReadOnlySpan<byte> head) =>
        head.Length >= 4 &&
        ((head[0] == 'I' && head[1] == 'I' && (head[2] == 42 || head[2] == 43) && head[3] == 0) ||
         (head[0] == 'M' && head[1] == 'M' && head[2] == 0 && (head[3] == 42 || head[3] == 43)));

    public static TiffFile Open(string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            long length = RandomAccess.GetLength(handle);
            Span<byte> head = stackalloc byte[16];
            if (length < 8 || RandomAccess.Read(handle, head, 0) < 8 || !HasTiffSignature(head))
                throw new SlideException(path, "not a TIFF file (bad header)");
            bool be = head[0] == 'M';
            ushort magic = be ? BinaryPrimitives.ReadUInt16BigEndian(head[2..]) : BinaryPrimitives.ReadUInt16LittleEndian(head[2..]);
            bool big = magic == 43;
            if (big && length < 16)
                throw new SlideException(path, "truncated BigTIFF header");
            var shell = new TiffFile(path, handle, length, be, big);
            long first = big ? (long)shell.U64(head[8..]) : shell.U32(head[4..]);
            if (big && (shell.U16(head[4..]) != 8 || shell.U16(head[6..]) != 0))
                throw new SlideException(path, "BigTIFF header has an unsupported offset size");
            var dirs = shell.ReadChain(first, depth: 0);
            if (dirs.Count == 0)
                throw new SlideException(path, "TIFF file has no image directory");
            return new TiffFile(shell, dirs);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    // File-wide, not per chain: SubIFD lists can point back at the main chain's (large) images or at each other,
    // which would read the same directories many times over.
    private readonly HashSet<long> _seenDirectories = [];

    private List<TiffDirectory> ReadChain(long offset, int depth)
    {
        var dirs = new List<TiffDirectory>();
        while (offset != 0)
        {
            if (!_seenDirectories.Add(offset))
                throw new SlideException(Path, $"image directory at offset {offset} is referenced twice (the IFD chain loops, or a SubIFD points back into it)");
            if (_seenDirectories.Count > MaxDirectories)
                throw new SlideException(Path, $"more than {MaxDirectories} image directories in the file");
            var dir = ReadDirectory(offset, out long next);
            if (depth == 0)
            {
                foreach (long sub in dir.GetLongArray(TiffTag.SubIfds, this) ?? Array.Empty<long>())
                {
                    // SubIFDs are single directories or short chains of reduced resolutions (OME-TIFF pyramids).
                    dir.SubDirectories.AddRange(ReadChain(sub, depth + 1));
                }
            }
            dirs.Add(dir);
            offset = next;
        }
        return dirs;
    }

    private TiffDirectory ReadDirectory(long offset, out long next)
    {
        int countSize = BigTiff ? 8 : 2, entrySize = BigTiff ? 20 : 12, nextSize = BigTiff ? 8 : 4;
        if (offset < 0 || offset + countSize > Length)
            throw new SlideException(Path, $"image directory offset {offset} lies beyond the end of the file ({Length} bytes); truncated?");
        Span<byte> cnt = stackalloc byte[8];
        ReadExactly(offset, cnt[..countSize]);
        long count = BigTiff ? (long)U64(cnt) : U16(cnt);
        if (count > MaxEntriesPerDirectory)
            throw new SlideException(Path, $"image directory at {offset} claims {count} entries");
        long bytes = count * entrySize + nextSize;
        if (offset + countSize + bytes > Length)
            throw new SlideException(Path, $"image directory at {offset} runs past the end of the file; truncated?");
        var buf = new byte[bytes];
        ReadExactly(offset + countSize, buf);
        var entries = new Dictionary<ushort, TiffEntry>();
        for (int i = 0; i < count; i++)
        {
            var e = buf.AsSpan(i * entrySize, entrySize);
            ushort tag = U16(e);
            var type = (TiffType)U16(e[2..]);
            long n = BigTiff ? (long)U64(e[4..]) : U32(e[4..]);
            int size = TypeSize(type);
            if (size == 0)
                continue; // unknown type: TIFF says skip the entry
            int inlineCap = BigTiff ? 8 : 4;
            var valueField = e.Slice(BigTiff ? 12 : 8, inlineCap);
            if (n < 0 || n > Length)
                throw new SlideException(Path, $"tag {tag} claims {n} values, more than the file can hold");
            long total = n * size;
            if (total <= inlineCap)
                entries[tag] = new TiffEntry(tag, type, n, -1, valueField[..(int)total].ToArray());
            else
            {
                long at = BigTiff ? (long)U64(valueField) : U32(valueField);
                if (at < 0 || at + total > Length)
                    throw new SlideException(Path, $"tag {tag} values at offset {at} ({total} bytes) lie beyond the end of the file; truncated?");
                entries[tag] = new TiffEntry(tag, type, n, at, null);
            }
        }
        var tail = buf.AsSpan((int)(count * entrySize), nextSize);
        next = BigTiff ? (long)U64(tail) : U32(tail);
        return new TiffDirectory(offset, entries);
    }

    internal static int TypeSize(TiffType t) => t switch
    {
        TiffType.Byte or TiffType.Ascii or TiffType.SByte or TiffType.Undefined => 1,
        TiffType.Short or TiffType.SShort => 2,
        TiffType.Long or TiffType.SLong or TiffType.Float or TiffType.Ifd => 4,
        TiffType.Rational or TiffType.SRational or TiffType.Double or TiffType.Long8 or TiffType.SLong8 or TiffType.Ifd8 => 8,
        _ => 0,
    };

    /// <summary>The raw bytes of an entry's values.</summary>
    public byte[] ReadValueBytes(TiffEntry e)
    {
        if (e.Inline is not null)
            return e.Inline;
        var buf = new byte[e.Count * TypeSize(e.Type)];
        ReadExactly(e.Offset, buf);
        return buf;
    }

    /// <summary>Reads exactly buffer.Length bytes at offset; a short read means the file was cut.</summary>
    public void ReadExactly(long offset, Span<byte> buffer)
    {
        if (offset < 0 || offset + buffer.Length > Length)
            throw new SlideException(Path, $"data at offset {offset} ({buffer.Length} bytes) lies beyond the end of the file ({Length} bytes); truncated?");
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(_handle, buffer[done..], offset + done);
            if (n <= 0)
                throw new SlideException(Path, $"unexpected end of file at offset {offset + done}; truncated?");
            done += n;
        }
    }

    public ushort U16(ReadOnlySpan<byte> b) => BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);
    public uint U32(ReadOnlySpan<byte> b) => BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);
    public ulong U64(ReadOnlySpan<byte> b) => BigEndian ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b);

    public void Dispose() => _handle.Dispose();
}

/// <summary>One IFD entry; small values are kept inline, larger ones are read on demand.</summary>
internal sealed record TiffEntry(ushort Tag, TiffType Type, long Count, long Offset, byte[]? Inline);

/// <summary>One image file directory: the tags of one image (a pyramid level, a label, a thumbnail...).</summary>
internal sealed class TiffDirectory
{
    private readonly Dictionary<ushort, TiffEntry> _entries;

    public long Offset { get; }
    public List<TiffDirectory> SubDirectories { get; } = new();

    public TiffDirectory(long offset, Dictionary<ushort, TiffEntry> entries)
    {
        Offset = offset;
        _entries = entries;
    }

    public bool Has(ushort tag) => _entries.ContainsKey(tag);

    public long[]? GetLongArray(ushort tag, TiffFile file)
    {
        if (!_entries.TryGetValue(tag, out var e))
            return null;
        var bytes = file.ReadValueBytes(e);
        int size = TiffFile.TypeSize(e.Type);
        var values = new long[e.Count];
        for (int i = 0; i < values.Length; i++)
        {
            var s = bytes.AsSpan(i * size, size);
            values[i] = e.Type switch
            {
                TiffType.Byte or TiffType.Undefined => s[0],
                TiffType.SByte => (sbyte)s[0],
                TiffType.Short => file.U16(s),
                TiffType.SShort => (short)file.U16(s),
                TiffType.Long or TiffType.Ifd => file.U32(s),
                TiffType.SLong => (int)file.U32(s),
                TiffType.Long8 or TiffType.Ifd8 or TiffType.SLong8 => (long)file.U64(s),
                _ => throw new SlideException(file.Path, $"tag {tag} has type {e.Type}, expected an integer"),
            };
        }
        return values;
    }

    public long? GetLong(ushort tag, TiffFile file)
    {
        if (!_entries.TryGetValue(tag, out var e) || e.Count < 1)
            return null;
        return GetLongArray(tag, file)![0];
    }

    public double? GetRational(ushort tag, TiffFile file)
    {
        if (!_entries.TryGetValue(tag, out var e) || e.Count < 1)
            return null;
        var b = file.ReadValueBytes(e);
        return e.Type switch
        {
            TiffType.Rational => file.U32(b.AsSpan(4)) == 0 ? null : (double)file.U32(b) / file.U32(b.AsSpan(4)),
            TiffType.SRational => (int)file.U32(b.AsSpan(4)) == 0 ? null : (double)(int)file.U32(b) / (int)file.U32(b.AsSpan(4)),
            TiffType.Float => BitConverter.Int32BitsToSingle((int)file.U32(b)),
            TiffType.Double => BitConverter.Int64BitsToDouble((long)file.U64(b)),
            _ => GetLong(tag, file),
        };
    }

    public string? GetString(ushort tag, TiffFile file)
    {
        if (!_entries.TryGetValue(tag, out var e))
            return null;
        var b = file.ReadValueBytes(e);
        int end = Array.IndexOf(b, (byte)0);
        return Encoding.UTF8.GetString(b, 0, end < 0 ? b.Length : end);
    }

    public byte[]? GetBytes(ushort tag, TiffFile file) =>
        _entries.TryGetValue(tag, out var e) ? file.ReadValueBytes(e) : null;
}
