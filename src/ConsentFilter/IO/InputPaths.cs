namespace ConsentFilter.IO;

/// <summary>Expands record paths: a name with <c>*</c> or <c>?</c> in its last segment is a glob over that directory.</summary>
public static class InputPaths
{
    /// <summary>
    /// Whether nothing is at <paramref name="path"/> once symbolic links are followed: no such file, or a link whose
    /// target is gone. A descriptor link naming a pipe (<c>/dev/stdin</c>, <c>/dev/fd/63</c> from <c>&lt;(zcat …)</c>)
    /// is there, though its target is no path.
    /// </summary>
    public static bool IsMissing(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path == RecordFiles.StandardStream)
        {
            return false;
        }

        return FileStatus.TryGet(path, out var status) ? status.Kind == FileKind.Missing : !File.Exists(path) && !Directory.Exists(path);
    }

    /// <summary>Each plain path as is (<c>-</c> included); each glob replaced by its matches in ordinal order.</summary>
    /// <exception cref="FileNotFoundException">A glob matches nothing, or its directory does not exist.</exception>
    public static IReadOnlyList<string> Expand(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var result = new List<string>();
        foreach (var path in paths)
        {
            var name = Path.GetFileName(path);
            if (name.IndexOfAny(['*', '?']) < 0)
            {
                result.Add(path);
                continue;
            }

            var directory = Path.GetDirectoryName(path);
            var searchIn = string.IsNullOrEmpty(directory) ? "." : directory;
            if (!Directory.Exists(searchIn))
            {
                throw new FileNotFoundException($"{path}: directory {searchIn} not found", path);
            }

            var matches = Directory.GetFiles(searchIn, name, SearchOption.TopDirectoryOnly)
                .Select(m => string.IsNullOrEmpty(directory) ? Path.GetFileName(m) : Path.Combine(directory, Path.GetFileName(m)))
                .Order(StringComparer.Ordinal)
                .ToList();
            if (matches.Count == 0)
            {
                throw new FileNotFoundException($"{path}: no file matches", path);
            }

            result.AddRange(matches);
        }

        return result;
    }
}
