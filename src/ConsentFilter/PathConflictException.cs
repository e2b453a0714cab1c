namespace ConsentFilter;

/// <summary>An output that is an input of the same run, or another of its outputs, reached by any path.</summary>
/// <remarks>
/// A configuration problem like <see cref="DataFileException"/>: it is raised before anything is read or written. The
/// message is one line naming both files by the option or role that gave them.
/// </remarks>
public sealed class PathConflictException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PathConflictException(string output, string other, string message)
        : base(message)
    {
        Output = output;
        Other = other;
    }

    /// <summary>The output as the user named it.</summary>
    public string Output { get; }

    /// <summary>The input or other output it is the same file as.</summary>
    public string Other { get; }
}
