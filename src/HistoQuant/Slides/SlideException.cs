namespace HistoQuant.Slides;

/// <summary>
/// A slide that cannot be read. The message is one line that names the file and the problem,
/// so a batch can put it straight into the results row.
/// </summary>
public sealed class SlideException : Exception
{
    public string SlidePath { get; }
    public string Problem { get; }

    public SlideException(string slidePath, string problem, Exception? inner = null)
        : base($"{slidePath}: {problem}", inner)
    {
        SlidePath = slidePath;
        Problem = problem;
    }
}
