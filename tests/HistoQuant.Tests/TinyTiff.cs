using System.Buffers.Binary;

namespace HistoQuant.Tests;

/// <summary>
/// Writes classic little-endian TIFF containers tag by tag, to build hostile files (sparse giants, SubIFD
/// loops, directory floods) that no real writer would make. Directories refer to each other by index.
/// </summary>
public sealed class TinyTiff
{
    public const ushort Short = 3, Long = 4;

    public sealed class Directory
    {
        internal readonly SortedDictionary<ushort, (ushort Type, long[] Values)> Entries = [];
        internal int[] SubDirectories = [];

        /// <summary>Index of the next directory in the chain, or -1 for the end.</summary>
        public int Next { get; set; } = -1;

        public Directory Tag(ushort tag, ushort type, params long[] values)
        {
            Entries[tag] = (type, values);
            return this;
        }

        public Directory SubIfds(params int[] indices)
        {
            SubDirectories = indices;
            return this;
        }
    }

    public List<Directory> Directories { get; } = [];

    /// <summary>An RGB 8-bit uncompressed tiled image whose tiles are all sparse (offset and byte count 0).</summary>
    public Directory AddSparseTiled(long width, long height, int tile)
    {
        long tiles = (width + tile - 1) / tile * ((height + tile - 1) / tile);
        var d = new Directory()
            .Tag(256, Long, width).Tag(257, Long, height).Tag(258, Short, 8, 8, 8).Tag(259, Short, 1).Tag(262, Short, 2)
            .Tag(277, Short, 3).Tag(284, Short, 1).Tag(322, Short, tile).Tag(323, Short, tile)
            .Tag(324, Long, new long[tiles]).Tag(325, Long, new long[tiles]);
        Directories.Add(d);
        return d;
    }

    private static int Size(ushort type) => type == Short ? 2 : 4;

    public void Write(string path)
    {
        // Pass 1: where each directory and its out-of-line values go.
        var dirAt = new long[Directories.Count];
        long at = 8;
        for (int i = 0; i < Directories.Count; i++)
        {
            var d = Directories[i];
            if (d.SubDirectories.Length > 0)
                d.Entries[330] = (Long, new long[d.SubDirectories.Length]);
            dirAt[i] = at;
            at += 2 + 12 * d.Entries.Count + 4;
            foreach (var (type, values) in d.Entries.Values)
                if (values.Length * Size(type) > 4)
                    at += (values.Length * Size(type) + 1) & ~1;
        }
        var bytes = new byte[at];
        "II*\0"u8.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)dirAt[0]);
        // Pass 2: the bytes.
        for (int i = 0; i < Directories.Count; i++)
        {
            var d = Directories[i];
            if (d.SubDirectories.Length > 0)
                d.Entries[330] = (Long, d.SubDirectories.Select(s => dirAt[s]).ToArray());
            long p = dirAt[i];
            long extra = p + 2 + 12 * d.Entries.Count + 4;
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan((int)p), (ushort)d.Entries.Count);
            p += 2;
            foreach (var (tag, (type, values)) in d.Entries)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan((int)p), tag);
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan((int)p + 2), type);
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)p + 4), (uint)values.Length);
                long target = values.Length * Size(type) > 4 ? extra : p + 8;
                if (target == extra)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)p + 8), (uint)extra);
                    extra += (values.Length * Size(type) + 1) & ~1;
                }
                for (int k = 0; k < values.Length; k++)
                    if (type == Short) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan((int)target + 2 * k), (ushort)values[k]);
                    else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)target + 4 * k), (uint)values[k]);
                p += 12;
            }
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)p), d.Next < 0 ? 0u : (uint)dirAt[d.Next]);
        }
        File.WriteAllBytes(path, bytes);
    }
}
