using System.CommandLine;

namespace HistoQuant.Cli;

/// <summary>Exit codes: 0 all good, 1 some slide failed, 2 bad arguments or inputs the run cannot start with.</summary>
public static class Cli
{
    public const int Ok = 0, SomeFailed = 1, BadArguments = 2;

    public static int Run(RootCommand root, string[] args)
    {
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
                Console.Error.WriteLine($"histoquant: {error.Message}");
            Console.Error.WriteLine("Try 'histoquant --help'.");
            return BadArguments;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"histoquant: {e.Message}");
            return BadArguments;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An output folder that cannot be written, a disk that is full: one line, not a stack trace.
            Console.Error.WriteLine($"histoquant: {e.Message}");
            return SomeFailed;
        }
    }

    /// <summary>Runs a loader whose FormatException (a malformed model, manifest or table) is the user's to fix: exit code 2.</summary>
    public static T Load<T>(Func<T> load)
    {
        try
        {
            return load();
        }
        catch (FormatException e)
        {
            throw new UsageException(e.Message);
        }
    }
}

/// <summary>A problem with what the user asked for (bad option value, unreadable model): exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
