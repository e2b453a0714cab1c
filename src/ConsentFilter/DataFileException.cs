namespace ConsentFilter;

/// <summary>A consent file, jurisdiction table or snapshot that cannot be used, with where and why.</summary>
/// <remarks>
/// These are configuration problems: they stop a run before any output exists. The message is one line of the form
/// <c>file:line:column: problem</c> so a user reading standard error knows what to fix.
/// </remarks>
public sealed class DataFileException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DataFileException(string file, long line, int column, string problem, Exception? inner = null)
        : base(Format(file, line, column, problem), inner)
    {
        File = file;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>The file as the user named it.</summary>
    public string File { get; }

    /// <summary>1-based line, or 0 when the problem concerns the whole file.</summary>
    public long Line { get; }

    /// <summary>1-based column (CSV field index), or 0 when not applicable.</summary>
    public int Column { get; }

    /// <summary>The problem without its location.</summary>
    public string Problem { get; }

    private static string Format(string file, long line, int column, string problem) =>
        line <= 0 ? $"{file}: {problem}"
        : column <= 0 ? $"{file}:{line}: {problem}"
        : $"{file}:{line}:{column}: {problem}";
}
