namespace HistoQuant;

/// <summary>
/// Checks an input path before it is opened. A pipe, socket or device reports no size and opening it for reading
/// can wait forever for a writer, so only files with content are opened: a size of zero is refused up front.
/// </summary>
public static class InputFile
{
    /// <summary>Null for a readable regular file with content, else what is wrong with the path.</summary>
    public static string? Problem(string path)
    {
        if (Directory.Exists(path))
            return "is a folder, not a file";
        var info = new FileInfo(path);
        if (!info.Exists)
            return "file not found";
        if (info.Length == 0)
            return "file is empty (or not a regular file, such as a pipe or a device)";
        return null;
    }
}
