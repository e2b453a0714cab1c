namespace ConsentFilter.Sharding;

/// <summary>Which task of a sharded run filters which input files: deterministic and balanced by size.</summary>
/// <remarks>
/// Rule (documented in docs/operations.md): files are sorted by size, largest first, ties by ordinal path; each goes to
/// the task with the fewest bytes so far, ties to the lowest task index. Every task computes the same plan from the
/// same file list, so no coordinator is needed and a failed task can simply be rerun.
/// </remarks>
public static class ShardAssignment
{
    /// <summary>The files task <paramref name="shard"/> filters, in ordinal path order.</summary>
    public static IReadOnlyList<string> FilesFor(IReadOnlyList<(string Path, long Bytes)> files, Shard shard)
    {
        ArgumentNullException.ThrowIfNull(files);
        var plan = Plan(files, shard.Count);
        return plan[shard.Index];
    }

    /// <summary>The whole plan: for each task, its files in ordinal path order.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Plan(IReadOnlyList<(string Path, long Bytes)> files, int taskCount)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentOutOfRangeException.ThrowIfLessThan(taskCount, 1);
        var loads = new long[taskCount];
        var assigned = Enumerable.Range(0, taskCount).Select(_ => new List<string>()).ToArray();
        foreach (var (path, bytes) in files.OrderByDescending(f => f.Bytes).ThenBy(f => f.Path, StringComparer.Ordinal))
        {
            var target = 0;
            for (var t = 1; t < taskCount; t++)
            {
                if (loads[t] < loads[target])
                {
                    target = t;
                }
            }

            loads[target] += bytes;
            assigned[target].Add(path);
        }

        return [.. assigned.Select(a => (IReadOnlyList<string>)[.. a.Order(StringComparer.Ordinal)])];
    }
}

/// <summary>One task of a sharded run: index (0-based) and count.</summary>
/// <param name="Index">This task's index, 0 ≤ index &lt; count.</param>
/// <param name="Count">How many tasks share the input files.</param>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>A run that is not sharded.</summary>
    public static Shard Single { get; } = new(0, 1);

    /// <summary>Parses <c>I/N</c> (0-based index).</summary>
    public static bool TryParse(string? text, out Shard shard)
    {
        shard = Single;
        var parts = text?.Split('/');
        if (parts is not { Length: 2 }
            || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            || !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count)
            || count < 1 || index >= count)
        {
            return false;
        }

        shard = new Shard(index, count);
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Index}/{Count}";
}
