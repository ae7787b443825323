using System.Text.Json;

namespace HistoQuant;

/// <summary>Reads user-written JSON files (marker models, stain files) with errors that name the file and line.</summary>
public static class JsonInput
{
    private static readonly JsonDocumentOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public static string ReadText(string path)
    {
        if (InputFile.Problem(path) is { } problem)
            throw new FormatException($"{path}: {problem}");
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{path}: cannot be read: {e.Message}");
        }
    }

    /// <summary>Parses JSON; a syntax error becomes "SOURCE: not valid JSON (line N): ...".</summary>
    public static JsonDocument Parse(string json, string source)
    {
        try
        {
            return JsonDocument.Parse(json, Options);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{source}: not valid JSON (line {e.LineNumber + 1}): {e.Message}");
        }
    }
}
