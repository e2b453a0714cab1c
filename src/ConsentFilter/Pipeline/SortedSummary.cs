namespace ConsentFilter.Pipeline;

/// <summary>An output summary as the manifest stores it: regions in ordinal order, hashes sorted and packed.</summary>
/// <remarks>
/// <see cref="Start"/> sorts the kept and dropped hashes on two thread-pool tasks as soon as the pipeline has ended, so
/// the sorting runs while the outputs are flushed and synced rather than after, on the one thread committing the run.
/// </remarks>
internal sealed class SortedSummary
{
    private SortedSummary(bool overflowed, string[] regions, Task<Internal.PackedHashes> kept, Task<Internal.PackedHashes> dropped)
    {
        Overflowed = overflowed;
        Regions = regions;
        Kept = kept;
        Dropped = dropped;
    }

    /// <summary>Whether the summary was abandoned; then it has no regions and no hashes.</summary>
    internal bool Overflowed { get; }

    internal string[] Regions { get; }

    internal Task<Internal.PackedHashes> Kept { get; }

    internal Task<Internal.PackedHashes> Dropped { get; }

    /// <summary>Starts sorting; <paramref name="summary"/>'s sets are given up to it (any later use of them throws).</summary>
    internal static SortedSummary Start(OutputSummary summary)
    {
        if (summary.Overflowed)
        {
            var none = Task.FromResult(new Internal.PackedHashes([], 0));
            return new SortedSummary(true, [], none, none);
        }

        return new SortedSummary(
            false,
            [.. summary.Regions.Order(StringComparer.Ordinal)],
            Task.Run(summary.Kept.TakeSortedBigEndian),
            Task.Run(summary.Dropped.TakeSortedBigEndian));
    }
}
