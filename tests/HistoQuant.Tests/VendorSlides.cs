using System.Buffers.Binary;
using System.Text;
using OpenCvSharp;

namespace HistoQuant.Tests;

/// <summary>
/// Small vendor slides written from OpenSlide's published format descriptions (openslide.org/formats/hamamatsu and
/// /mirax), so the OpenSlide-backed reader is tested without real scanner files. Every level shows the same known
/// picture (<see cref="Expected"/>): glass, a brown (DAB) block and a blue (hematoxylin) block, with flat areas so
/// that JPEG reproduces them within a few grey levels.
/// </summary>
public static class VendorSlides
{
    public static readonly (byte R, byte G, byte B) Glass = (242, 242, 240), Dab = (150, 95, 55), Hematoxylin = (110, 110, 185);

    /// <summary>The colour at level-0 position (x,y) of a slide of <paramref name="width"/>x<paramref name="height"/>.</summary>
    public static (byte R, byte G, byte B) Expected(double x, double y, int width, int height)
    {
        double u = x / width, v = y / height;
        if (v < 0.25 || v >= 0.75 || u < 0.125 || u >= 0.875)
            return Glass;
        return u < 0.5 ? Dab : Hematoxylin;
    }

    /// <summary>The picture at a given size, as OpenCV BGR (for JPEG encoding).</summary>
    public static Mat Picture(int width, int height, int fullWidth, int fullHeight, int x0 = 0, int y0 = 0, double scale = 1)
    {
        var m = new Mat(height, width, MatType.CV_8UC3);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = Expected((x0 + x + 0.5) * scale, (y0 + y + 0.5) * scale, fullWidth, fullHeight);
                m.Set(y, x, new Vec3b(b, g, r));
            }
        return m;
    }

    private static byte[] Jpeg(Mat bgr, int quality = 95) => bgr.ImEncode(".jpg", new ImageEncodingParam(ImwriteFlags.JpegQuality, quality));

    // ---------------------------------------------------------------- NDPI

    /// <summary>
    /// A Hamamatsu NDPI: a little-endian TIFF with one directory per level, each a single JPEG strip (RowsPerStrip =
    /// height), Hamamatsu's private tags 65420 (format flag, 1), 65421 (source lens: the level's magnification),
    /// 65422–65424 (offsets from the slide centre, z offset), and XResolution in pixels per centimetre (µm/px as
    /// OpenSlide computes it: 10000 / XResolution).
    /// </summary>
    public static void WriteNdpi(string path, int width = 1024, int height = 768, int levels = 3, double mpp = 0.46, double lens = 20)
    {
        var tiff = new TiffBuilder();
        for (int i = 0; i < levels; i++)
        {
            int w = width >> i, h = height >> i;
            using var pic = Picture(w, h, width, height, scale: 1 << i);
            var jpeg = Jpeg(pic);
            double pxPerCm = 10000.0 / (mpp * (1 << i));
            tiff.AddDirectory(d => d
                .Long(256, (uint)w).Long(257, (uint)h).Short(258, 8, 8, 8).Short(259, 7).Short(262, 6)
                .Ascii(271, "Hamamatsu").Ascii(272, "C13220").Data(273, jpeg).Short(277, 3).Long(278, (uint)h)
                .Long(279, (uint)jpeg.Length).Rational(282, pxPerCm).Rational(283, pxPerCm).Short(296, 3)
                .Ascii(305, "NDP.scan 3.2.4").Long(65420, 1).Float(65421, (float)(lens / (1 << i)))
                .SLong(65422, 0).SLong(65423, 0).SLong(65424, 0));
        }
        File.WriteAllBytes(path, tiff.Build());
    }

    // ---------------------------------------------------------------- MIRAX

    /// <summary>
    /// A 3DHISTECH MIRAX slide: NAME.mrxs beside a folder NAME/ holding Slidedat.ini (GENERAL, HIERARCHICAL with one
    /// "Slide zoom level" hierarchy whose sections give each level's image size, concatenation exponent, µm/px and
    /// format; DATAFILE), Index.dat ("01.02" + SLIDE_ID, the hierarchical root, one record per level pointing to a data
    /// page of (image index, offset, length, file number)) and Data0000.dat with the JPEG images. No overlaps and no
    /// position buffer, so OpenSlide places image (x,y) at (x·w, y·h); level n concatenates 2ⁿ×2ⁿ level-0 images.
    /// </summary>
    public static void WriteMirax(string mrxsPath, int imagesX = 4, int imagesY = 3, int image = 256, int levels = 3, double mpp = 0.243, int magnification = 20)
    {
        const string slideId = "5b6f2a9e-4c1d-4f7a-9e3b-histoquant";
        string dir = Path.Combine(Path.GetDirectoryName(mrxsPath)!, Path.GetFileNameWithoutExtension(mrxsPath));
        Directory.CreateDirectory(dir);
        int width = imagesX * image, height = imagesY * image;

        using var data = new MemoryStream();
        data.Write(Encoding.ASCII.GetBytes("01.02" + slideId + "000"));
        data.Write(new byte[256]);
        var records = new List<List<(int Index, int Offset, int Length)>>();
        for (int level = 0; level < levels; level++)
        {
            int concat = 1 << level;
            var items = new List<(int, int, int)>();
            for (int y = 0; y < imagesY; y += concat)
                for (int x = 0; x < imagesX; x += concat)
                {
                    // One image of this level shows concat×concat level-0 images, downsampled by concat.
                    using var pic = Picture(image, image, width, height, x * image / concat, y * image / concat, concat);
                    var jpeg = Jpeg(pic);
                    items.Add((y * imagesX + x, (int)data.Position, jpeg.Length));
                    data.Write(jpeg);
                }
            records.Add(items);
        }
        File.WriteAllBytes(Path.Combine(dir, "Data0000.dat"), data.ToArray());

        using var index = new MemoryStream();
        using (var w = new BinaryWriter(index, Encoding.ASCII, leaveOpen: true))
        {
            w.Write(Encoding.ASCII.GetBytes("01.02" + slideId));
            long roots = index.Position;
            w.Write(0); // hierarchical root, patched below
            w.Write(0); // nonhierarchical root (no nonhierarchical records)
            int table = (int)index.Position;
            index.Position = roots;
            w.Write(table);
            index.Position = table;
            // The table: one pointer per level to its record; each record is (0, pointer to the first data page).
            int recordsAt = table + 4 * levels;
            for (int level = 0; level < levels; level++)
                w.Write(recordsAt + 8 * level);
            int pagesAt = recordsAt + 8 * levels;
            int page = pagesAt;
            for (int level = 0; level < levels; level++)
            {
                w.Write(0);
                w.Write(page);
                page += 8 + 16 * records[level].Count;
            }
            foreach (var items in records)
            {
                w.Write(items.Count);
                w.Write(0); // no next page
                foreach (var (idx, offset, length) in items)
                {
                    w.Write(idx);
                    w.Write(offset);
                    w.Write(length);
                    w.Write(0); // file number: DATAFILE.FILE_0
                }
            }
        }
        File.WriteAllBytes(Path.Combine(dir, "Index.dat"), index.ToArray());

        var ini = new StringBuilder();
        var c = System.Globalization.CultureInfo.InvariantCulture;
        ini.Append($"[GENERAL]\nSLIDE_VERSION=01.03\nSLIDE_ID={slideId}\nIMAGENUMBER_X={imagesX}\nIMAGENUMBER_Y={imagesY}\n");
        ini.Append($"OBJECTIVE_MAGNIFICATION={magnification}\nCameraImageDivisionsPerSide=1\n\n");
        ini.Append($"[HIERARCHICAL]\nHIER_COUNT=1\nNONHIER_COUNT=0\nINDEXFILE=Index.dat\nHIER_0_NAME=Slide zoom level\nHIER_0_COUNT={levels}\n");
        for (int level = 0; level < levels; level++)
            ini.Append($"HIER_0_VAL_{level}=ZoomLevel_{level}\nHIER_0_VAL_{level}_SECTION=LAYER_0_LEVEL_{level}_SECTION\n");
        ini.Append("\n[DATAFILE]\nFILE_COUNT=1\nFILE_0=Data0000.dat\n");
        for (int level = 0; level < levels; level++)
        {
            double m = mpp * (1 << level);
            ini.Append(string.Create(c, $"\n[LAYER_0_LEVEL_{level}_SECTION]\nIMAGE_CONCAT_FACTOR={(level == 0 ? 0 : 1)}\nOVERLAP_X=0\nOVERLAP_Y=0\n"));
            ini.Append(string.Create(c, $"MICROMETER_PER_PIXEL_X={m}\nMICROMETER_PER_PIXEL_Y={m}\nIMAGE_FILL_COLOR_BGR=16777215\n"));
            ini.Append($"DIGITIZER_WIDTH={image}\nDIGITIZER_HEIGHT={image}\nIMAGE_FORMAT=JPEG\n");
        }
        File.WriteAllText(Path.Combine(dir, "Slidedat.ini"), ini.ToString());
        // The .mrxs itself is only the entry point (real ones hold a small binary header OpenSlide does not read).
        File.WriteAllText(mrxsPath, "MIRAX slide written by HistoQuant's tests\n");
    }

    /// <summary>Builds a classic little-endian TIFF whose directories may hold blobs (strip data) as tag values.</summary>
    public sealed class TiffBuilder
    {
        public sealed class Dir
        {
            internal readonly List<(ushort Tag, ushort Type, int Count, byte[] Value, bool IsData)> Entries = [];
            private Dir Add(ushort tag, ushort type, int count, byte[] value, bool data = false)
            {
                Entries.Add((tag, type, count, value, data));
                return this;
            }
            public Dir Short(ushort tag, params ushort[] v) => Add(tag, 3, v.Length, v.SelectMany(BitConverter.GetBytes).ToArray());
            public Dir Long(ushort tag, params uint[] v) => Add(tag, 4, v.Length, v.SelectMany(BitConverter.GetBytes).ToArray());
            public Dir SLong(ushort tag, int v) => Add(tag, 9, 1, BitConverter.GetBytes(v));
            public Dir Float(ushort tag, float v) => Add(tag, 11, 1, BitConverter.GetBytes(v));
            public Dir Ascii(ushort tag, string s) => Add(tag, 2, s.Length + 1, [.. Encoding.ASCII.GetBytes(s), 0]);
            public Dir Rational(ushort tag, double v) => Add(tag, 5, 1, [.. BitConverter.GetBytes((uint)Math.Round(v * 1000)), .. BitConverter.GetBytes(1000u)]);
            /// <summary>A LONG offset to <paramref name="blob"/>, which is stored in the file.</summary>
            public Dir Data(ushort tag, byte[] blob) => Add(tag, 4, 1, blob, data: true);
        }

        private readonly List<Dir> _dirs = [];

        public void AddDirectory(Func<Dir, Dir> fill) => _dirs.Add(fill(new Dir()));

        public byte[] Build()
        {
            using var ms = new MemoryStream();
            using var bw = new BinaryWriter(ms);
            bw.Write("II*\0"u8);
            bw.Write(0u); // first IFD offset, patched below
            long previousNext = 4;
            foreach (var d in _dirs)
            {
                // Out-of-line values and blobs first, then the directory that points at them.
                var offsets = new Dictionary<int, uint>();
                for (int i = 0; i < d.Entries.Count; i++)
                {
                    var e = d.Entries[i];
                    if (e.IsData || e.Value.Length > 4)
                    {
                        if ((ms.Position & 1) != 0)
                            bw.Write((byte)0);
                        offsets[i] = (uint)ms.Position;
                        bw.Write(e.Value);
                    }
                }
                if ((ms.Position & 1) != 0)
                    bw.Write((byte)0);
                uint at = (uint)ms.Position;
                ms.Position = previousNext;
                bw.Write(at);
                ms.Position = at;
                var sorted = d.Entries.Select((e, i) => (e, i)).OrderBy(p => p.e.Tag).ToList();
                bw.Write((ushort)sorted.Count);
                foreach (var (e, i) in sorted)
                {
                    bw.Write(e.Tag);
                    bw.Write(e.Type);
                    bw.Write((uint)e.Count);
                    var inline = new byte[4];
                    if (offsets.TryGetValue(i, out uint off))
                        BinaryPrimitives.WriteUInt32LittleEndian(inline, off);
                    else
                        e.Value.CopyTo(inline, 0);
                    bw.Write(inline);
                }
                previousNext = ms.Position;
                bw.Write(0u);
            }
            return ms.ToArray();
        }
    }
}
