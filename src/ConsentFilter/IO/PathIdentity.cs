namespace ConsentFilter.IO;

/// <summary>Whether paths name the same file, by what they reach rather than how they are spelled.</summary>
/// <remarks>
/// <para>
/// An existing file is identified by its device and inode after following symbolic links, so a link, a hard link,
/// <c>a/../b</c> or a relative path all meet the file they reach. A path that does not exist yet is identified by the
/// directory it would be created in (device and inode, or that directory's own identity when it is missing too) and
/// its name, after following a dangling link to where it points.
/// </para>
/// <para>
/// Standard input (<c>-</c>) is the file redirected to it, if any. Devices, named pipes and sockets take no part: an
/// output such as <c>/dev/null</c> or a FIFO is written in place, never replaced, and may be shared by several
/// outputs. Where <c>statx</c> is not available (not Linux), identity falls back to the full path with the final
/// link resolved.
/// </para>
/// </remarks>
public static class PathIdentity
{
    private const string StandardStream = "-";

    /// <summary>Whether <paramref name="first"/> and <paramref name="second"/> are the same regular file or would create the same file.</summary>
    public static bool IsSameFile(string first, string second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        return KeyOf(first, isInput: true) is { } a && KeyOf(second, isInput: true) is { } b && a == b;
    }

    /// <summary>Throws when an output is the same file as an input or as another output.</summary>
    /// <param name="inputs">What the run reads, each with the option or role that names it (e.g. <c>--records</c>).</param>
    /// <param name="outputs">What the run writes, likewise; <c>-</c> (standard output) takes no part.</param>
    /// <exception cref="PathConflictException">The first conflict found, naming both files.</exception>
    public static void ThrowIfConflicting(IEnumerable<(string Role, string Path)> inputs, IEnumerable<(string Role, string Path)> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        var read = new Dictionary<string, (string Role, string Path)>(Comparer);
        foreach (var (role, path) in inputs)
        {
            if (KeyOf(path, isInput: true) is { } key)
            {
                read.TryAdd(key, (role, path));
            }
        }

        var written = new Dictionary<string, (string Role, string Path)>(Comparer);
        foreach (var (role, path) in outputs)
        {
            if (path == StandardStream || KeyOf(path, isInput: false) is not { } key)
            {
                continue;
            }

            if (read.TryGetValue(key, out var input))
            {
                throw new PathConflictException(path, input.Path,
                    $"{Describe(role, path)} is the same file as {Describe(input.Role, input.Path)}: an output must not overwrite an input");
            }

            if (!written.TryAdd(key, (role, path)))
            {
                var other = written[key];
                throw new PathConflictException(path, other.Path,
                    $"{Describe(role, path)} and {Describe(other.Role, other.Path)} are the same file: each output needs a file of its own");
            }
        }
    }

    private static StringComparer Comparer => OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;

    private static string Describe(string role, string path) => $"{role} {path}";

    /// <summary>A string equal for two paths exactly when they are the same file; null for what takes no part.</summary>
    internal static string? KeyOf(string path, bool isInput)
    {
        if (path == StandardStream)
        {
            return isInput && FileStatus.TryGet(0, out var stdin) && stdin.Kind == FileKind.Regular ? $"inode:{stdin.Device}:{stdin.Inode}" : null;
        }

        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null;
        }

        return KeyOfFull(full, depth: 0);
    }

    private static string? KeyOfFull(string full, int depth)
    {
        if (!FileStatus.TryGet(full, out var status))
        {
            return "path:" + Path.TrimEndingDirectorySeparator(FinalTarget(full));
        }

        switch (status.Kind)
        {
            case FileKind.Regular:
                return $"inode:{status.Device}:{status.Inode}";
            case FileKind.Directory:
                return $"dir:{status.Device}:{status.Inode}";
            case FileKind.Special:
                return null;
        }

        // Missing: where a new file would be created, one level of directory at a time.
        var target = FinalTarget(full);
        var parent = Path.GetDirectoryName(target);
        if (parent is null || depth > 64)
        {
            return "path:" + target;
        }

        var parentKey = KeyOfFull(parent, depth + 1);
        return parentKey is null ? null : parentKey + "/" + Path.GetFileName(target);
    }

    /// <summary>Where a chain of symbolic links ends (the path itself when it is not a link or cannot be followed).</summary>
    private static string FinalTarget(string full)
    {
        try
        {
            return File.ResolveLinkTarget(full, returnFinalTarget: true) is { } target ? Path.GetFullPath(target.FullName) : full;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return full;
        }
    }
}
