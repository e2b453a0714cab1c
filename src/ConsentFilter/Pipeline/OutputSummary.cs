namespace ConsentFilter.Pipeline;

/// <summary>What a manifest remembers of an output's records, without their content.</summary>
/// <remarks>
/// <see cref="Kept"/>: a keyed hash of (user, record region) for the author and every co-subject of each kept record.
/// <see cref="Dropped"/>: the same for the failing subject of each dropped record. <see cref="Regions"/>: the distinct
/// record regions (normalized; empty for none). Together they decide whether new consent can change the output.
/// </remarks>
internal sealed class OutputSummary
{
    /// <summary>Most hashes one output's summary holds (kept and dropped together, about 16 bytes each in memory).</summary>
    /// <remarks>
    /// Past it the summary is abandoned (<see cref="Overflowed"/>) so memory stays bounded whatever the corpus size; a
    /// purge then re-filters that output in full. Use one output per input file (<c>--out-dir</c>) for large corpora.
    /// </remarks>
    internal const int MaxEntries = 4_000_000;

    /// <summary>The most distinct record regions remembered before the summary is abandoned.</summary>
    internal const int MaxRegions = 10_000;

    private readonly HashSet<string> _regions = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private const int RecentSlots = 16;

    private readonly int _maxEntries;
    private readonly string?[] _recent = new string?[RecentSlots];
    private bool _sawNoRegion;

    /// <param name="maxEntries">Most hashes before the summary is abandoned.</param>
    /// <param name="expectedEntries">Room to make in each set at once (a run's summary: about the snapshot's users), so it does not grow by doubling.</param>
    internal OutputSummary(int maxEntries = MaxEntries, int expectedEntries = 0)
    {
        _maxEntries = maxEntries;
        _lookup = _regions.GetAlternateLookup<ReadOnlySpan<char>>();
        Kept = new(expectedEntries);
        Dropped = new(expectedEntries);
    }

    internal Internal.UInt64Set Kept { get; }

    internal Internal.UInt64Set Dropped { get; }

    /// <summary>A batch's hashes before deduplication: appending is cheaper than hashing into a set on every worker.</summary>
    internal List<ulong> KeptPending { get; } = [];

    /// <summary>As <see cref="KeptPending"/>, for dropped records.</summary>
    internal List<ulong> DroppedPending { get; } = [];

    internal IReadOnlySet<string> Regions => _regions;

    /// <summary>Whether the output had too many distinct (user, region) pairs to summarize.</summary>
    internal bool Overflowed { get; private set; }

    internal void AddRegion(ReadOnlySpan<char> region)
    {
        // Most records have no region, and the others repeat a few: a flag for none and a 16-slot direct-mapped memory
        // of regions already in the set (compared by value) answer most records without hashing into the set.
        if (region.IsEmpty)
        {
            if (!_sawNoRegion)
            {
                _sawNoRegion = true;
                _regions.Add(string.Empty);
            }

            return;
        }

        ref var recent = ref _recent[(region.Length + (region[^1] * 3) + (region[region.Length >> 1] * 5)) & (RecentSlots - 1)];
        if (recent is not null && region.SequenceEqual(recent))
        {
            return;
        }

        if (!_lookup.TryGetValue(region, out var known))
        {
            known = region.ToString();
            _regions.Add(known);
        }

        recent = known;
    }

    /// <summary>Empties a batch's summary for the next batch, keeping its buffers (see <see cref="BatchSummaryPool"/>).</summary>
    internal void ClearBatch()
    {
        KeptPending.Clear();
        DroppedPending.Clear();
        _regions.Clear();
        Array.Clear(_recent);
        _sawNoRegion = false;
    }

    internal void Add(OutputSummary other)
    {
        if (Overflowed)
        {
            return;
        }

        Kept.AddRange(other.KeptPending);
        Dropped.AddRange(other.DroppedPending);
        if (other._regions.Count > 0)
        {
            _regions.UnionWith(other._regions);
        }

        // UpperBound first: Count merges the sets' pending values, which only needs doing when the bound is past the limit.
        if ((Kept.UpperBound + Dropped.UpperBound > _maxEntries && Kept.Count + Dropped.Count > _maxEntries) || _regions.Count > MaxRegions)
        {
            Overflowed = true;
            Kept.Clear();
            Dropped.Clear();
            _regions.Clear();
            Array.Clear(_recent);
            _sawNoRegion = false;
        }
    }
}

/// <summary>
/// Batch summaries handed back by the writer once merged, for workers to fill again: their pending lists keep their
/// capacity, so a run does not allocate (and the kernel zero) fresh memory for every batch's hashes.
/// </summary>
/// <remarks>Bounded by the batches in flight (the channels' capacity), as the batches themselves are.</remarks>
internal sealed class BatchSummaryPool
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<OutputSummary> _free = new();

    internal OutputSummary Rent() => _free.TryDequeue(out var summary) ? summary : new OutputSummary();

    internal void Return(OutputSummary summary)
    {
        summary.ClearBatch();
        _free.Enqueue(summary);
    }
}
