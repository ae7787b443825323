using OpenCvSharp;
using HistoQuant.Slides;

namespace HistoQuant.Output;

public static class PngFile
{
    public static void Write(RgbImage image, string path)
    {
        using var rgb = Mat.FromPixelData(image.Height, image.Width, MatType.CV_8UC3, image.Pixels);
        using var bgr = new Mat();
        Cv2.CvtColor(rgb, bgr, ColorConversionCodes.RGB2BGR);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir)
            Directory.CreateDirectory(dir);
        if (!Cv2.ImWrite(path, bgr))
            throw new IOException($"{path}: could not write the image (unsupported extension or unwritable folder)");
    }

    public static RgbImage Read(string path)
    {
        using var bgr = Cv2.ImRead(path, ImreadModes.Color);
        if (bgr.Empty())
            throw new IOException($"{path}: not a readable image");
        using var rgb = new Mat();
        Cv2.CvtColor(bgr, rgb, ColorConversionCodes.BGR2RGB);
        rgb.GetArray(out Vec3b[] px);
        var bytes = new byte[px.Length * 3];
        for (int i = 0; i < px.Length; i++)
        {
            bytes[i * 3] = px[i].Item0;
            bytes[i * 3 + 1] = px[i].Item1;
            bytes[i * 3 + 2] = px[i].Item2;
        }
        return new RgbImage(rgb.Cols, rgb.Rows, bytes);
    }
}
