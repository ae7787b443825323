using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace HistoQuant.Common;

/// <summary>
/// Builds a CSV table in memory (results.csv and the study tables are small and written atomically): CsvHelper
/// quotes fields as RFC 4180 requires; text cells go through <see cref="Text"/> first.
/// </summary>
public sealed class CsvBuilder
{
    private readonly StringWriter _text = new();
    private readonly CsvWriter _csv;

    public CsvBuilder(IEnumerable<string> header)
    {
        // Injection is handled by Text (numbers must stay numbers; CsvHelper's own option escapes "-0.5" too).
        _csv = new CsvWriter(_text, new CsvConfiguration(CultureInfo.InvariantCulture) { NewLine = "\n", InjectionOptions = InjectionOptions.None });
        Row(header);
    }

    /// <summary>One row of cells already formatted: numbers as invariant-culture text, text through <see cref="Text"/>.</summary>
    public CsvBuilder Row(IEnumerable<string?> cells)
    {
        foreach (var cell in cells)
            _csv.WriteField(cell ?? "");
        _csv.NextRecord();
        return this;
    }

    public CsvBuilder Row(params string?[] cells) => Row((IEnumerable<string?>)cells);

    /// <summary>
    /// A text cell a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return; OWASP's
    /// list) gets an apostrophe in front. Text that is a number stays as is.
    /// </summary>
    public static string Text(string? s)
    {
        s ??= "";
        return s.Length > 0 && s[0] is '=' or '+' or '-' or '@' or '\t' or '\r'
            && !double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? "'" + s : s;
    }

    public override string ToString()
    {
        _csv.Flush();
        return _text.ToString();
    }
}
